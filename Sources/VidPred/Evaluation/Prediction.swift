import Foundation
import Torch

/// One video to generate: its given first frame and the pose label of every frame (label 0 is
/// unused, as in the lab), planar floats in [0, 1].
public struct PredictionInput: Sendable {
    public let firstFrame: [Float]
    /// length * 3 * height * width samples.
    public let labels: [Float]
    public let length: Int
    public let height: Int
    public let width: Int

    public init(firstFrame: [Float], labels: [Float], length: Int, height: Int, width: Int) throws {
        guard length >= 1, height >= 1, width >= 1, firstFrame.count == 3 * height * width, labels.count == length * firstFrame.count else {
            throw TorchError("prediction input: \(firstFrame.count) first-frame and \(labels.count) label samples do not match \(length) frame(s) of \(height)x\(width)")
        }
        self.firstFrame = firstFrame
        self.labels = labels
        self.length = length
        self.height = height
        self.width = width
    }
}

/// One generated video: sample `sample` of input `video`, all `length` frames (frame 0 = the given
/// frame), planar (T, 3, H, W) floats, clamped to [0, 1] as every output and score uses them.
public struct PredictedSample: Sendable {
    public let video: Int
    public let sample: Int
    public let frames: [Float]
    public let length: Int
    public let height: Int
    public let width: Int

    public var frameSize: Int { 3 * height * width }

    /// Frame t as planar (3, H, W) samples.
    public func frame(_ t: Int) -> [Float] { Array(frames[(t * frameSize)..<((t + 1) * frameSize)]) }
}

/// Generates whole videos autoregressively, several videos and several samples per video in one
/// batch: the rollout's cost per step barely grows with the batch at 32x64, so K samples of five
/// test videos cost little more than one.
///
/// Sample k of video v always draws its noise from its own generator seeded by (seed, v, k), so
/// it is the same whatever batch it shares and however many samples are asked for.
public struct Predictor {
    public let model: any VideoModel
    /// Where z comes from (recorded in `predictions/manifest.json`).
    public var latent: LatentSource
    public var seed: UInt64
    /// Most rollouts in one batch (memory: about 15 MB of output per 630-frame 32x64 rollout, plus
    /// the activations of one step); nil: the model's `preferredGenerationBatch`, the fastest.
    public var maxBatch: Int?
    /// Where the model lives and the rollouts run (inputs are moved there, frames read back).
    public var device: Device
    /// Each video is also generated mirrored left to right (first frame and labels flipped, the
    /// labels' left and right colours swapped as `augment_flip` trains them), and the two rollouts,
    /// the mirrored one flipped back, are averaged frame by frame: twice the rows, one averaged
    /// video (issue 19: the test-time mirror; the setting `mirror_average`). Progress counts both.
    public var mirrorAverage: Bool

    public init(model: any VideoModel, latent: LatentSource? = nil, seed: UInt64 = 0, maxBatch: Int? = nil, device: Device = .cpu,
                mirrorAverage: Bool = false) {
        self.model = model
        self.latent = latent ?? model.defaultLatent
        self.seed = seed
        self.maxBatch = maxBatch.map { max(1, $0) }
        self.device = device
        self.mirrorAverage = mirrorAverage
    }

    /// Rollouts per batch: `maxBatch`, else the model's preference at the calling thread's
    /// precision on a CPU; on a GPU, which a few 32x64 rollouts leave mostly idle, 64 (a starting
    /// point, not yet measured on a GPU).
    public var batchSize: Int {
        if let maxBatch { return maxBatch }
        return device == .cpu ? model.preferredGenerationBatch(bfloat16: Runtime.isAutocastEnabled(on: device)) : 64
    }

