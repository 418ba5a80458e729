import ArgumentParser
import Foundation
import Testing
import Torch
import VidPred
import VidPredData
import VidPredReport
@testable import VidPredCLI

/// The message a command-line call fails with ("accepted" when it does not).
private func failure(_ body: () throws -> Void) -> String {
    do { try body(); return "accepted" } catch { return "\(error)" }
}

private func settings(_ arguments: [String]) throws -> TrainConfig {
    try TrainOptions.parse(arguments).resolve().config
}

@Suite("Training settings on the command line and in --config files")
struct SettingsCommandLineTests {
    @Test func everySettingIsAFlagAndTheLabsNamesWork() throws {
        let c = try settings(["--tfr-sde", "3", "--kl_anneal_type", "None", "--num_epoch", "7", "--F_dim", "64", "--optim", "AdamW",
                              "--shuffle", "--no-channels-last", "--milestones", "3,6", "--latent=standard-normal", "--seed", "9"])
        #expect(c.tfrSde == 3 && c.klAnnealType == .none && c.epochs == 7 && c.frameDim == 64 && c.optimizer == .adamw)
        #expect(c.shuffle && !c.channelsLast && c.milestones == [3, 6] && c.latent == .standardNormal && c.seed == 9)
        // A switch may take an explicit value; an optional setting can be unset with none.
        let d = try settings(["--preset", "pyramid", "--shuffle", "false", "--window-stride", "none", "--time-budget", "2.5"])
        #expect(d.preset == .pyramid && !d.shuffle && d.windowStride == nil && d.timeBudgetMinutes == 2.5)
        #expect(d.lr == Preset.pyramid.recipe.lr, "settings not given keep the preset's recipe")
    }

    @Test func unknownAndMistypedSettingsAreErrorsThatSayWhatToDo() throws {
        let unknown = failure { _ = try settings(["--num-epochs", "3"]) }
        #expect(unknown.contains("unknown setting --num-epochs; did you mean --num-epoch (--epochs)?"), "\(unknown)")
        #expect(unknown.contains("Valid settings: --preset, --prior"), "\(unknown)")
        #expect(failure { _ = try settings(["--epochs", "three"]) } == "the command line: --epochs must be an integer; found 'three'")
        #expect(failure { _ = try settings(["--epochs"]) }.contains("--epochs needs a value: an integer"))
        #expect(failure { _ = try settings(["--lr-schedule", "exponential"]) }.contains("must be one of multistep, constant, cosine"))
        #expect(failure { _ = try settings(["--gamma", "nan"]) }.contains("--gamma must be a finite number"))
        #expect(failure { _ = try settings(["--tfr", "0.5", "--tfr", "0.7"]) }.contains("--tfr is given twice"))
        #expect(failure { _ = try settings(["--num_workers", "4"]) }.contains("argument of the lab's template that VidPred does not take"))
    }

