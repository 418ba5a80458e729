import Foundation
import Testing
import Torch
import VidPredData
@testable import VidPred

@Suite struct SettingsTests {
    /// A config with every setting away from the lab's default, each to a value the table can write.
    static func everythingChanged() -> TrainConfig {
        var c = Preset.pyramid.recipe
        c.latent = .standardNormal; c.pyramidFrame = [8, 16, 24]; c.pyramidPose = [4, 8, 12]
        c.referenceFrame = false; c.residual = .previous; c.previousFrame = .given; c.givenAttention = 1; c.alignGiven = true; c.alignFlow = true; c.referenceFar = 0.25; c.frameDim = 64; c.labelDim = 16; c.decoderDim = 96
        c.height = 16; c.width = 32; c.trainVideoLength = 8; c.valVideoLength = 100; c.partial = 0.5; c.fastTrain = true
        c.fastPartial = 0.3; c.fastTrainEpoch = 2; c.optimizer = .adamw; c.weightDecay = 0.02; c.milestones = [3]; c.gamma = 0.5
        c.clip = 2; c.tfrSde = 4; c.tfrDStep = 0.2; c.tfrEvery = 5; c.klAnnealCycle = 4; c.klAnnealRatio = 0.5; c.seed = 77
        c.valEvery = 2; c.earlyStopPatience = 3; c.timeBudgetMinutes = 12.5; c.snapshotEveryMinutes = 2; c.precision = .bf16
        c.channelsLast = false; c.perSave = 7; c.syncBatchnorm = true
        c.augmentFlip = 0.5; c.augmentZoom = 0.1; c.augmentShift = 0.2; c.augmentShiftX = 0.4; c.augmentJitter = 0.05; c.emaDecay = 0.99
        return c
    }

    @Test func everyPropertyHasOneSettingAndSurvivesConfigJSON() throws {
        let properties = Mirror(reflecting: TrainConfig()).children.count
        #expect(TrainConfig.settings.count == properties, "each stored property of TrainConfig needs exactly one row in TrainConfig.settings")
        #expect(Set(TrainConfig.settings.map(\.key)).count == properties, "keys are unique")
        let changed = Self.everythingChanged()
        #expect(TrainConfig.differences(changed, TrainConfig()).count == properties, "the fixture changes every setting")
        let decoded = try JSONDecoder().decode(TrainConfig.self, from: changed.jsonData())
        #expect(decoded == changed, "lost on the way through config.json: \(TrainConfig.differences(decoded, changed).map(\.key))")
        let object = try #require(try JSONSerialization.jsonObject(with: TrainConfig().jsonData()) as? [String: Any])
        #expect(object.count == properties, "config.json holds every key, unset ones as null")
    }

