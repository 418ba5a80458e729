import ArgumentParser
import Foundation
import Torch
import VidPred
import VidPredData

/// The README's first command: trains the efficient preset for a few minutes (on the built-in
/// synthetic dance data unless --data names a dataset), generates the val and test videos, scores
/// them, writes the HTML report, and prints the val PSNR of the untrained model, of repeating the
/// first frame and of the trained model, with the report's path. Everything it makes is an ordinary
/// run folder: `predict`, `eval`, `report`, `train --resume` and TensorBoard work on it.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train, generate, score and report in about 4 minutes on 2 cores (the built-in synthetic dance data, or --data).",
        discussion: """
            The recipe is the pyramid preset's at half its widths (frame 16/32/64, pose 8/16/32), training windows that \
            start where their given frame is, and a constant learning rate 2e-3: at 2 cores it learns more in a few \
            minutes than the full preset, which needs about 10 minutes to pass it (docs/performance.md). \
            A previous demo run in --out is replaced.
            """)

    @Option(name: [.customLong("data"), .customLong("DR")], help: "Dataset in the lab layout (default: the built-in synthetic dance data).")
    var data: String?
    @Option(help: "Run folder (a previous demo run there is replaced).") var out = "runs/demo"
    @Option(help: "Training minutes (then the best checkpoint generates the videos).") var minutes = 3.5
    @OptionGroup var runtime: RuntimeOptions

    /// The demo's training settings: the pyramid recipe, made for a few minutes of 2 cores.
    static func recipe(minutes: Double) -> TrainConfig {
        var config = Preset.pyramid.recipe
        config.pyramidFrame = [16, 32, 64]
        config.pyramidPose = [8, 16, 32]
        // Window references: the model first learns small moves (the preset's random references
        // learn the large ones, but need about 10 minutes to pass repeating the first frame).
        config.referenceSampling = .window
        config.referenceFar = 0  // far given frames are drawn only among random ones
        config.lrSchedule = .constant
        config.lr = 2e-3
        // The augmentations and the weight average were chosen for the recipe's hour (README,
        // "Footage the model never saw"); the demo keeps its measured settings without them.
        config.augmentFlip = 0; config.augmentZoom = 0; config.augmentShift = 0; config.augmentShiftX = nil; config.augmentJitter = 0
        config.emaDecay = 0
        config.alignGiven = false  // likewise (0.21.0's recipe); unmeasured in the demo's minutes
        config.mirrorAverage = false  // the mirror is for models trained on mirrored clips (augment_flip)
        config.timeBudgetMinutes = minutes  // precision: the recipe's auto (bf16 where native)
        return config
    }

    func run() throws {
        runtime.apply()
        let interrupt = InterruptFlag()
        interrupt.install()
        do { try demo(interrupt) } catch { throw CommandLineHint.add(to: error) }
    }

    private func demo(_ interrupt: InterruptFlag) throws {
        let start = Date()
        guard minutes > 0 else { throw ValidationError("--minutes must be positive") }
        let device = try runtime.prepareDevice()
        let config = Self.recipe(minutes: minutes)
        let root: URL
        if let data {
            root = URL(fileURLWithPath: data)
            print("data: \(root.path)")
        } else {
            root = try BuiltInData.prepare(height: config.height, width: config.width, log: { print($0) })
            print("data: the built-in synthetic dance dataset, \(root.path)")
        }
        let run = RunFolder(path: out)
        try Self.replacePreviousDemo(run)
        let trainingData = try TrainingData.load(DataRecord.of(root), config: config)
        guard let validation = trainingData.validation.first else { throw ValidationError("\(root.path) has no val video: the demo scores one") }
        let trainer = try Trainer(config: config, data: trainingData, run: run, device: device, onEvent: TrainingProgress().handle)
        print("demo: \(config.preset.modelSummary(config)), \(trainer.model.parameterCount) parameters; \(trainingData.trainFrameCount) training frames; precision \(trainer.config.precision.rawValue); \(minutes) minutes of training")
        let baseline = try Metrics.repeatFirstFramePSNR(validation.frames)
        let before = try trainer.validate(afterEpochs: 0)
        let reason = try trainer.run(shouldStop: { interrupt.isRaised })
        print("stopped: \(reason)")
        if reason == .interrupted { throw interrupt.exitCode }
        let after = trainer.progress

        print("\n== generating the val and test videos with the best checkpoint (epoch \(after.bestEpoch))")
        let predict = try Predict.parse(["--run", run.path, "--device", runtime.device])
        try predict.run()
        print("\n== scoring them")
        let eval = try Eval.parse(["--run", run.path])
        try eval.run()
        print("\n== the report")
        let report = try Report.parse(["--run", run.path])
        try report.run()

        let page = run.url.appendingPathComponent("report/index.html")
        print(String(format: """

            val PSNR over the whole val video (%d frames generated from its first frame and the poses):
              untrained model        %6.2f dB
              repeat first frame     %6.2f dB
              trained (best epoch)   %6.2f dB   (%+.2f dB over repeating the first frame)
            open the report: %@
            GIFs (label | prediction | truth): %@/predictions/<split>/<video>/side_by_side.gif
            TensorBoard: tensorboard --logdir %@
            demo done in %.1f minutes
            """, validation.count, before.valPSNR, baseline, after.bestPSNR, after.bestPSNR - baseline, page.path, run.path,
            run.url.deletingLastPathComponent().path, Date().timeIntervalSince(start) / 60))
    }

    /// Only a folder that holds a run (or nothing) is replaced: the demo never deletes other files.
    static func replacePreviousDemo(_ run: RunFolder) throws {
        let fm = FileManager.default
        guard fm.fileExists(atPath: run.path) else { return }
        let contents = (try? fm.contentsOfDirectory(atPath: run.path)) ?? []
        guard contents.isEmpty || fm.fileExists(atPath: run.config.path) || fm.fileExists(atPath: run.manifest.path) else {
            throw ValidationError("\(run.path) exists and is not a run folder: choose another --out, or move it away")
        }
        print("replacing the previous demo run in \(run.path)")
        try fm.removeItem(at: run.url)
    }
}
