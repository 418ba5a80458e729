import Foundation
import Torch
import VidPredData

/// Frame-quality scores. PSNR is defined once (`psnr(mse:range:)`); every score in VidPred
/// (validation, evaluation, the lab score, the demo's baselines) goes through it.
public enum Metrics {
    /// PSNR = 10 log10(range^2 / MSE). A zero MSE gives +inf.
    public static func psnr(mse: Double, range: Double = 1) -> Double {
        10 * log10(range * range / mse)
    }

    /// PSNR of one frame, flat (3, H, W) floats (inputs not clipped); nan for empty or mismatched frames.
    public static func psnr(_ prediction: [Float], _ target: [Float], range: Double = 1) -> Double {
        guard prediction.count == target.count, !target.isEmpty else { return .nan }
        var sum = 0.0
        for i in target.indices {
            let d = Double(prediction[i]) - Double(target[i])
            sum += d * d
        }
        return psnr(mse: sum / Double(target.count), range: range)
    }

    /// The mean squared error of each frame of two (T, 3, H, W) tensors.
    public static func frameMSE(_ prediction: Tensor, _ target: Tensor) throws -> [Double] {
        try (prediction - target).square().mean(dims: [1, 2, 3]).doubles()
    }

    /// The lab's Kaggle PSNR of one frame: both images as rint(x*255) clipped to [0, 255], range 255.
    public static func labPSNR(_ prediction: [Float], _ target: [Float]) -> Double {
        psnr(prediction.map(quantized), target.map(quantized), range: 255)
    }

    /// rint(x * 255) clipped to [0, 255], as the lab's submission.csv stores pixels.
    public static func quantized(_ value: Float) -> Float {
        Float(RGBImage.quantize(value))
    }

    /// The lab's score of one video: mean lab PSNR over frames 1...600 (frame 0 is given, later
    /// frames are not scored). `frames` and `truth` are per-frame arrays.
    public static func labScore(prediction frames: [[Float]], truth: [[Float]]) -> Double {
        let last = min(600, min(frames.count, truth.count) - 1)
        guard last >= 1 else { return .nan }
        let scores = (1...last).map { labPSNR(frames[$0], truth[$0]) }
        return scores.reduce(0, +) / Double(scores.count)
    }

    /// Mean PSNR of repeating frame 0 for frames 1..<T of a (T, 3, H, W) video: the trivial
    /// baseline every score is read against.
    public static func repeatFirstFramePSNR(_ frames: Tensor) throws -> Double {
        let first = try frames.narrow(dim: 0, start: 0, length: 1)
        let psnr = try frameMSE(frames, first.expanded(frames.shape)).dropFirst().map { Self.psnr(mse: $0) }
        return psnr.reduce(0, +) / Double(max(psnr.count, 1))
    }
}
