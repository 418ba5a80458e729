import Foundation
import Testing
import Torch
import VidPredData
@testable import VidPred

private let realData = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/data/edn-s4")

private func tinyConfig() -> TrainConfig {
    var c = TrainConfig()
    c.frameDim = 16; c.labelDim = 8; c.noiseDim = 4; c.decoderDim = 24
    c.height = 8; c.width = 16
    c.trainVideoLength = 4
    c.batchSize = 2
    c.epochs = 3
    c.lrSchedule = .constant
    c.klAnnealType = .none
    c.valVideoLength = 6
    c.perSave = 0
    return c
}

/// Smooth random videos (B = 1 each) at 8x16: enough structure to learn, fast to train on.
private func syntheticData(frames: Int = 24, seed: UInt64 = 3) throws -> TrainingData {
    let g = try RandomGenerator(seed: seed)
    func video(_ n: Int) throws -> VideoTensors {
        let base = try Tensor.rand([1, 3, 8, 16], generator: g)
        let drift = try Tensor.rand([n, 1, 1, 1], generator: g)
        let frames = try (base + drift * 0.2).clamped(0, 1)
        let labels = try Tensor.rand([n, 3, 8, 16], generator: g)
        return try VideoTensors(frames: frames, labels: labels)
    }
    return TrainingData(train: [try video(frames)], validation: [try video(8)])
}

private func temporaryRun() -> RunFolder {
    RunFolder(FileManager.default.temporaryDirectory.appendingPathComponent("vidpred-run-\(UUID().uuidString)"))
}

/// Collects the epochs' train losses from the trainer's events.
private final class EventRecorder: @unchecked Sendable {
    var epochLosses: [Int: Double] = [:]
    var skipped: [String] = []
    var validations: [ValidationRecord] = []
    func handle(_ e: TrainingEvent) {
        switch e {
        case .epoch(let s): epochLosses[s.epoch] = s.trainLoss
        case .skippedBatch(let s): skipped.append(s.reason)
        case .validation(let v): validations.append(v)
        default: break
        }
    }
}

@Suite(.serialized) struct TrainerTests {
    @Test func resumeGivesTheIdenticalNextEpochLoss() throws {
        var config = tinyConfig()
        config.epochs = 3
        config.tfr = 0.5; config.tfrSde = 1  // teacher-forcing coin and noise both in play
        config.klAnnealType = .cyclical; config.klAnnealCycle = 2
        let data = try syntheticData()
        let full = EventRecorder()
        try Trainer(config: config, data: data, run: temporaryRun(), onEvent: full.handle).run()
        // Same run stopped after 2 epochs, then resumed from its checkpoint files by a new trainer.
        let folder = temporaryRun()
        try Trainer(config: config, data: data, run: folder).run(stopAfterEpochs: 2)
        let resumed = EventRecorder()
        try Trainer(config: config, data: data, run: folder, resume: true, onEvent: resumed.handle).run()
        let expected = try #require(full.epochLosses[3])
        let actual = try #require(resumed.epochLosses[3])
        #expect(actual == expected, "epoch 3 loss after resume \(actual) vs uninterrupted \(expected)")
        #expect(resumed.epochLosses[1] == nil && resumed.epochLosses[2] == nil, "resume starts at epoch 3")
    }

    @Test func aNonFiniteBatchIsSkippedAndReported() throws {
        var config = tinyConfig()
        config.epochs = 1
        config.valVideoLength = 3
        let clean = try syntheticData()
        // Poison frames 4..7 (the second window) with NaN.
        var pixels = try clean.train[0].frames.floats()
        for i in (4 * 3 * 8 * 16)..<(8 * 3 * 8 * 16) { pixels[i] = .nan }
        let poisoned = TrainingData(train: [try VideoTensors(frames: Tensor(pixels, shape: [24, 3, 8, 16]), labels: clean.train[0].labels)],
                                    validation: clean.validation)
        let events = EventRecorder()
        let folder = temporaryRun()
        let trainer = try Trainer(config: config, data: poisoned, run: folder, onEvent: events.handle)
        try trainer.run()
        #expect(events.skipped.count == 1)
        #expect(events.skipped.first?.contains("non-finite loss") == true)
        for (name, p) in trainer.model.namedParameters() {
            #expect(try p.allFinite(), "\(name) was poisoned")
        }
        let log = try String(contentsOf: folder.metrics, encoding: .utf8)
        #expect(log.contains("\"event\":\"skipped_batch\""))
    }

