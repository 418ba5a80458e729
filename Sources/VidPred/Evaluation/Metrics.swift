import Foundation
import VidPredData

/// Frame-quality scores on flat (3, H, W) float frames in [0, 1].
public enum Metrics {
    /// PSNR = 10 log10(range^2 / MSE) over one frame (inputs not clipped). Identical frames give +inf.
    public static func psnr(_ prediction: [Float], _ target: [Float], range: Double = 1) -> Double {
        precondition(prediction.count == target.count && !target.isEmpty)
        var sum = 0.0
        for i in target.indices {
            let d = Double(prediction[i]) - Double(target[i])
            sum += d * d
        }
        let mse = sum / Double(target.count)
        return 10 * log10(range * range / mse)
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
}