    @Test func unknownKeysNameTheKeySuggestAndListTheValidOnes() {
        let source = SettingSource(name: "my.yaml", entries: [("kl_anneal_typ", .text("None"))])
        do {
            _ = try TrainConfig.resolve([source])
            Issue.record("an unknown key was accepted")
        } catch {
            let text = "\(error)"
            #expect(text.hasPrefix("my.yaml: unknown setting kl_anneal_typ; did you mean kl_anneal_type?"), "\(text)")
            for setting in TrainConfig.settings { #expect(text.contains(setting.key)) }
        }
        let far = SettingSource(name: "f.json", entries: [("zzzzzz", .integer(1))])
        #expect(throws: ConfigError.self) { try TrainConfig.resolve([far]) }
    }

    /// The pyramid recipe's `previous_frame` changed from predicted to given in 0.16.0, and its
    /// augmentations, `ema_decay` and `precision` in 0.17.0, `augment_shift_x` in 0.18.0, `align_given` in 0.21.0, `reference_far` in 0.22.0 and `mirror_average` in 0.24.0. A run folder saved before such a key
    /// existed was trained without it, and resuming, predicting or evaluating it must keep that
    /// model; a config file a user writes takes the recipe's value.
    @Test func savedConfigsWithoutAKeyKeepWhatTheyWereTrainedWith() throws {
        let recipe = Preset.pyramid.recipe
        let changed: Set = ["previous_frame", "augment_flip", "augment_zoom", "augment_shift", "augment_shift_x", "augment_jitter", "ema_decay", "precision", "align_given", "reference_far", "mirror_average"]
        #expect(Set(TrainConfig.settings.filter { $0.savedWithout != nil }.map(\.key)) == changed)
        var old = try #require(try JSONSerialization.jsonObject(with: recipe.jsonData()) as? [String: Any])
        for key in changed { old[key] = nil }
        let oldBytes = try JSONSerialization.data(withJSONObject: old)
        let decoded = try JSONDecoder().decode(TrainConfig.self, from: oldBytes)
        #expect(decoded.previousFrame == .predicted && decoded.preset == .pyramid && decoded.lr == recipe.lr)
        #expect(decoded.augmentation == Augmentation() && decoded.emaDecay == 0 && decoded.precision == .fp32 && !decoded.alignGiven && decoded.referenceFar == 0
                && !decoded.mirrorAverage)
        #expect(Set(TrainConfig.differences(decoded, recipe).map(\.key)) == changed, "each key read as saved before differs from today's recipe")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vidpred-old-config-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = RunFolder(folder)
        try oldBytes.write(to: run.config)
        #expect(try run.readConfig().previousFrame == .predicted, "RunFolder.readConfig (resume, predict, eval)")
        // A saved config that has the key keeps it, either way.
        for choice in PreviousFrame.allCases {
            var c = Preset.pyramid.recipe
            c.previousFrame = choice
            c.alignGiven = choice == .given  // align_given needs given
            try run.writeConfig(c)
            #expect(try TrainConfig.read(run.config).previousFrame == choice)
        }
        // A user's config file (or command line) without the key gets the recipe's.
        let user = try TrainConfig.resolve([SettingSource(name: "my.yaml", entries: [("preset", .text("pyramid")), ("epochs", .integer(3))])])
        #expect(TrainConfig.differences(user, recipe).map(\.key) == ["epochs"])
        // The recipe's align_given needs given: asking for predicted names the other key to change.
        #expect { try TrainConfig.resolve([SettingSource(name: "line", entries: [("preset", .text("pyramid")), ("previous_frame", .text("predicted"))])]) } throws: {
            "\($0)".contains("align_given true needs previous_frame given") && "\($0)".contains("--align-given false")
        }
        let predicted = try TrainConfig.resolve([SettingSource(name: "line", entries: [("preset", .text("pyramid")), ("previous_frame", .text("predicted")), ("align_given", .text("false"))])])
        #expect(predicted.previousFrame == .predicted && !predicted.alignGiven)
    }

    /// `sweep` and `bench quality` reuse a run already in their --out folder only when it was made
    /// with the settings asked for; otherwise the error names each difference.
    @Test func reusingARunChecksItsSettings() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vidpred-reuse-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = RunFolder(folder)
        let asked = Preset.pyramid.recipe
        #expect(try !run.holdsRun(madeWith: asked, continuing: false, command: "benchmark"), "an empty folder holds no run")
        try run.writeConfig(asked)
        try FileManager.default.createDirectory(at: run.checkpoints, withIntermediateDirectories: true)
        try Data().write(to: run.checkpoints.appendingPathComponent("last.state.safetensors"))
        #expect(try run.holdsRun(madeWith: asked, continuing: false, command: "benchmark"))
        var longer = asked
        longer.epochs += 10
        #expect(try run.holdsRun(madeWith: longer, continuing: true, command: "sweep"), "a continued run may get longer")
        func message(_ config: TrainConfig, continuing: Bool) -> String {
            do {
                _ = try run.holdsRun(madeWith: config, continuing: continuing, command: "benchmark")
                return "accepted"
            } catch { return "\(error)" }
        }
        #expect(message(longer, continuing: false).contains("epochs: \(asked.epochs) there, \(asked.epochs + 10) here"), "a scored run is the length asked for")
        var other = asked
        other.lr = 0.01
        other.augmentShiftX = nil
        let text = message(other, continuing: true)
        #expect(text.contains(folder.path) && text.contains("lr: 0.002 there, 0.01 here") && text.contains("augment_shift_x: 0.4 there, none here")
                && text.contains("remove it, or use another --out"), "\(text)")
        // A run saved before the recipe's changes (no previous_frame key: predicted; no align_given
        // key, which came later: false) is not the recipe's run.
        var old = try #require(try JSONSerialization.jsonObject(with: asked.jsonData()) as? [String: Any])
        old["previous_frame"] = nil
        old["align_given"] = nil
        try JSONSerialization.data(withJSONObject: old).write(to: run.config)
        let oldMessage = message(asked, continuing: false)
        #expect(oldMessage.contains("previous_frame: predicted there, given here") && oldMessage.contains("align_given: false there, true here"), "\(oldMessage)")
    }

    @Test func thePresetNamedLastPicksTheRecipeAndLaterSourcesOverride() throws {
        let file = SettingSource(name: "file", entries: [("preset", .text("pyramid")), ("lr", .number(0.01))])
        let line = SettingSource(name: "line", entries: [("epochs", .text("3"))])
        let c = try TrainConfig.resolve([file, line])
        #expect(c.preset == .pyramid && c.lr == 0.01 && c.epochs == 3 && c.batchSize == Preset.pyramid.recipe.batchSize)
        let lab = try TrainConfig.resolve([file, SettingSource(name: "line", entries: [("preset", .text("LAB"))])])
        #expect(lab.preset == .lab && lab.lr == 0.01 && lab.batchSize == TrainConfig().batchSize)
    }
}

