import Foundation
import Torch

/// Where z_t comes from while a video is generated. The lab draws z ~ N(0, I)
/// (`StandardNormalLatent`); a learned prior p(z_t | x̂_{t-1}, pose_t) plugs in here by
/// implementing this protocol, without touching the rollout, the outputs or the scores.
public protocol LatentSampler {
    /// Recorded in `predictions/manifest.json` so a result says how it was generated.
    var name: String { get }

    /// z_t for every row of a batch, shape (B, N, H, W) (`model.noiseShape`).
    /// - Parameters:
    ///   - previous: x̂_{t-1}, (B, 3, H, W): the frame the step starts from.
    ///   - pose: the label of frame t, (B, 3, H, W).
    ///   - generators: one per row, so a row's noise does not depend on what shares its batch.
    func sample(model: LabModel, previous: Tensor, pose: Tensor, step: Int, generators: [RandomGenerator]) throws -> Tensor
}

/// The lab's test-time latent: z ~ N(0, I), ignoring the frame and the pose.
public struct StandardNormalLatent: LatentSampler {
    public init() {}
    public var name: String { "standard-normal" }

    public func sample(model: LabModel, previous: Tensor, pose: Tensor, step: Int, generators: [RandomGenerator]) throws -> Tensor {
        let shape = model.noiseShape(batch: 1, height: previous.shape[2], width: previous.shape[3])
        let rows = try generators.map { try Tensor.randn(shape, generator: $0) }
        return rows.count == 1 ? rows[0] : try Tensor.cat(rows, dim: 0)
    }
}

/// One video to generate: its given first frame and the pose label of every frame (label 0 is
/// unused, as in the lab), planar floats in [0, 1].
public struct PredictionInput: Sendable {
    public let firstFrame: [Float]
    /// length * 3 * height * width samples.
    public let labels: [Float]
    public let length: Int
    public let height: Int
    public let width: Int

    public init(firstFrame: [Float], labels: [Float], length: Int, height: Int, width: Int) {
        precondition(length >= 1 && firstFrame.count == 3 * height * width && labels.count == length * firstFrame.count,
                     "PredictionInput: \(firstFrame.count) first-frame and \(labels.count) label samples do not match \(length) frames of \(height)x\(width)")
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
    public let model: LabModel
    public var latent: any LatentSampler
    public var seed: UInt64
    /// Most rollouts in one batch (memory: about 15 MB of output per 630-frame 32x64 rollout, plus
    /// the activations of one step).
    public var maxBatch: Int

    public init(model: LabModel, latent: any LatentSampler = StandardNormalLatent(), seed: UInt64 = 0, maxBatch: Int = 16) {
        self.model = model
        self.latent = latent
        self.seed = seed
        self.maxBatch = max(1, maxBatch)
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
        let totalFrames = jobs.reduce(0) { $0 + videos[$1.video].length - 1 }
        var doneFrames = 0
        for group in groups {
            for start in stride(from: 0, to: group.count, by: maxBatch) {
                let batch = Array(group[start..<min(start + maxBatch, group.count)])
                let first = videos[batch[0].video]
                let (length, height, width) = (first.length, first.height, first.width)
                let frameShape = [1, 3, height, width]
                let firstFrames = try Tensor.cat(batch.map { try Tensor(videos[$0.video].firstFrame, shape: frameShape) }, dim: 0)
                // Samples of one video share its labels tensor: built once per video in the batch.
                var labelTensors: [Int: Tensor] = [:]
                for job in batch where labelTensors[job.video] == nil {
                    labelTensors[job.video] = try Tensor(videos[job.video].labels, shape: [1, length, 3, height, width])
                }
                let labels = try Tensor.cat(batch.map { labelTensors[$0.video]! }, dim: 0)
                let generators = try batch.map { try RandomGenerator(seed: Self.rowSeed(seed: seed, video: $0.video, sample: $0.sample)) }
                let base = doneFrames
                let output = try rollout(firstFrame: firstFrames, labels: labels, generators: generators) { t in
                    onProgress(base + t * batch.count, totalFrames)
                }
                doneFrames += batch.count * (length - 1)
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

    /// The lab's rollout (`LabModel.rollout`) with z from `latent`: frame 0 is given, each later
    /// frame comes from the previous prediction, the pose and z; non-finite outputs become 0.5.
    /// With `StandardNormalLatent` and one row it draws the same noise as `LabModel.rollout` given
    /// the same generator, so the two give the same video.
    /// - Returns: (B, T, 3, H, W), not clamped.
    public func rollout(firstFrame: Tensor, labels: Tensor, generators: [RandomGenerator],
                        onFrame: (Int) -> Void = { _ in }) throws -> Tensor {
        let shape = labels.shape
        guard shape.count == 5, firstFrame.shape == [shape[0], shape[2], shape[3], shape[4]], generators.count == shape[0] else {
            throw TorchError("rollout: first frame \(firstFrame.shape), labels \(shape) (B,T,3,H,W) and \(generators.count) generators do not match")
        }
        return try inferenceMode {
            var frames = [firstFrame]
            var previous = firstFrame
            for t in 1..<shape[1] {
                let pose = try labels.select(dim: 1, index: t)
                let z = try latent.sample(model: model, previous: previous, pose: pose, step: t, generators: generators)
                let next = try model.step(previous: previous, pose: pose, z: z).nanToNum(0.5, posinf: 0.5, neginf: 0.5)
                frames.append(next)
                previous = next
                onFrame(t)
            }
            return try Tensor.stack(frames, dim: 1)
        }
    }
}
