import Foundation

/// The scores of one generated video against its ground truth. Frame 0 is given, so per-frame
/// scores cover frames 1..<T (index 0 of `psnrPerFrame` is frame 1).
public struct VideoScore: Sendable, Equatable {
    /// PSNR with range 1 of each frame (the lab's validation metric).
    public var psnrPerFrame: [Double]
    /// SSIM (Gaussian window 11, sigma 1.5, range 1) of each frame; nan for frames under 11x11.
    public var ssimPerFrame: [Double]
    /// Means over frames 1..<T.
    public var psnr: Double
    public var ssim: Double
    /// The lab's Kaggle score: mean PSNR on 0-255 values over frames 1...600.
    public var labScore: Double

    public init(psnrPerFrame: [Double], ssimPerFrame: [Double], psnr: Double, ssim: Double, labScore: Double) {
        self.psnrPerFrame = psnrPerFrame
        self.ssimPerFrame = ssimPerFrame
        self.psnr = psnr
        self.ssim = ssim
        self.labScore = labScore
    }

    /// Scores `prediction` against `truth`, both per-frame planar (3, H, W) arrays in [0, 1]
    /// (predictions are clipped to [0, 1] first, as the lab clips for scoring). Only the frames
    /// both have are compared. Frames are scored on all cores.
    public static func compute(prediction: [[Float]], truth: [[Float]], height: Int, width: Int) -> VideoScore {
        let count = min(prediction.count, truth.count)
        guard count >= 2 else { return VideoScore(psnrPerFrame: [], ssimPerFrame: [], psnr: .nan, ssim: .nan, labScore: .nan) }
        let clipped = clip(prediction.prefix(count))
        let psnr = perFrame(count) { Metrics.psnr(clipped[$0], truth[$0]) }
        let ssim = perFrame(count) { SSIM.ssim(clipped[$0], truth[$0], height: height, width: width) }
        return VideoScore(psnrPerFrame: psnr, ssimPerFrame: ssim, psnr: mean(psnr), ssim: mean(ssim),
                          labScore: Metrics.labScore(prediction: clipped, truth: Array(truth.prefix(count))))
    }

    /// The SSIM of frames 1..<T alone (what validation adds to its PSNR), clipped and scored as `compute` does.
    public static func ssimPerFrame(prediction: [[Float]], truth: [[Float]], height: Int, width: Int) -> [Double] {
        let count = min(prediction.count, truth.count)
        let clipped = clip(prediction.prefix(count))
        return perFrame(count) { SSIM.ssim(clipped[$0], truth[$0], height: height, width: width) }
    }

    /// Predictions clipped to [0, 1], NaN as 0.
    private static func clip(_ prediction: ArraySlice<[Float]>) -> [[Float]] {
        prediction.map { $0.map { min(1, max(0, $0.isNaN ? 0 : $0)) } }
    }

    /// `score(t)` for frames t = 1..<count, on all cores.
    private static func perFrame(_ count: Int, _ score: @escaping @Sendable (Int) -> Double) -> [Double] {
        guard count >= 2 else { return [] }
        let results = ConcurrentResults<Double>(count: count - 1)
        DispatchQueue.concurrentPerform(iterations: count - 1) { i in results[i] = score(i + 1) }
        return results.values
    }

    public static func mean(_ values: [Double]) -> Double {
        values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
    }
}

/// The scores of K samples of one video: each sample's, their mean, and the best of K (for each
/// score separately: the best sample by PSNR need not be the best by SSIM).
public struct SampledVideoScore: Sendable {
    public let samples: [VideoScore]

    public init(samples: [VideoScore]) {
        precondition(!samples.isEmpty, "SampledVideoScore needs at least one sample")
        self.samples = samples
    }

    public var meanPSNR: Double { VideoScore.mean(samples.map(\.psnr)) }
    public var meanSSIM: Double { VideoScore.mean(samples.map(\.ssim)) }
    public var meanLabScore: Double { VideoScore.mean(samples.map(\.labScore)) }
    public var bestPSNR: Double { Self.best(samples.map(\.psnr)) }
    public var bestSSIM: Double { Self.best(samples.map(\.ssim)) }
    public var bestLabScore: Double { Self.best(samples.map(\.labScore)) }

    /// Per-frame mean over samples (for plotting one curve per video).
    public var meanPSNRPerFrame: [Double] {
        let n = samples.map(\.psnrPerFrame.count).min() ?? 0
        return (0..<n).map { i in VideoScore.mean(samples.map { $0.psnrPerFrame[i] }) }
    }

    /// The largest value; nan only when every value is nan.
    static func best(_ values: [Double]) -> Double {
        values.filter { !$0.isNaN }.max() ?? .nan
    }
}

/// Results written by concurrent jobs, one slot each (each index is written by exactly one job).
final class ConcurrentResults<T>: @unchecked Sendable {
    private var slots: [T?]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    subscript(index: Int) -> T {
        get { lock.lock(); defer { lock.unlock() }; return slots[index]! }
        set { lock.lock(); slots[index] = newValue; lock.unlock() }
    }

    var values: [T] { lock.lock(); defer { lock.unlock() }; return slots.map { $0! } }
}