    /// The seed of sample `sample` of video `video`'s noise generator (SplitMix64 finaliser over
    /// the three numbers, so nearby indices give unrelated streams).
    public static func rowSeed(seed: UInt64, video: Int, sample: Int) -> UInt64 {
        var z = seed &+ 0x9E37_79B9_7F4A_7C15 &* (UInt64(video) &* 0x1_0000 &+ UInt64(sample) &+ 1)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Generates `samples` rollouts of every video. Rollouts of videos with the same length and
    /// size share batches, video by video, so all samples of a video are delivered close together.
    /// - Parameters:
    ///   - onProgress: (frames generated, frames in all) after every step of every batch.
    ///   - onSample: each finished rollout, in video-then-sample order within a batch.
    public func predict(_ videos: [PredictionInput], samples: Int,
                        onProgress: (Int, Int) -> Void = { _, _ in },
                        onSample: (PredictedSample) throws -> Void) throws {
        guard samples >= 1 else { throw TorchError("samples must be at least 1 (got \(samples))") }
        model.eval()
        let jobs = videos.indices.flatMap { v in (0..<samples).map { (video: v, sample: $0) } }
        // Group by (length, height, width), keeping the videos' order within a group.
        var groups: [[(video: Int, sample: Int)]] = []
        var groupOf: [[Int]: Int] = [:]
        for job in jobs {
            let v = videos[job.video]
            let key = [v.length, v.height, v.width]
            if let g = groupOf[key] { groups[g].append(job) } else { groupOf[key] = groups.count; groups.append([job]) }
        }
        let totalFrames = jobs.reduce(0) { $0 + videos[$1.video].length - 1 } * (mirrorAverage ? 2 : 1)
        var doneFrames = 0
        let batchSize = self.batchSize
        for group in groups {
            for start in stride(from: 0, to: group.count, by: batchSize) {
                let batch = Array(group[start..<min(start + batchSize, group.count)])
                let first = videos[batch[0].video]
                let (length, height, width) = (first.length, first.height, first.width)
                let frameShape = [1, 3, height, width]
                let firstFrames = try Tensor.cat(batch.map { try Tensor(videos[$0.video].firstFrame, shape: frameShape) }, dim: 0).to(device)
                // Samples of one video share its labels tensor: built once per video in the batch.
                var labelTensors: [Int: Tensor] = [:]
                for job in batch where labelTensors[job.video] == nil {
                    labelTensors[job.video] = try Tensor(videos[job.video].labels, shape: [1, length, 3, height, width]).to(device)
                }
                let labels = try Tensor.cat(batch.map { labelTensors[$0.video]! }, dim: 0)
                func rowGenerators() throws -> [RandomGenerator] {
                    try batch.map { try RandomGenerator(seed: Self.rowSeed(seed: seed, video: $0.video, sample: $0.sample)) }
                }
                var generators = try rowGenerators()
                var (inputFrames, inputLabels) = (firstFrames, labels)
                if mirrorAverage {
                    // The mirrored rollouts join the batch (more rows cost little per step), with the same noise.
                    var mirroredLabels: [Int: Tensor] = [:]
                    for job in batch where mirroredLabels[job.video] == nil {
                        let swapped = PoseLabel.mirroredColours(videos[job.video].labels, height: height, width: width)
                        mirroredLabels[job.video] = try Tensor(swapped, shape: [1, length, 3, height, width]).flipped([4]).to(device)
                    }
                    inputFrames = try Tensor.cat([firstFrames, firstFrames.flipped([3])], dim: 0)
                    inputLabels = try Tensor.cat([labels] + batch.map { mirroredLabels[$0.video]! }, dim: 0)
                    generators += try rowGenerators()
                }
                let base = doneFrames
                var output = try rollout(firstFrame: inputFrames, labels: inputLabels, generators: generators) { frames in
                    onProgress(base + frames, totalFrames)
                }
                if mirrorAverage {
                    let count = batch.count
                    output = try (output.narrow(dim: 0, start: 0, length: count) + output.narrow(dim: 0, start: count, length: count).flipped([4])) * 0.5
                }
                doneFrames += generators.count * (length - 1)
                let values = try output.clamped(0, 1).floats()
                let perRollout = length * 3 * height * width
                for (row, job) in batch.enumerated() {
                    try onSample(PredictedSample(video: job.video, sample: job.sample,
                                                 frames: Array(values[(row * perRollout)..<((row + 1) * perRollout)]),
                                                 length: length, height: height, width: width))
                }
            }
        }
    }

    /// The model's rollout with z made from each row's own generator: frame 0 is given, each later
    /// frame comes from the previous prediction, the pose and z. With one row it draws the same
    /// noise as `model.rollout(generator:)` given the same generator, so the two give the same video.
    /// Rows run `batchSize` at a time; each row's noise comes from its own generator, so the
    /// split changes no value beyond float rounding.
    /// - Parameter onFrames: frames generated so far, all rows together (after every step).
    /// - Returns: (B, T, 3, H, W), not clamped.
    public func rollout(firstFrame: Tensor, labels: Tensor, generators: [RandomGenerator],
                        onFrames: (Int) -> Void = { _ in }) throws -> Tensor {
        let shape = labels.shape
        guard shape.count == 5, firstFrame.shape == [shape[0], shape[2], shape[3], shape[4]], generators.count == shape[0] else {
            throw TorchError("rollout: first frame \(firstFrame.shape), labels \(shape) (B,T,3,H,W) and \(generators.count) generators do not match")
        }
        let rowShape = model.noiseShape(batch: 1, height: shape[3], width: shape[4])
        let (rows, steps, batchSize) = (shape[0], shape[1] - 1, self.batchSize)
        var parts: [Tensor] = []
        for start in stride(from: 0, to: rows, by: batchSize) {
            let count = min(batchSize, rows - start)
            let batchGenerators = generators[start..<(start + count)]
            parts.append(try model.generate(firstFrame: firstFrame.narrow(dim: 0, start: start, length: count),
                                            labels: labels.narrow(dim: 0, start: start, length: count), latent: latent, noise: { _ in
                // Drawn on the CPU (the same numbers on every device), moved once per step.
                let noise = try batchGenerators.map { try Tensor.randn(rowShape, generator: $0) }
                return try (noise.count == 1 ? noise[0] : try Tensor.cat(noise, dim: 0)).to(firstFrame.device)
            }, onFrame: { t in onFrames(start * steps + t * count) }))
        }
        return parts.count == 1 ? parts[0] : try Tensor.cat(parts, dim: 0)
    }
}
