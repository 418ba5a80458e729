import ArgumentParser
import Foundation
import Torch
import VidPred
import VidPredData
import VidPredReport

extension Bench {
    /// Issue 7's quality benchmark: each preset trained for the same wall-clock budget on the real
    /// sample, scored on the val video and test video 0 at regular snapshots (a PSNR-vs-compute
    /// curve) and, at the end, over K samples.
    struct Quality: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train each preset for a fixed time on ../shared/data/edn-s4 and print lab scores (val, test/0) against training minutes, plus mean and best of K samples.",
            discussion: """
                Recipes: lab = the lab's network with the strongest lab recipe measured here (teacher forcing off, \
                KL weight 1 without annealing, constant lr 1e-3, bf16); pyramid = the pyramid preset's defaults \
                (README, "Presets"). Each run goes to OUT/<preset> (a normal run folder: report, predict and eval \
                work on it); a finished run is scored again without retraining. Give the machine to the benchmark: \
                on 2 cores another busy process slows training 10-40x.
                """)
        @Option(help: "Dataset in the lab layout with test_gt (default: ../shared/data/edn-s4).") var data = "../shared/data/edn-s4"
        @Option(help: "Presets, comma-separated: lab, pyramid.") var presets = "lab,pyramid"
        @Option(help: "Training minutes per preset.") var minutes = 60.0
        @Option(help: "Score a snapshot every this many minutes.") var snapshotEvery = 10.0
        @Option(help: "Samples per video for the final mean / best-of-K.") var samples = 4
        @Option(help: "Output folder.") var out = "runs/quality"
        @OptionGroup var runtime: RuntimeOptions

        static func recipe(_ preset: Preset) throws -> TrainConfig {
            var c = preset.recipe
            switch preset {
            case .lab:
                c.tfr = 0; c.klAnnealType = .none; c.lrSchedule = .constant; c.precision = .bf16
                c.valEvery = 3; c.perSave = 0
                c.epochs = 1000  // the time budget ends the run
            case .pyramid:
                c.valEvery = 2  // its cosine schedule is planned over its 40 epochs (about 60 min here)
            }
            try c.validate()
            return c
        }

        func run() throws {
            runtime.apply()
            let device = try runtime.prepareDevice()
            let root = URL(fileURLWithPath: data)
            guard FileManager.default.fileExists(atPath: root.appendingPathComponent("test/test_gt").path) else {
                throw ValidationError("\(root.path) has no test/test_gt: the quality benchmark needs ground truth for test videos (../shared/data/edn-s4 has it)")
            }
            let chosen = try presets.split(separator: ",").map { name in
                try Preset(configValue: .text(name.trimmingCharacters(in: .whitespaces)))
            }
            var points: [QualityBenchmark.Point] = []
            for preset in chosen {
                var config = try Self.recipe(preset)
                config.timeBudgetMinutes = minutes
                config.snapshotEveryMinutes = snapshotEvery
                let folder = URL(fileURLWithPath: out).appendingPathComponent(preset.rawValue)
                let run = RunFolder(folder)
                if run.holdsRun {
                    print("\(preset): \(folder.path) already holds a run; scoring it (delete the folder to retrain)")
                } else {
                    print("\(preset): training for \(minutes) minutes into \(folder.path)")
                    let trainingData = try TrainingData.load(root: root, config: config)
                    let progress = TrainingProgress()
                    let trainer = try Trainer(config: config, data: trainingData, run: run, device: device, onEvent: progress.handle)
                    let interrupt = InterruptFlag()
                    interrupt.install()
                    print("stopped: \(try trainer.run(shouldStop: { interrupt.isRaised }))")
                    if interrupt.isRaised { throw interrupt.exitCode }
                }
                points += try score(run, root: root, device: device)
            }
            print()
            print(QualityBenchmark.table(points))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let url = URL(fileURLWithPath: out).appendingPathComponent("quality.json")
            try AtomicFile.write(try encoder.encode(points), to: url)
            print("wrote \(url.path)")
        }

        /// Scores every minute snapshot (one sample, the run's latent), then the best checkpoint
        /// with K samples.
        func score(_ run: RunFolder, root: URL, device: Device) throws -> [QualityBenchmark.Point] {
            let snapshots = try run.snapshots()
            let first = try TrainedModel.load(checkpoint: snapshots.first?.url ?? run.lastCheckpoint)
            let dataset = try LabDataset.load(root: root, options: LabDatasetOptions(
                height: first.config.height, width: first.config.width, splits: [.val, .test], trainVideoLength: first.config.trainVideoLength))
            let videos = dataset.val + dataset.test.prefix(1)
            var points: [QualityBenchmark.Point] = []
            func point(_ trained: TrainedModel, minutes: Double, latent: LatentSource?, samples: Int) throws -> QualityBenchmark.Point {
                let used = latent ?? trained.config.latent ?? trained.model.defaultLatent
                let scores = try QualityBenchmark.score(model: trained.model, latent: used, videos: videos, samples: samples, device: device)
                let p = QualityBenchmark.Point(preset: trained.config.preset, minutes: minutes, checkpoint: trained.checkpoint.lastPathComponent,
                                               latent: used, samples: samples,
                                               meanLabScore: scores.mapValues(\.meanLabScore), bestLabScore: scores.mapValues(\.bestLabScore))
                print(QualityBenchmark.table([p]).split(separator: "\n").last.map(String.init) ?? "")
                fflush(nil)
                return p
            }
            for snapshot in snapshots {
                points.append(try point(TrainedModel.load(checkpoint: snapshot.url), minutes: snapshot.minutes, latent: nil, samples: 1))
            }
            let best = try TrainedModel.load(run: run)
            let minutes = try MetricsLog.read(run.metrics).trainingSeconds / 60
            points.append(try point(best, minutes: minutes, latent: nil, samples: 1))
            let sampling: LatentSource = best.model.hasLearnedPrior ? .learnedPrior : .standardNormal
            if samples > 1 { points.append(try point(best, minutes: minutes, latent: sampling, samples: samples)) }
            return points
        }
    }
}
