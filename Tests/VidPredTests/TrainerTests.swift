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
private func syntheticData(frames: Int = 24, seed: UInt64 = 3, height: Int = 8, width: Int = 16) throws -> TrainingData {
    let g = try RandomGenerator(seed: seed)
    func video(_ n: Int) throws -> VideoTensors {
        let base = try Tensor.rand([1, 3, height, width], generator: g)
        let drift = try Tensor.rand([n, 1, 1, 1], generator: g)
        let frames = try (base + drift * 0.2).clamped(0, 1)
        let labels = try Tensor.rand([n, 3, height, width], generator: g)
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

/// The events of a run trained to its end, and of the same run stopped after 2 epochs and resumed
/// from its checkpoint files by a new trainer.
private func uninterruptedAndResumed(_ config: TrainConfig, data: TrainingData) throws -> (full: EventRecorder, resumed: EventRecorder) {
    let full = EventRecorder()
    try Trainer(config: config, data: data, run: temporaryRun(), onEvent: full.handle).run()
    let folder = temporaryRun()
    try Trainer(config: config, data: data, run: folder).run(stopAfterEpochs: 2)
    let resumed = EventRecorder()
    try Trainer(config: config, data: data, run: folder, resume: true, onEvent: resumed.handle).run()
    return (full, resumed)
}

@Suite(.serialized) struct TrainerTests {
    @Test func resumeGivesTheIdenticalNextEpochLoss() throws {
        var config = tinyConfig()
        config.epochs = 3
        config.tfr = 0.5; config.tfrSde = 1  // teacher-forcing coin and noise both in play
        config.klAnnealType = .cyclical; config.klAnnealCycle = 2
        let (full, resumed) = try uninterruptedAndResumed(config, data: syntheticData())
        let expected = try #require(full.epochLosses[3])
        let actual = try #require(resumed.epochLosses[3])
        #expect(actual == expected, "epoch 3 loss after resume \(actual) vs uninterrupted \(expected)")
        #expect(resumed.epochLosses[1] == nil && resumed.epochLosses[2] == nil, "resume starts at epoch 3")
    }

    /// Every augmentation on (pyramid preset, random references): the clips' changes are drawn
    /// from the seed and the iteration, so a resumed run continues the uninterrupted one exactly;
    /// and they are in play (the losses differ from the same run without them).
    @Test func augmentedRunsResumeExactlyAndDifferFromPlainOnes() throws {
        var config = Preset.pyramid.recipe
        config.pyramidFrame = [8, 8, 8]; config.pyramidPose = [0, 4, 4]; config.noiseDim = 2
        config.height = 8; config.width = 16; config.trainVideoLength = 4; config.batchSize = 2; config.epochs = 3
        config.valVideoLength = 6
        config.augmentFlip = 0.5; config.augmentZoom = 0.2; config.augmentShift = 0.2; config.augmentJitter = 0.2
        let data = try syntheticData()
        let (full, resumed) = try uninterruptedAndResumed(config, data: data)
        #expect(try #require(resumed.epochLosses[3]) == #require(full.epochLosses[3]))
        var plainConfig = config
        plainConfig.augmentFlip = 0; plainConfig.augmentZoom = 0; plainConfig.augmentShift = 0; plainConfig.augmentJitter = 0
        let plain = EventRecorder()
        try Trainer(config: plainConfig, data: data, run: temporaryRun(), onEvent: plain.handle).run()
        #expect(plain.epochLosses[1] != full.epochLosses[1])
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
        #expect(message([("ema_decay", .number(1))]).contains("ema_decay must be in [0, 1), 0 for off (got 1.0)"), "decay 1 would never move")
        #expect(message([("frame_dim", .integer(4))]).contains("F (frame_dim) = 4 is too small"))
        #expect(message([("gamma", .text("nan"))]) == "test.yaml: gamma must be a finite number; found 'nan'")
        #expect(message([("gamma", .number(-0.5))]).contains("gamma must be positive (got -0.5)"), "a negative rate would train backwards")
        #expect(message([("height", .integer(1_000_000))]).contains("height and width must be at most 8192"))
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

/// Interruptions at any moment resume to the run that was never interrupted: weights bit for bit,
/// and a log that reads as if the run had never stopped.
@Suite(.serialized) struct CrashSafeTrainingTests {
    private func config() -> TrainConfig {
        var c = tinyConfig()
        c.epochs = 3
        c.tfr = 0.5; c.tfrSde = 1
        c.klAnnealType = .cyclical; c.klAnnealCycle = 2
        c.perSave = 1
        return c
    }

    /// The model's weights as bytes, by name.
    private func weights(_ url: URL) throws -> [String: [UInt8]] {
        try SafeTensors.read(url).tensors.mapValues { try $0.bytes() }
    }

    /// The log's records without their wall-clock fields.
    private func records(_ run: RunFolder) throws -> [NSDictionary] {
        try String(contentsOf: run.metrics, encoding: .utf8).split(separator: "\n").map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "unreadable line \(line)")
            return object.filter { $0.key != "seconds" && $0.key != "frames_per_second" } as NSDictionary
        }
    }

    private func reference(_ data: TrainingData) throws -> RunFolder {
        let run = temporaryRun()
        try Trainer(config: config(), data: data, run: run).run()
        return run
    }

    private func expectSameRun(_ run: RunFolder, as reference: RunFolder, _ comment: Comment) throws {
        #expect(try weights(run.lastCheckpoint) == weights(reference.lastCheckpoint), "weights: \(comment)")
        let (a, b) = (try records(run), try records(reference))
        #expect(a == b, "log: \(comment): \(a.count) vs \(b.count) records; first difference at \(zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count))")
    }

    @Test func stoppingMidEpochOrAtItsEndResumesToTheUninterruptedRun() throws {
        let data = try syntheticData()
        let uninterrupted = try reference(data)
        // Polls: 1 per batch (none after an epoch's last batch), then one after each epoch.
        for stopAt in [2, 3, 7] {  // mid epoch 1, its end, mid epoch 3
            let run = temporaryRun()
            var polls = 0
            let reason = try Trainer(config: config(), data: data, run: run).run(shouldStop: { polls += 1; return polls == stopAt })
            #expect(reason == .interrupted)
            try Trainer(config: config(), data: data, run: run, resume: true).run()
            try expectSameRun(run, as: uninterrupted, "stopped at poll \(stopAt)")
        }
    }

    @Test func aDamagedLastCheckpointFallsBackToTheNewestGoodOne() throws {
        let data = try syntheticData()
        let uninterrupted = try reference(data)
        let run = temporaryRun()
        try Trainer(config: config(), data: data, run: run).run(stopAfterEpochs: 2)
        let state = Checkpoint.stateURL(for: run.lastCheckpoint)
        var bytes = try Data(contentsOf: state)
        bytes[bytes.count - 5] ^= 0x40
        try bytes.write(to: state)
        var notices: [String] = []
        try Trainer(config: config(), data: data, run: run, resume: true, onEvent: { if case .notice(let n) = $0 { notices.append(n) } }).run()
        #expect(notices.contains { $0.contains("last.state.safetensors cannot be used") && $0.contains("damaged") && ($0.contains("from epoch-0002") || $0.contains("from best")) },
                "\(notices)")
        try expectSameRun(run, as: uninterrupted, "resumed from epoch-0002")
        // Damaged weights are refused where they are read for prediction, too.
        var weightsBytes = try Data(contentsOf: run.bestCheckpoint)
        weightsBytes[weightsBytes.count - 9] ^= 0x01
        try weightsBytes.write(to: run.bestCheckpoint)
        #expect(throws: (any Error).self) { try LabModel(config().dimensions).load(from: run.bestCheckpoint) }
    }

    /// Killed between writes (simulated here by removing what was not yet written): the state
    /// file is the commit point, and a weights file ahead of it does not matter.
    @Test func aWeightsFileAheadOfItsStateFileStillResumesExactly() throws {
        let data = try syntheticData()
        let uninterrupted = try reference(data)
        let run = temporaryRun()
        try Trainer(config: config(), data: data, run: run).run(stopAfterEpochs: 1)
        let epochOneState = try Data(contentsOf: Checkpoint.stateURL(for: run.lastCheckpoint))
        let lines = try String(contentsOf: run.metrics, encoding: .utf8)
        try Trainer(config: config(), data: data, run: run, resume: true).run(stopAfterEpochs: 2)
        // As if killed after epoch 2's weights were renamed but before its state was: the state
        // (and log) of epoch 1, plus a torn line and a temporary file of the dying write.
        try epochOneState.write(to: Checkpoint.stateURL(for: run.lastCheckpoint))
        try Data((lines + "{\"epoch\":2,\"event\":\"ba").utf8).write(to: run.metrics)
        let leftover = run.checkpoints.appendingPathComponent(".last.state.safetensors.tmp-999999999-1")
        try Data("partial".utf8).write(to: leftover)
        var notices: [String] = []
        try Trainer(config: config(), data: data, run: run, resume: true, onEvent: { if case .notice(let n) = $0 { notices.append(n) } }).run()
        #expect(!FileManager.default.fileExists(atPath: leftover.path))
        #expect(notices.contains { $0.contains("removed 1 temporary file") }, "\(notices)")
        try expectSameRun(run, as: uninterrupted, "weights one epoch ahead of the state")
    }

    /// A sweep or quality benchmark run again resumes its finished runs: one that trained all its
    /// epochs, or stopped when its time budget was spent, trains nothing more (no batch, no
    /// validation, the same checkpoint), while one stopped before its end continues.
    @Test func resumingAFinishedRunTrainsNothingMore() throws {
        let data = try syntheticData()
        var budgeted = config()
        budgeted.timeBudgetMinutes = 1e-5  // spent by the first batch
        for (config, stop) in [(config(), StopReason.finished(epochs: 3)), (budgeted, .timeBudget(minutes: 1e-5))] {
            let run = temporaryRun()
            #expect(try Trainer(config: config, data: data, run: run).run() == stop)
            let (log, last) = (try records(run), try weights(run.lastCheckpoint))
            let again = try Trainer(config: config, data: data, run: run, resume: true).run()
            #expect(again == (config.timeBudgetMinutes == nil ? .alreadyDone(epochs: 3) : stop))
            #expect(try records(run) == log, "\(stop): the log gained no record")
            #expect(try weights(run.lastCheckpoint) == last, "\(stop): the checkpoint is unchanged")
        }
        // Given more time, the budgeted run continues.
        let run = temporaryRun()
        try Trainer(config: budgeted, data: data, run: run).run()
        let batches = try records(run).filter { $0["event"] as? String == "batch" }.count
        var longer = budgeted
        longer.timeBudgetMinutes = nil
        #expect(try Trainer(config: longer, data: data, run: run, resume: true).run() == .finished(epochs: 3))
        #expect(try records(run).filter { $0["event"] as? String == "batch" }.count > batches)
    }

    @Test func resumingARunThatSavedNothingTrainsItFromTheStart() throws {
        let data = try syntheticData()
        let uninterrupted = try reference(data)
        let run = temporaryRun()
        _ = try Trainer(config: config(), data: data, run: run)  // settings and log written, then "killed"
        var notices: [String] = []
        try Trainer(config: config(), data: data, run: run, resume: true, onEvent: { if case .notice(let n) = $0 { notices.append(n) } }).run()
        #expect(notices.contains { $0.contains("holds no checkpoint yet") })
        try expectSameRun(run, as: uninterrupted, "started again")
    }

    /// The average after three steps with decay 0.5 from weights w0 through w1, w2, w3, computed
    /// by hand: the warm-up gives d = min(0.5, (1 + n) / (10 + n)) = 0.1, 0.1818..., 0.25 at n = 0, 1, 2.
    @Test func theWeightAverageFollowsItsFormulaAndSwapsBack() throws {
        let model = try Conv2d(2, 1, kernel: 1)
        let weight = model.weight
        func set(_ values: [Float]) throws { try noGrad { try weight.copyIn(try Tensor(values, shape: [1, 2, 1, 1])) } }
        try set([0, 0])
        let average = try WeightAverage(model: model, decay: 0.5)
        var expected: [Double] = [0, 0]
        let steps: [[Float]] = [[1, 2], [3, -1], [5, 4]]
        for (n, values) in steps.enumerated() {
            try set(values)
            try average.update(afterIterations: n)
            let d = min(0.5, Double(1 + n) / Double(10 + n))
            expected = zip(expected, values).map { d * $0 + (1 - d) * Double($1) }
        }
        let averaged = try average.averages[0].floats().map(Double.init)
        #expect(zip(averaged, expected).allSatisfy { abs($0 - $1) < 1e-6 }, "\(averaged) against \(expected)")
        let inside = try average.withAveragedWeights { try weight.floats() }
        #expect(zip(inside.map(Double.init), expected).allSatisfy { abs($0 - $1) < 1e-6 }, "the model holds the average inside")
        #expect(try weight.floats() == [5, 4], "and its raw weights again after")
        let saved = Dictionary(uniqueKeysWithValues: average.averagedStateDict(of: model))
        #expect(try saved["weight"]!.floats() == average.averages[0].floats() && saved["bias"] != nil)
    }

    /// ema_decay changes what is validated and saved, never the training: the same losses, other
    /// val scores. The weights file holds the average, the state file the raw weights and the
    /// average; a resumed run averages exactly as the uninterrupted one (same val scores).
    @Test func averagedRunsTrainTheSameValidateTheAverageAndResumeExactly() throws {
        var config = Preset.pyramid.recipe
        config.pyramidFrame = [8, 8, 8]; config.pyramidPose = [0, 4, 4]; config.noiseDim = 2
        config.height = 8; config.width = 16; config.trainVideoLength = 4; config.batchSize = 2; config.epochs = 3
        config.valVideoLength = 6; config.perSave = 0
        config.emaDecay = 0.9
        let data = try syntheticData()
        let (full, resumed) = try uninterruptedAndResumed(config, data: data)
        #expect(try #require(resumed.epochLosses[3]) == #require(full.epochLosses[3]))
        #expect(resumed.validations.last?.valPSNR == full.validations.last?.valPSNR, "the resumed average validates as the uninterrupted one")
        var plainConfig = config
        plainConfig.emaDecay = 0
        let plain = EventRecorder()
        try Trainer(config: plainConfig, data: data, run: temporaryRun(), onEvent: plain.handle).run()
        #expect(plain.epochLosses == full.epochLosses, "the average does not change training")
        #expect(plain.validations.map(\.valPSNR) != full.validations.map(\.valPSNR), "the average is what is validated")

        let run = temporaryRun()
        let trainer = try Trainer(config: config, data: data, run: run)
        try trainer.run()
        let weights = try SafeTensors.read(run.lastCheckpoint).tensors
        let state = try SafeTensors.read(Checkpoint.stateURL(for: run.lastCheckpoint)).tensors
        var differs = false
        for (name, parameter) in trainer.model.namedParameters() {
            let saved = try #require(weights[name]), average = try #require(state["ema." + name]), raw = try #require(state["model." + name])
            #expect(try saved.floats() == average.floats(), "\(name): the weights file holds the average")
            #expect(try raw.floats() == parameter.floats(), "\(name): the state file holds the raw weights")
            differs = try differs || raw.floats() != average.floats()
        }
        #expect(differs, "after 3 epochs the average is not the raw weights")
        #expect(try trainer.validate(afterEpochs: 3).valPSNR == full.validations.last?.valPSNR, "validate() uses the average")
    }

    @Test func aCheckpointWhoseStateCannotBeWrittenLeavesNoOrphanWeightsAndNamesTheFile() throws {
        let run = temporaryRun()
        let model = try LabModel(config().dimensions)
        let optimizer = try Optimizer(.adam, parameters: model.parameters, learningRate: 1e-3)
        let url = run.periodicCheckpoint(epoch: 1)
        // The state file's name is taken by a folder that is not empty: its rename must fail.
        try FileManager.default.createDirectory(at: Checkpoint.stateURL(for: url).appendingPathComponent("x"), withIntermediateDirectories: true)
        do {
            try Checkpoint.write(model: model, optimizer: optimizer, generator: try RandomGenerator(seed: 1), progress: .start,
                                 log: Checkpoint.LogPosition(lines: 0, tail: []), to: url)
            Issue.record("the write should fail")
        } catch {
            #expect("\(error)".contains("epoch-0001.state.safetensors"), "\(error)")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: run.checkpoints.path)
        #expect(left == ["epoch-0001.state.safetensors"], "only the blocking folder may remain: \(left)")
    }

    @Test func aLogLineCutShortByACrashIsRemovedWhenTheLogIsOpened() throws {
        let run = temporaryRun()
        try FileManager.default.createDirectory(at: run.url, withIntermediateDirectories: true)
        try Data("{\"event\":\"log_started\",\"schema\":2,\"vidpred_version\":\"x\"}\n{\"epoch\":1,\"event\":\"va".utf8).write(to: run.metrics)
        let log = try MetricsLog(url: run.metrics)
        #expect(log.lineCount == 1)
        try log.record(.checkpoint(CheckpointRecord(epoch: 1, path: "checkpoints/last.safetensors", reason: .last)))
        let contents = try MetricsLog.read(run.metrics)
        #expect(contents.unreadableLines.isEmpty && contents.checkpoints.count == 1)
    }
}

/// TensorBoard reads the event files training writes, with its own reader (`EventAccumulator`
/// from the tensorboard package in .deps/pyenv, installed by scripts/setup.sh).
@Suite(.serialized) struct TensorBoardTests {
    @Test func tensorBoardReadsTheScalarsImagesAndConfigAndDropsWhatAResumeRewound() throws {
        let python = repositoryRoot.appendingPathComponent(".deps/pyenv/bin/python")
        try #require(FileManager.default.isExecutableFile(atPath: python.path), "Python interop tools missing: run scripts/setup.sh (it creates .deps/pyenv)")
        var config = tinyConfig()
        config.height = 16; config.width = 32  // SSIM needs frames of 11x11 or more
        config.epochs = 3; config.perSave = 1
        let data = try syntheticData(height: 16, width: 32)
        let run = temporaryRun()
        try Trainer(config: config, data: data, run: run).run(stopAfterEpochs: 1)
        let epochOne = try Data(contentsOf: Checkpoint.stateURL(for: run.lastCheckpoint))
        try Trainer(config: config, data: data, run: run, resume: true).run(stopAfterEpochs: 2)
        // As if epoch 2's checkpoint had been lost: the resume goes back to epoch 1, and the
        // events the second attempt logged after it must not count twice.
        try epochOne.write(to: Checkpoint.stateURL(for: run.lastCheckpoint))
        try Trainer(config: config, data: data, run: run, resume: true).run()

        let script = """
            import json, sys
            from tensorboard.backend.event_processing import event_accumulator as ea
            acc = ea.EventAccumulator(sys.argv[1], size_guidance={ea.SCALARS: 0, ea.IMAGES: 0, ea.TENSORS: 0})
            acc.Reload()
            tags = acc.Tags()
            out = {"scalars": {t: [[e.step, e.value] for e in acc.Scalars(t)] for t in tags["scalars"]},
                   "images": {t: [[e.step, e.width, e.height, len(e.encoded_image_string)] for e in acc.Images(t)] for t in tags["images"]},
                   "text": acc.Tensors("config")[0].tensor_proto.string_val[0].decode() if "config" in tags["tensors"] else None}
            print(json.dumps(out))
            """
        let process = Process()
        process.executableURL = python
        process.arguments = ["-c", script, run.url.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let read = try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any], "\(String(decoding: output, as: UTF8.self))")
        let scalars = try #require(read["scalars"] as? [String: [[Double]]])
        let log = try MetricsLog.read(run.metrics)
        // One value per iteration, equal (in float32) to metrics.jsonl's: nothing of the rewound attempt remains.
        let losses = try #require(scalars["train/loss"])
        #expect(losses.map { Int($0[0]) } == log.batches.map(\.iteration))
        #expect(zip(losses, log.batches).allSatisfy { Float($0[1]) == Float($1.loss) })
        let psnr = try #require(scalars["val/psnr"]), ssim = try #require(scalars["val/ssim"])
        #expect(psnr.map { Float($0[1]) } == log.validations.map { Float($0.valPSNR) })
        #expect(ssim.count == 3 && ssim.allSatisfy { $0[1] > -1 && $0[1] <= 1 })
        for tag in ["train/mse", "train/kl", "train/beta", "train/tfr", "train/lr", "epoch/frames_per_second", "epoch/train_loss"] {
            #expect(scalars[tag]?.isEmpty == false, "\(tag) missing")
        }
        let images = try #require((read["images"] as? [String: [[Int]]])?["val/label_prediction_truth"])
        #expect(images.count == 3 && images.allSatisfy { $0[1] > 32 * 8 && $0[2] > 16 * 3 && $0[3] > 100 })
        #expect((read["text"] as? String)?.contains("\"tfr_sde\"") == true)
    }
}