@Suite(.serialized) struct RunInputsTests {
    private func dataset(seed: UInt64) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("vidpred-data-\(UUID().uuidString.prefix(8))")
        try SyntheticDance.generate(SyntheticDanceOptions(trainFrames: 8, clipLength: 8, valVideos: 1, testVideos: 1, videoLength: 4,
                                                          height: 8, width: 16, seed: seed), to: root)
        return root
    }

    @Test func theFingerprintSeesAddedRemovedAndResizedFilesButNotHiddenOnes() throws {
        let root = try dataset(seed: 1)
        defer { try? FileManager.default.removeItem(at: root) }
        let original = try DatasetFingerprint.of(root)
        #expect(original.files == 8 * 2 + 4 * 2 + 1 + 4 * 2, "train frames + labels, val, test first frame, labels and ground truth")
        #expect(try DatasetFingerprint.of(root) == original)
        try Data([1, 2, 3]).write(to: root.appendingPathComponent("train/train_img/.frame000000.png.tmp-1"))
        #expect(try DatasetFingerprint.of(root) == original, "a leftover temporary file is not data")
        let frame = root.appendingPathComponent("val/val_img/frame000003.png")
        let bytes = try Data(contentsOf: frame)
        try (bytes + Data([0])).write(to: frame)
        #expect(try DatasetFingerprint.of(root) != original)
        try bytes.write(to: frame)
        #expect(try DatasetFingerprint.of(root) == original)
        try FileManager.default.moveItem(at: frame, to: root.appendingPathComponent("val/val_img/frame000004.png"))
        #expect(try DatasetFingerprint.of(root) != original)
    }

    @Test func dataChoiceUsesTheRecordAndRefusesOtherDataUnlessAllowed() throws {
        let a = try dataset(seed: 1), b = try dataset(seed: 2)
        defer { try? FileManager.default.removeItem(at: a); try? FileManager.default.removeItem(at: b) }
        let recorded = try DataRecord.of(a)
        let plain = try DataChoice.resolve(requested: nil, recorded: recorded, allowChange: false, owner: "the run r")
        #expect(plain.url.path == recorded.path && plain.note.contains("recorded by the run r"))
        #expect(try DataChoice.resolve(requested: a, recorded: recorded, allowChange: false, owner: "r").record == recorded)
        do {
            _ = try DataChoice.resolve(requested: b, recorded: recorded, allowChange: false, owner: "the run r")
            Issue.record("other data was accepted")
        } catch let error as RunError {
            #expect(error.kind == .dataChanged && error.description.contains("\(b.path) is not the dataset the run r recorded"))
        }
        #expect(try DataChoice.resolve(requested: b, recorded: recorded, allowChange: true, owner: "r").url == b)
        do {
            _ = try DataChoice.resolve(requested: nil, recorded: nil, allowChange: false, owner: "the run r")
            Issue.record("no data and no record was accepted")
        } catch let error as RunError {
            #expect(error.kind == .dataNotRecorded)
        }
    }

    @Test func aBatchIsLaidOutBatchTimeChannelsWithLabelsAlignedToFrames() throws {
        // Frame k of the video holds the value k everywhere, its label 100 + k.
        let frames = try Tensor((0..<10).flatMap { k in [Float](repeating: Float(k), count: 3 * 2 * 2) }, shape: [10, 3, 2, 2])
        let data = TrainingData(train: [try VideoTensors(frames: frames, labels: frames + 100)], validation: [])
        let (x, y) = try data.batch([FrameWindow(video: 0, start: 6), FrameWindow(video: 0, start: 1)], length: 3)
        #expect(x.shape == [2, 3, 3, 2, 2] && y.shape == x.shape)
        #expect(try x.select(dim: 2, index: 0).mean(dims: [2, 3]).floats() == [6, 7, 8, 1, 2, 3])
        #expect(try (y - x).floats().allSatisfy { $0 == 100 })
    }

    @Test func logsOfEarlierVersionsReadWithEpochsFromOne() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vidpred-log-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("metrics.jsonl")
        // Schema 1: epochs from 0, no header; then this version appends (a resumed old run).
        try (#"{"event":"epoch","epoch":0,"train_loss":1,"train_mse":1,"train_kl":0,"tfr":1,"beta":1,"lr":0.001,"teacher_forcing":true,"skipped_batches":0,"seconds":1,"frames_per_second":5}"#
             + "\n" + #"{"event":"validation","epoch":0,"val_loss":0.1,"val_psnr":10,"psnr_per_frame":[10],"seconds":1}"# + "\n")
            .write(to: url, atomically: true, encoding: .utf8)
        let log = try MetricsLog(url: url)
        try log.record(.epoch(EpochRecord(epoch: 2, trainLoss: 0.5, trainMSE: 0.5, trainKL: 0, tfr: 1, beta: 1, lr: 1e-3, teacherForcing: false,
                                          skippedBatches: 0, seconds: 1, framesPerSecond: 5)))
        try log.record(.validation(ValidationRecord(epoch: 2, valLoss: .nan, valPSNR: .infinity, psnrPerFrame: [.infinity], seconds: 1)))
        let read = try MetricsLog.read(url)
        #expect(read.header?.schema == MetricsLog.schema)
        #expect(read.epochs.map(\.epoch) == [1, 2] && read.validations.map(\.epoch) == [1, 2])
        #expect(read.validations[1].valPSNR == .infinity && read.validations[1].valLoss.isNaN, "non-finite numbers survive")
        #expect(read.unreadableLines.isEmpty)
    }
}