    @Test func configFilesUseTheSameKeysAndRefuseUnknownOnes() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        func write(_ text: String, _ name: String = "c.yaml") throws -> String {
            let url = folder.appendingPathComponent(name)
            try text.write(to: url, atomically: true, encoding: .utf8)
            return url.path
        }
        // The issue's silent failures: a misspelt key, a key with dashes, a wrong type.
        let misspelt = failure { _ = try settings(["--config", try write("num_epoch_s: 3\nkl_anneal_typ: None\n")]) }
        #expect(misspelt.contains("c.yaml: unknown setting kl_anneal_typ; did you mean kl_anneal_type?"), "\(misspelt)")
        let dashed = try settings(["--config", try write("kl-anneal-type: None\nnum_epoch: 3\n")])
        #expect(dashed.klAnnealType == .none && dashed.epochs == 3)
        #expect(failure { _ = try settings(["--config", try write("epochs: three\n")]) }.hasSuffix("c.yaml: epochs must be an integer; found 'three'"))
        // YAML and JSON alike; the command line overrides the file; the lab's data and run keys.
        let yaml = try TrainOptions.parse(["--config", try write("preset: pyramid\nlr: 1e-3\nmilestones: [2, 5]\nDR: /data/x\nsave_root: runs/y\n"), "--lr", "5e-4"]).resolve()
        #expect(yaml.config.preset == .pyramid && yaml.config.lr == 5e-4 && yaml.data == "/data/x" && yaml.out == "runs/y")
        #expect(yaml.config.epochs == Preset.pyramid.recipe.epochs)
        let json = try settings(["--config", try write(#"{"tfr": 0, "fast_train": true}"#, "c.json")])
        #expect(json.tfr == 0 && json.fastTrain)
    }

    @Test func helpListsEverySettingWithTheDefaultOfEachPreset() {
        let help = SettingsHelp.text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for setting in TrainConfig.settings {
            #expect(help.contains("--" + setting.key.replacingOccurrences(of: "_", with: "-")), "\(setting.key) is listed")
            let values = Preset.allCases.map { SettingsHelp.typed(setting.value(in: $0.recipe)) }
            if Set(values).count > 1 && setting.key != "preset" {
                #expect(help.contains("\(values[0]) (lab), \(values[1]) (pyramid)"), "\(setting.key): both presets' defaults")
            }
        }
        #expect(Train.helpMessage().contains("--kl-anneal-type"), "train --help shows the settings")
    }

    /// The quality benchmark refuses bad --set and --seeds values before it trains anything.
    @Test(arguments: [(["--set", "augment_flp=1"], "--set takes KEY=VALUE with a training setting's key"),
                      (["--set", "augment_flip=2"], "augment_flip must be in [0, 1.0] (got 2.0)"),
                      (["--seeds", "one"], "--seeds takes comma-separated whole numbers"),
                      (["--collect", "/no/such/quality"], "--collect: /no/such/quality/quality.json does not exist")])
    func theQualityBenchmarkRefusesBadSettingsBeforeTraining(arguments: [String], message: String) throws {
        let out = try scratch()
        defer { try? FileManager.default.removeItem(at: out) }
        let data = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/data/edn-s4")
        let result = try runToEnd(vidpredBinary, ["bench", "quality", "--data", data.path, "--presets", "pyramid", "--minutes", "0.01",
                                                  "--out", out.path] + arguments)
        #expect(result.status != 0)
        #expect(result.output.contains(message), "\(result.output)")
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("pyramid-seed1").path))
    }

    /// --collect prints the closing tables of runs scored earlier (e.g. seeds run as separate
    /// processes) from their quality.json and logs, training and scoring nothing.
    @Test func theQualityBenchmarkCollectsRunsScoredEarlier() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        var outs: [String] = []
        for (seed, test) in [(UInt64(1), 27.0), (2, 29.0)] {
            let out = folder.appendingPathComponent("out\(seed)")
            let run = RunFolder(out.appendingPathComponent("pyramid-seed\(seed)"))
            try FileManager.default.createDirectory(at: run.url, withIntermediateDirectories: true)
            var config = Preset.pyramid.recipe
            config.seed = seed
            try run.writeConfig(config)
            try Data(#"{"event":"epoch","epoch":1,"train_loss":0.1,"train_mse":0.1,"train_kl":0,"tfr":0,"beta":0,"lr":0.001,"teacher_forcing":false,"skipped_batches":0,"seconds":60,"frames_per_second":25}"#.utf8).write(to: run.metrics)
            func point(_ minutes: Double, curves: Bool) -> QualityBenchmark.Point {
                QualityBenchmark.Point(preset: .pyramid, seed: seed, minutes: minutes, checkpoint: "best.safetensors", latent: .priorMean, samples: 1,
                                       meanLabScore: ["val": 30, "test/0": test], bestLabScore: [:], leakage: ["test/0": 0.004],
                                       psnrPerFrame: curves ? ["test/0": [Double](repeating: test, count: 600)] : nil)
            }
            // A snapshot's point (no curves) and the best checkpoint's.
            try JSONEncoder().encode([point(10, curves: false), point(20, curves: true)]).write(to: out.appendingPathComponent("quality.json"))
            outs.append(out.path)
        }
        let data = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/data/edn-s4")
        let result = try runToEnd(vidpredBinary, ["bench", "quality", "--data", data.path, "--collect", outs.joined(separator: ",")])
        #expect(result.status == 0, "\(result.output)")
        let lines = result.output.split(separator: "\n")
        #expect(lines.count == 10, "per table a title, a header, one row per run and the mean: \(result.output)")
        #expect(lines.contains { $0.split(separator: " ") == ["pyramid", "2", "1", "30.00", "29.00", "1.00", "0.004", "29.00", "29.00", "25.0"] },
                "seed 2's row: \(result.output)")
        #expect(lines.contains { $0.hasPrefix("pyramid   mean") && $0.contains("28.00 +- 1.41") && $0.contains("25.0 +- 0.0") }, "\(result.output)")
        // The second table: test/0 by the dancer's distance from the given frame's place, from test/0's labels in --data.
        #expect(lines.contains { $0.contains("<0.15 (") && $0.contains("0.15-0.35 (") && $0.contains(">=0.35 (") }, "\(result.output)")
        #expect(lines.contains { $0.split(separator: " ") == ["pyramid", "2", "1", "29.00", "29.00", "29.00"] }, "seed 2's distance row: \(result.output)")
    }

    @Test func runFoldersAreNamedWithRunEverywhere() throws {
        #expect(try Report.parse(["--run", "runs/x"]).runFolder == "runs/x")
        #expect(try Eval.parse(["--run", "runs/x"]).runFolder == "runs/x")
        #expect(try Predict.parse(["--run", "runs/x"]).model.run == "runs/x")
        #expect(try Compare.parse(["--run", "runs/a", "runs/b"]).runs == ["runs/a", "runs/b"])
        #expect(VidPredCommand.configuration.version.contains(VidPredVersion.current))
    }
}

