import ArgumentParser
import Foundation
import Torch
import VidPred
import VidPredData
import VidPredReport

extension Bench {
    /// The quality benchmark (issues 7 and 19): each preset trained for the same wall-clock budget
    /// on the real sample, once per seed, and scored on the val video and on test video 0 (footage
    /// it never trained on) at regular snapshots, with their gap, the label leakage and per-frame
    /// PSNR curves; then mean and spread over the seeds.
    struct Quality: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train each preset for a fixed time on ../shared/data/edn-s4 (once per seed) and print lab scores of val and test/0, their gap and the label leakage against training minutes, then mean and spread over the seeds.",
            discussion: """
                Recipes: lab = the lab's network with the strongest lab recipe measured here (teacher forcing off, \
                KL weight 1 without annealing, constant lr 1e-3, bf16); pyramid = the pyramid preset's defaults \
                (README, "Presets"). --set KEY=VALUE changes a setting of every run (an ablation: --set augment_flip=0). \
                Each run goes to OUT/<preset>-seed<N> (a normal run folder: report, predict and eval work on it); a run \
                of the same settings already there continues where it stopped, or, finished, is scored again without \
                training (one of other settings is an error naming them). Beside it: quality-curves.svg and .csv (per-frame \
                PSNR of the best checkpoint on val and test/0; test/0's frames whose label shows a partial body or \
                none are marked). Give the machine to the benchmark: on 2 cores another busy process slows training 10-40x.
                """)
        @Option(help: "Dataset in the lab layout with test_gt (default: ../shared/data/edn-s4).") var data = "../shared/data/edn-s4"
        @Option(help: "Presets, comma-separated: lab, pyramid.") var presets = "lab,pyramid"
        @Option(help: "Seeds, comma-separated: one run per seed and preset.") var seeds = "1"
        @Option(name: .customLong("set"), help: "A setting of every run, KEY=VALUE (repeatable), e.g. --set augment_flip=0.") var overrides: [String] = []
        @Option(help: "Training minutes per run.") var minutes = 60.0
        @Option(help: "Score a snapshot every this many minutes.") var snapshotEvery = 10.0
        @Option(help: "Samples per video for the final mean / best-of-K.") var samples = 4
        @Option(help: "Output folder.") var out = "runs/quality"
        @Option(help: "Train and score nothing: print the closing table (each run, then mean +- sd) of runs already scored, given as comma-separated --out folders of earlier runs of this benchmark (seeds run as separate processes or on other machines).") var collect: String?
        @OptionGroup var runtime: RuntimeOptions

        static func recipe(_ preset: Preset) throws -> TrainConfig {
            var c = preset.recipe
            switch preset {
            case .lab:
                c.tfr = 0; c.klAnnealType = .none; c.lrSchedule = .constant; c.precision = .bf16
                c.valEvery = 3; c.perSave = 0
                c.epochs = 1000  // the time budget ends the run
            case .pyramid:
                c.valEvery = 2
            }
            try c.validate()
            return c
        }

        /// The recipe with the --set overrides and the seed.
        func config(_ preset: Preset, seed: UInt64, device: Device) throws -> TrainConfig {
            var c = try Self.recipe(preset)
            for text in overrides {
                let parts = text.split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, let setting = TrainConfig.setting(named: parts[0]) else {
                    throw ValidationError("--set takes KEY=VALUE with a training setting's key, e.g. --set augment_flip=0 (got '\(text)'; vidpred train --help lists the settings)")
                }
                try setting.apply(.text(parts[1]), to: &c, spelled: parts[0], source: "--set")
            }
            c.seed = seed
            c.timeBudgetMinutes = minutes
            c.snapshotEveryMinutes = snapshotEvery
            try c.validate()
            return c.resolvingPrecision(on: device) { print($0) }  // as the run folder records it
        }

        func run() throws {
            let root = URL(fileURLWithPath: data)
            if let collect {
                printClosingTables(try collected(collect, root: root))
                return
            }
            runtime.apply()
            let device = try runtime.prepareDevice()
            guard FileManager.default.fileExists(atPath: root.appendingPathComponent("test/test_gt").path) else {
                throw ValidationError("\(root.path) has no test/test_gt: the quality benchmark needs ground truth for test videos (../shared/data/edn-s4 has it)")
            }
            let chosen = try presets.split(separator: ",").map { name in
                try Preset(configValue: .text(name.trimmingCharacters(in: .whitespaces)))
            }
            let seedList = try seeds.split(separator: ",").map { text in
                guard let seed = UInt64(text.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--seeds takes comma-separated whole numbers, e.g. 1,2,3 (got '\(seeds)')") }
                return seed
            }
            var points: [QualityBenchmark.Point] = []
            var results: [QualityBenchmark.RunResult] = []
            for preset in chosen {
                for seed in seedList {
                    let config = try config(preset, seed: seed, device: device)
                    let folder = URL(fileURLWithPath: out).appendingPathComponent("\(preset.rawValue)-seed\(seed)")
                    let run = RunFolder(folder)
                    // A run of these settings already here continues where it stopped (Ctrl-C, a
                    // kill, a machine taken away); a finished one trains nothing more.
                    let resume = try run.holdsRun(madeWith: config, continuing: false, command: "benchmark")
                    print("\(preset) seed \(seed): " + (resume ? "\(folder.path) already holds a run of these settings: continuing it if it stopped before its end, then scoring it (delete the folder to retrain)"
                                                             : "training for \(minutes) minutes into \(folder.path)"))
                    RuntimeOptions.warnIfBFloat16IsEmulated(config.precision.usesAutocast, on: device, work: "training")
                    let trainingData = try TrainingData.load(root: root, config: config)
                    let progress = TrainingProgress()
                    let trainer = try Trainer(config: config, data: trainingData, run: run, resume: resume, device: device, onEvent: progress.handle)
                    let interrupt = InterruptFlag()
                    interrupt.install()
                    print("stopped: \(try trainer.run(shouldStop: { interrupt.isRaised }))")
                    if interrupt.isRaised {
                        print("benchmark interrupted: run the same command again to continue")
                        throw interrupt.exitCode
                    }
                    let scored = try score(run, root: root, device: device)
                    points += scored.points
                    results.append(scored.result)
                }
            }
            print()
            print(QualityBenchmark.table(points))
            print()
            printClosingTables(results)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let url = URL(fileURLWithPath: out).appendingPathComponent("quality.json")
            try AtomicFile.write(try encoder.encode(points), to: url)
            print("wrote \(url.path)")
        }

        /// Scores every minute snapshot (one sample, the run's latent), then the best checkpoint
        /// with its per-frame curves (written beside the run) and with K samples.
        func score(_ run: RunFolder, root: URL, device: Device) throws -> (points: [QualityBenchmark.Point], result: QualityBenchmark.RunResult) {
            let snapshots = try run.snapshots()
            let first = try TrainedModel.load(checkpoint: snapshots.first?.url ?? run.lastCheckpoint)
            let dataset = try LabDataset.load(root: root, options: LabDatasetOptions(
                height: first.config.height, width: first.config.width, splits: [.val, .test], trainVideoLength: first.config.trainVideoLength))
            let videos = dataset.val + dataset.test.prefix(1)
            var points: [QualityBenchmark.Point] = []
            func point(_ trained: TrainedModel, minutes: Double, latent: LatentSource?, samples: Int, curves: Bool = false) throws -> QualityBenchmark.Point {
                let used = latent ?? trained.config.latent ?? trained.model.defaultLatent
                let mirrorAverage = trained.config.mirrorAverage  // the run's, as predict uses it
                let scores = try QualityBenchmark.score(model: trained.model, latent: used, videos: videos, samples: samples, device: device,
                                                        mirrorAverage: mirrorAverage)
                let p = QualityBenchmark.Point(preset: trained.config.preset, seed: trained.config.seed, minutes: minutes,
                                               checkpoint: trained.checkpoint.lastPathComponent, latent: used, mirrorAverage: mirrorAverage, samples: samples,
                                               meanLabScore: scores.mapValues(\.score.meanLabScore), bestLabScore: scores.mapValues(\.score.bestLabScore),
                                               leakage: scores.mapValues(\.leakage),
                                               psnrPerFrame: curves ? scores.mapValues { $0.score.samples.first?.psnrPerFrame ?? [] } : nil)
                print(QualityBenchmark.table([p]).split(separator: "\n").last.map(String.init) ?? "")
                fflush(nil)
                return p
            }
            for snapshot in snapshots {
                points.append(try point(TrainedModel.load(checkpoint: snapshot.url), minutes: snapshot.minutes, latent: nil, samples: 1))
            }
            let best = try TrainedModel.load(run: run)
            let metrics = try MetricsLog.read(run.metrics), minutes = metrics.trainingSeconds / 60
            let final = try point(best, minutes: minutes, latent: nil, samples: 1, curves: true)
            // The test video's partial-body frames and distances from the given frame's place, and the curves beside the run.
            let test = try QualityBenchmark.TestFrames(dataset)
            let chart = QualityBenchmark.curves(final, edgeFrames: test.edgeFrames, title: "\(final.preset) seed \(final.seed), \(final.checkpoint): PSNR per frame")
            try AtomicFile.write(Data(chart.svg().utf8), to: run.url.appendingPathComponent("quality-curves.svg"))
            try AtomicFile.write(Data(QualityBenchmark.curvesCSV(final, testFrames: test).utf8), to: run.url.appendingPathComponent("quality-curves.csv"))
            points.append(final)
            let sampling: LatentSource = best.model.hasLearnedPrior ? .learnedPrior : .standardNormal
            if samples > 1 { points.append(try point(best, minutes: minutes, latent: sampling, samples: samples)) }
            return (points, QualityBenchmark.RunResult(point: final, testFrames: test, metrics: metrics))
        }

        /// The best checkpoints' two closing tables: scores, then test/0 by the dancer's distance from the given frame's place.
        func printClosingTables(_ results: [QualityBenchmark.RunResult]) {
            print("best checkpoint of each run (one sample, the run's latent; test/0's partial-body and other frames in dB; the median epoch's training frames/s):")
            print(QualityBenchmark.resultTable(results))
            print()
            print("test/0 in dB by how far sideways the dancer stands from the given frame's place (a fraction of the width; frames per bin):")
            print(QualityBenchmark.distanceTable(results))
        }

        /// The best checkpoints' results of finished runs, read from each --out folder's
        /// quality.json and its run folders' logs (test/0's labels from `root` mark its partial-body
        /// frames and the dancer's distances from the given frame's place).
        func collected(_ folders: String, root: URL) throws -> [QualityBenchmark.RunResult] {
            var results: [QualityBenchmark.RunResult] = []
            var testFramesBySize: [String: QualityBenchmark.TestFrames] = [:]  // test/0's labels are read once per frame size
            for name in folders.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                let file = URL(fileURLWithPath: name).appendingPathComponent("quality.json")
                guard let data = FileManager.default.contents(atPath: file.path) else {
                    throw ValidationError("--collect: \(file.path) does not exist; --collect takes the --out folders of finished vidpred bench quality runs")
                }
                let points: [QualityBenchmark.Point]
                do { points = try JSONDecoder().decode([QualityBenchmark.Point].self, from: data) } catch {
                    throw ValidationError("--collect: \(file.path) is not a bench quality result (\(error.localizedDescription)); run the benchmark again with --out \(name) to rewrite it")
                }
                // The best checkpoint's point is the one with the per-frame curves.
                let finals = points.filter { $0.psnrPerFrame != nil }
                guard !finals.isEmpty else {
                    throw ValidationError("--collect: \(file.path) holds no best-checkpoint scores; run the benchmark again with --out \(name) to score its runs")
                }
                for point in finals {
                    let run = RunFolder(URL(fileURLWithPath: name).appendingPathComponent("\(point.preset.rawValue)-seed\(point.seed)"))
                    let config = try run.readConfig(), size = "\(config.width)x\(config.height)"
                    let test = try testFramesBySize[size] ?? QualityBenchmark.TestFrames(LabDataset.load(root: root, options: LabDatasetOptions(
                        height: config.height, width: config.width, splits: [.test], trainVideoLength: config.trainVideoLength)))
                    testFramesBySize[size] = test
                    results.append(QualityBenchmark.RunResult(point: point, testFrames: test, metrics: try MetricsLog.read(run.metrics)))
                }
            }
            return results
        }
    }
}