/// Every file the docs and the product's messages name exists, and docs/run-folder.md names every
/// file a training run writes.
@Suite struct DocumentationTests {
    @Test func referencedDocsExist() throws {
        var texts = [try String(contentsOf: repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)]
        for folder in ["Sources", "docs", "scripts", "Benchmarks"] {
            let walk = FileManager.default.enumerator(atPath: repositoryRoot.appendingPathComponent(folder).path)
            while let path = walk?.nextObject() as? String {
                guard path.hasSuffix(".swift") || path.hasSuffix(".md") || path.hasSuffix(".sh") else { continue }
                texts.append(try String(contentsOf: repositoryRoot.appendingPathComponent(folder).appendingPathComponent(path), encoding: .utf8))
            }
        }
        let pattern = try NSRegularExpression(pattern: #"(?<![\w./])((?:docs|scripts|Benchmarks|reference)/[\w.-]+\.(?:md|sh|py))"#)
        var named = Set<String>()
        for text in texts {
            let ns = text as NSString
            for match in pattern.matches(in: text, range: NSRange(location: 0, length: ns.length)) { named.insert(ns.substring(with: match.range(at: 1))) }
        }
        #expect(named.contains("docs/run-folder.md") && named.contains("docs/lab.md"))
        for path in named.sorted() {
            #expect(FileManager.default.fileExists(atPath: repositoryRoot.appendingPathComponent(path).path), "\(path) is named but missing")
        }
    }

    @Test func runFolderDocNamesEveryFileTrainingWrites() throws {
        let folder = RunFolder(FileManager.default.temporaryDirectory.appendingPathComponent("vidpred-doc-run-\(UUID().uuidString.prefix(8))"))
        defer { try? FileManager.default.removeItem(at: folder.url) }
        var config = TrainConfig()
        config.frameDim = 16; config.labelDim = 8; config.noiseDim = 4; config.decoderDim = 24
        config.height = 8; config.width = 16; config.trainVideoLength = 4; config.epochs = 2; config.perSave = 1; config.valVideoLength = 4
        let g = try RandomGenerator(seed: 1)
        let video = try VideoTensors(frames: Tensor.rand([8, 3, 8, 16], generator: g), labels: Tensor.rand([8, 3, 8, 16], generator: g))
        try Trainer(config: config, data: TrainingData(train: [video], validation: [video]), run: folder).run()
        let doc = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/run-folder.md"), encoding: .utf8)
        let written = FileManager.default.enumerator(atPath: folder.path)?.allObjects.compactMap { $0 as? String } ?? []
        for path in written where !FileManager.default.isDirectory(folder.url.appendingPathComponent(path)) {
            let documented = path.replacingOccurrences(of: #"epoch-\d{4}"#, with: "epoch-NNNN", options: .regularExpression)
                .replacingOccurrences(of: #"events\.out\.tfevents\..*"#, with: "events.out.tfevents.*", options: .regularExpression)
            #expect(doc.contains(documented), "docs/run-folder.md does not name \(documented)")
        }
        for kind in ["log_started", "batch", "epoch", "validation", "checkpoint", "skipped_batch"] {
            #expect(doc.contains("\"event\":\"\(kind)\""), "docs/run-folder.md does not describe \(kind) lines")
        }
    }
}

private extension FileManager {
    func isDirectory(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}