/// `vidpred train` end to end in this process, on tiny models and datasets.
@Suite("Runs remember their data", .serialized)
struct RunDataTests {
    static let tiny = ["--frame-dim", "16", "--label-dim", "8", "--noise-dim", "4", "--decoder-dim", "24", "--height", "8", "--width", "16",
                       "--train-vi-len", "4", "--val-vi-len", "4", "--per-save", "0", "--lr-schedule", "constant", "--threads", "1"]

    static func dataset(_ folder: URL, seed: UInt64) throws -> URL {
        let root = folder.appendingPathComponent("data-\(seed)")
        try SyntheticDance.generate(SyntheticDanceOptions(trainFrames: 16, clipLength: 8, valVideos: 1, testVideos: 0, videoLength: 6,
                                                          height: 8, width: 16, seed: seed), to: root)
        return root
    }

    @Test func resumeAndPredictUseTheRecordedDataAndRefuseOtherData() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = try Self.dataset(folder, seed: 1), b = try Self.dataset(folder, seed: 2)
        let run = RunFolder(folder.appendingPathComponent("run"))
        try Train.parse(["--data", a.path, "--out", run.path, "--epochs", "1"] + Self.tiny).run()
        let manifest = try #require(try run.readManifest())
        let fingerprint = try DatasetFingerprint.of(a)
        #expect(manifest.data?.path == a.standardizedFileURL.path && manifest.data?.fingerprint == fingerprint)
        #expect(manifest.sessions.count == 1 && manifest.sessions[0].vidpredVersion == VidPredVersion.current)
        #expect(manifest.sessions[0].commandLine.isEmpty == false)

        // No --data: the recorded dataset, not the built-in one.
        try Train.parse(["--resume", run.path, "--epochs", "2"]).run()
        let log = try MetricsLog.read(run.metrics)
        #expect(log.epochs.map(\.epoch) == [1, 2], "epochs are numbered from 1 in metrics.jsonl")
        let resumedManifest = try run.readManifest()
        #expect(resumedManifest?.sessions.count == 2 && resumedManifest?.data?.path == a.standardizedFileURL.path)

        // Other data is refused unless allowed; settings other than the run's length cannot change.
        let refused = failure { try Train.parse(["--resume", run.path, "--epochs", "3", "--data", b.path]).run() }
        #expect(refused.contains("is not the dataset the run") && refused.contains("--allow-data-change"), "\(refused)")
        #expect(failure { try Train.parse(["--resume", run.path, "--lr", "0.1"]).run() }.contains("--lr cannot change when a run is resumed"))
        try Train.parse(["--resume", run.path, "--epochs", "3", "--data", b.path, "--allow-data-change"]).run()
        #expect(try run.readManifest()?.data?.path == b.standardizedFileURL.path)

