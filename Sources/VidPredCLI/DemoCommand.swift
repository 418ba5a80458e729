import ArgumentParser
import Foundation
import Torch
import VidPred
import VidPredData

/// The README's main job: generates the built-in synthetic dance data (first use), trains a
/// narrowed lab model on it for a few minutes, and shows the val PSNR before and after training
/// next to the trivial baseline (repeat the first frame).
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A short training run on the built-in synthetic dance data (a few minutes on 2 cores).")

    @Option(help: "Run folder.") var out = "runs/demo"
    @Option(help: "Training minutes.") var minutes = 4.0
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        runtime.apply()
        // The lab's architecture at a quarter of its widths (F=32, L=16, N=12, D=48): the full
        // model needs about 6 s per iteration on 2 cores; this one trains visibly in minutes.
        var config = TrainConfig()
        config.frameDim = 32; config.labelDim = 16; config.noiseDim = 12; config.decoderDim = 48
        config.tfr = 1.0; config.tfrSde = 2; config.tfrDStep = 0.25  // teacher forcing, then off from epoch 5
        config.klAnnealType = .monotonic; config.klAnnealRatio = 0.5
        config.lrSchedule = .constant; config.lr = 2e-3
        config.trainVideoLength = 8
        config.valVideoLength = 120
        config.epochs = 12
        config.perSave = 0
        config.precision = Runtime.cpuHasBFloat16 ? .bf16 : .fp32
        config.timeBudgetMinutes = minutes
        let root = try BuiltInData.prepare(height: config.height, width: config.width, log: { print($0) })
        print("data: the built-in synthetic dance dataset, \(root.path)")
        let data = try TrainingData.load(root: root, config: config)
        let run = RunFolder(path: out)
        if FileManager.default.fileExists(atPath: run.path) { try FileManager.default.removeItem(at: run.url) }
        let trainer = try Trainer(config: config, data: data, run: run, onEvent: TrainingProgress().handle)
        print("demo: \(trainer.model.parameterCount) parameters, \(data.trainFrameCount) training frames, precision \(config.precision.rawValue), budget \(minutes) min")
        let baseline = try Metrics.repeatFirstFramePSNR(data.validation[0].prefix(config.valVideoLength).frames)
        let before = try trainer.validate(afterEpochs: 0)
        let reason = try trainer.run()
        let after = trainer.progress.bestPSNR
        print("stopped: \(reason)")
        print(String(format: """

            val PSNR over the first %d frames (autoregressive, z ~ N(0, I)):
              untrained model        %6.2f dB
              repeat first frame     %6.2f dB
              trained (best epoch)   %6.2f dB   (+%.2f dB over untrained)
            run folder: %@ (metrics.jsonl, checkpoints/, TensorBoard events: tensorboard --logdir runs)
            """, config.valVideoLength, before.valPSNR, baseline, after, after - before.valPSNR, run.path))
    }
}