    @Test func runFolderHoldsConfigMetricsAndLoadableCheckpoints() throws {
        var config = tinyConfig()
        config.epochs = 2
        config.perSave = 1
        let folder = temporaryRun()
        let trainer = try Trainer(config: config, data: try syntheticData(), run: folder)
        try trainer.run()
        let fm = FileManager.default
        for name in ["config.json", "run.json", "metrics.jsonl", "checkpoints/last.safetensors", "checkpoints/last.state.safetensors",
                     "checkpoints/best.safetensors", "checkpoints/epoch-0002.safetensors"] {
            #expect(fm.fileExists(atPath: folder.url.appendingPathComponent(name).path), "\(name) missing")
        }
        let saved = try JSONDecoder().decode(TrainConfig.self, from: Data(contentsOf: folder.config))
        #expect(saved == config)
        let model = try LabModel(config.dimensions)
        try model.load(from: folder.lastCheckpoint)
        let lines = try String(contentsOf: folder.metrics, encoding: .utf8).split(separator: "\n")
        let events = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(events.filter { $0["event"] as? String == "epoch" }.count == 2)
        #expect(events.filter { $0["event"] as? String == "validation" }.count == 2)
        #expect(events.contains { $0["event"] as? String == "batch" && $0["teacher_forcing"] != nil && $0["beta"] != nil })
        // Starting again into the same folder without resuming is refused.
        #expect(throws: RunError.self) { try Trainer(config: config, data: try syntheticData(), run: folder) }
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: realData.path), "the real sample ../shared/data/edn-s4 is absent"))
    func aTinyRunOnTheRealSampleLowersTheLoss() throws {
        var config = tinyConfig()
        config.height = 32; config.width = 64
        config.trainVideoLength = 4
        config.partial = 0.12  // 120 frames: 30 windows, 15 batches per epoch
        config.epochs = 3
        config.lr = 2e-3
        config.valVideoLength = 10
        let dataset = try LabDataset.load(root: realData, options: LabDatasetOptions(splits: [.train, .val], trainVideoLength: 4))
        let events = EventRecorder()
        try Trainer(config: config, data: try TrainingData(dataset: dataset), run: temporaryRun(), onEvent: events.handle).run()
        let first = try #require(events.epochLosses[1]), last = try #require(events.epochLosses[3])
        print("real sample, tiny model: train loss per epoch \(events.epochLosses.sorted { $0.key < $1.key }.map(\.value))")
        #expect(last < first * 0.7, "loss \(first) -> \(last)")
    }

    @Test func badOptionsGetClearErrors() throws {
        func message(_ entries: [(key: String, value: ConfigValue)]) -> String {
            do { _ = try TrainConfig.resolve([SettingSource(name: "test.yaml", entries: entries)]); return "accepted" } catch { return "\(error)" }
        }
        #expect(message([("lr_schedule", .text("exponential"))]) == "test.yaml: lr_schedule must be one of multistep, constant, cosine; found 'exponential'")
        #expect(message([("tfr", .number(1.5))]).contains("tfr must be in [0, 1]"))
        #expect(message([("frame_dim", .integer(4))]).contains("F (frame_dim) = 4 is too small"))
        #expect(message([("gamma", .text("nan"))]) == "test.yaml: gamma must be a finite number; found 'nan'")
        // A config file with a wrong type names the key.
        let json = Data(#"{"tfr_sde": "ten"}"#.utf8)
        do {
            _ = try JSONDecoder().decode(TrainConfig.self, from: json)
            Issue.record("tfr_sde: ten accepted")
        } catch {
            #expect("\(error)".contains("tfr_sde must be an integer; found 'ten'"))
        }
        // Keys a file lacks keep the lab's defaults.
        let partial = try JSONDecoder().decode(TrainConfig.self, from: Data(#"{"tfr": 0.0, "kl_anneal_type": "Monotonic"}"#.utf8))
        #expect(partial.tfr == 0 && partial.klAnnealType == .monotonic && partial.tfrSde == 10 && partial.lr == 1e-3)
    }
}