        // A dataset that changed on disk since it was recorded is refused too.
        try FileManager.default.removeItem(at: b.appendingPathComponent("train/train_img/frame000015.png"))
        #expect(failure { try Train.parse(["--resume", run.path, "--epochs", "4"]).run() }.contains("has changed since the run"))
        // predict reads the recorded dataset as well.
        let predicted = failure { try Predict.parse(["--run", run.path, "--splits", "val"]).run() }
        #expect(predicted.contains("has changed since the run"), "\(predicted)")
        #expect(failure { try Predict.parse(["--run", run.path, "--splits", "val", "--data", a.path]).run() }.contains("--allow-data-change"))
        try Predict.parse(["--run", run.path, "--splits", "val", "--data", a.path, "--allow-data-change"]).run()
        let predictions = try #require(try PredictionManifest.read(PredictionLayout(run: run).manifest))
        let recordA = try DataRecord.of(a)
        #expect(predictions.dataRecord == recordA)
        // The manifest also says whether the videos are test-time mirror averages.
        #expect(predictions.mirrorAverage == false)
        try Predict.parse(["--run", run.path, "--splits", "val", "--data", a.path, "--allow-data-change", "--mirror-average", "true"]).run()
        #expect(try PredictionManifest.read(PredictionLayout(run: run).manifest)?.mirrorAverage == true)
    }

    /// The lab's own checkpoint (made by PyTorch: reference/lab_ckpt.py) through train, predict,
    /// eval and back out through export.
    @Test func theLabsCheckpointTrainsOnPredictsScoresAndExports() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let ckpt = repositoryRoot.appendingPathComponent("Tests/VidPredTests/Fixtures/lab_tiny.ckpt").path
        let a = try Self.dataset(folder, seed: 1)
        let run = RunFolder(folder.appendingPathComponent("run"))
        let small = ["--height", "8", "--width", "16", "--train-vi-len", "4", "--val-vi-len", "4", "--per-save", "0", "--threads", "1"]
        let conflicting = failure { try Train.parse(["--DR", a.path, "--ckpt_path", ckpt, "--save_root", run.path, "--F_dim", "32"] + small).run() }
        #expect(conflicting.contains("--frame_dim 32 does not match lab_tiny.ckpt, whose weights have 16"), "\(conflicting)")
        #expect(failure { try Train.parse(["--DR", a.path, "--ckpt_path", ckpt] + small).run() }.contains("name its folder with --out"))

        // last_epoch 7, lr 1e-4, tfr 0.7: the run trains epochs 8 and 9 from those.
        try Train.parse(["--DR", a.path, "--ckpt_path", ckpt, "--save_root", run.path, "--num_epoch", "9"] + small).run()
        let config = try run.readConfig()
        #expect(config.dimensions == ModelDimensions(frame: 16, label: 8, noise: 4, decoder: 24))
        #expect(config.lr == 1e-4 && config.milestones == [9, 12] && config.tfr == 0.7 && config.tfrSde == 10)
        let epochs = try MetricsLog.read(run.metrics).epochs
        #expect(epochs.map(\.epoch) == [8, 9] && epochs.map(\.lr) == [1e-4, 1e-4], "\(epochs.map(\.lr))")

        // predict and eval take the .ckpt as the lab's Tester.py does.
        let predicted = folder.appendingPathComponent("predicted")
        try Predict.parse(["--ckpt_path", ckpt, "--DR", a.path, "--out", predicted.path, "--splits", "val"]).run()
        #expect(FileManager.default.fileExists(atPath: predicted.appendingPathComponent("val/0/side_by_side.gif").path))
        let scored = folder.appendingPathComponent("scored")
        try Eval.parse(["--ckpt_path", ckpt, "--DR", a.path, "--predictions", scored.path]).run()
        #expect(FileManager.default.fileExists(atPath: scored.appendingPathComponent("eval.json").path))

        // export writes the run's last weights with its epoch count, as the template's dict.
        let exported = folder.appendingPathComponent("epoch=9.ckpt")
        try Export.parse(["--run", run.path, "--which", "last", "--ckpt", exported.path]).run()
        let back = try LabCheckpoint.read(exported)
        #expect(back.lastEpoch == 9 && back.tfr == 0.7)
        let weights = try SafeTensors.read(run.lastCheckpoint).tensors
        for (name, tensor) in back.stateDict {
            let own = try #require(weights[name], "\(name)")
            #expect(try tensor.bytes() == own.to(tensor.dtype).contiguous().bytes(), "\(name)")
        }
    }

    @Test func aRunWithoutRecordedDataAsksForIt() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = try Self.dataset(folder, seed: 1)
        let run = RunFolder(folder.appendingPathComponent("run"))
        try Train.parse(["--data", a.path, "--out", run.path, "--epochs", "1"] + Self.tiny).run()
        try FileManager.default.removeItem(at: run.manifest)  // as runs of earlier versions
        let message = failure { try Train.parse(["--resume", run.path, "--epochs", "2"]).run() }
        #expect(message.contains("does not record which dataset it used") && message.contains("--data DIR"), "\(message)")
    }

    @Test func theBuiltInDataLivesInTheUserCacheNotTheCurrentFolder() {
        let folder = BuiltInData.folder(height: 32, width: 64, environment: ["XDG_CACHE_HOME": "/x/cache", "HOME": "/home/u"])
        #expect(folder.path == "/x/cache/vidpred/synthetic-dance-v\(SyntheticDance.generatorVersion)-32x64")
        #expect(BuiltInData.folder(height: 8, width: 16, environment: ["HOME": "/home/u"]).path == "/home/u/.cache/vidpred/synthetic-dance-v\(SyntheticDance.generatorVersion)-8x16")
        #expect(!Train.helpMessage().contains("data/synthetic"))
    }
}

