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
        config.lrSchedule = "constant"; config.lr = 2e-3
        config.trainVideoLength = 8
        config.valVideoLength = 120
        config.epochs = 12
        config.perSave = 0
        config.precision = Runtime.cpuHasBFloat16 ? "bf16" : "fp32"
        config.timeBudgetMinutes = minutes
        let root = try DataLocation.resolve(nil)
        let data = try TrainingData.load(root: root, config: config)
        let folder = URL(fileURLWithPath: out)
        if FileManager.default.fileExists(atPath: folder.path) { try FileManager.default.removeItem(at: folder) }
        let progress = TrainingProgress()
        let trainer = try Trainer(config: config, data: data, runFolder: folder, onEvent: progress.handle)
        print("demo: \(trainer.model.parameterCount) parameters, \(data.trainFrameCount) training frames, precision \(config.precision), budget \(minutes) min")
        let baseline = try Self.repeatFirstFramePSNR(data.validation[0], frames: config.valVideoLength)
        print("before training:")
        let before = try trainer.validate(epoch: -1)
        let reason = try trainer.run()
        let after = trainer.progress.bestPSNR
        print("stopped: \(reason)")
        print(String(format: """

            val PSNR over the first %d frames (autoregressive, z ~ N(0, I)):
              untrained model        %6.2f dB
              repeat first frame     %6.2f dB
              trained (best epoch)   %6.2f dB   (+%.2f dB over untrained)
            run folder: %@ (metrics.jsonl, checkpoints/)
            """, config.valVideoLength, before.valPSNR, baseline, after, after - before.valPSNR, folder.path))
    }

    /// Mean PSNR of repeating frame 0 for frames 1..n-1 (range 1): the trivial baseline.
    static func repeatFirstFramePSNR(_ video: VideoTensors, frames: Int) throws -> Double {
        let clip = try video.prefix(frames)
        let first = try clip.frames.narrow(dim: 0, start: 0, length: 1)
        let errors = try (clip.frames - first).square().mean(dims: [1, 2, 3]).doubles().dropFirst()
        return errors.map { 10 * log10(1 / $0) }.reduce(0, +) / Double(errors.count)
    }
}