/// --device without a GPU: what can be checked on a CPU-only machine (the GPU runs are in
/// Benchmarks/gpu-check.sh).
@Suite struct DeviceOptionTests {
    @Test func devicesAreParsedAndBadOnesNamed() throws {
        #expect(try DeviceRequest(parsing: "cpu") == .cpu && DeviceRequest(parsing: "CUDA") == .cuda(0))
        #expect(try DeviceRequest(parsing: "cuda:3") == .cuda(3) && DeviceRequest(parsing: "auto") == .auto)
        let bad = failure { _ = try DeviceRequest(parsing: "gpu0") }
        #expect(bad.contains("unknown device 'gpu0': use cpu, cuda, cuda:N"), "\(bad)")
        #expect(failure { _ = try Train.parse(["--device", "cuda:x"]) }.contains("--device"))
    }

    @Test func cudaWithoutACUDALibtorchFailsAtOnceSayingWhatToDoAndAutoFallsBackToTheCPU() throws {
        try #require(!Runtime.cudaAvailable, "this machine has a usable GPU: the test is for CPU-only machines")
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let message = failure { _ = try Runtime.prepare(.cuda(0)) }
        #expect(message.contains("--device cuda:0") && (message.contains("libtorch_cuda.so") || message.contains("NVIDIA driver"))
                && message.contains("--device cpu"), "\(message)")
        #expect(try Runtime.prepare(.auto) == .cpu)
        // train refuses before it makes a run folder.
        let data = try RunDataTests.dataset(folder, seed: 1)
        let run = folder.appendingPathComponent("run")
        let refused = failure { try Train.parse(["--data", data.path, "--out", run.path, "--device", "cuda", "--epochs", "1"] + RunDataTests.tiny).run() }
        #expect(refused.contains("--device cuda:0"), "\(refused)")
        #expect(!FileManager.default.fileExists(atPath: run.appendingPathComponent("config.json").path))
        // On the CPU the device is recorded with the session.
        try Train.parse(["--data", data.path, "--out", run.path, "--device", "auto", "--epochs", "1"] + RunDataTests.tiny).run()
        #expect(try RunFolder(run).readManifest()?.sessions.last?.device == "cpu")
    }

    /// Without bfloat16 arithmetic (AVX512-BF16 or AMX) libtorch emulates it, several times slower
    /// than fp32: train says so where that is the case, and only there. `auto` (the pyramid
    /// recipe's) takes bf16 exactly where it is native, train and predict say which, and the run records it.
    @Test func bf16TrainingWarnsWhereTheCPUHasNoBFloat16AndAutoChoosesByIt() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = try RunDataTests.dataset(folder, seed: 1)
        func train(_ precision: String) throws -> (status: Int32, output: String) {
            try runToEnd(vidpredBinary, ["train", "--data", data.path, "--out", folder.appendingPathComponent(precision).path,
                                         "--epochs", "1", "--precision", precision] + RunDataTests.tiny)
        }
        let bf16 = try train("bf16"), fp32 = try train("fp32")
        #expect(bf16.status == 0 && fp32.status == 0, "\(bf16.output)\n\(fp32.output)")
        let warning = "no native bfloat16"
        #expect(bf16.output.contains(warning) == !Runtime.cpuHasBFloat16, "\(bf16.output)")
        #expect(!bf16.output.contains(warning) || bf16.output.contains("--precision fp32"))
        #expect(!fp32.output.contains(warning))
        let auto = try train("auto")
        let chosen: Precision = Runtime.cpuHasBFloat16 ? .bf16 : .fp32
        #expect(auto.status == 0 && auto.output.contains("precision auto: \(chosen.rawValue), since the device (cpu)"), "\(auto.output)")
        #expect(!auto.output.contains(warning))
        #expect(try RunFolder(folder.appendingPathComponent("auto")).readConfig().precision == chosen, "config.json records the precision chosen")
        // Generation says its choice too (the manifest records it).
        let predicted = try runToEnd(vidpredBinary, ["predict", "--run", folder.appendingPathComponent("auto").path, "--splits", "val",
                                                     "--frames", "3", "--precision", "auto"])
        #expect(predicted.status == 0 && predicted.output.contains("precision auto: \(chosen.rawValue), since the device (cpu)"), "\(predicted.output)")
    }
}
