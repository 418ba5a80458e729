import Torch

/// The latent prior a model is trained with.
public enum Prior: String, SettingChoice, Codable {
    /// KL to N(0, I) in training, z ~ N(0, I) at test time (the lab).
    case standard
    /// A learned prior p(z_t | x_{t-1}, pose_t) trained with KL(posterior || prior) (SVG-LP).
    case learned
}

/// Where z_t comes from while a video is generated.
public enum LatentSource: String, SettingChoice, Codable {
    /// z ~ N(0, I): the lab's test-time behaviour.
    case standardNormal = "standard-normal"
    /// z ~ p(z_t | x̂_{t-1}, pose_t), the learned prior (models trained with `prior: learned`).
    case learnedPrior = "learned-prior"
    /// z = the learned prior's mean: one deterministic, most likely video (best for PSNR).
    case priorMean = "prior-mean"

    public var needsLearnedPrior: Bool { self != .standardNormal }
}

/// An encoder's output for a batch of frames (or poses): one feature map per scale, rows in the
/// batch's order (the lab model has one scale, the pyramid three).
public struct FeatureMaps {
    public var scales: [Tensor]
    /// Poses' maps of a model that aligns the given frame with the dancer (`align_given`): per row,
    /// where the pose puts the dancer sideways (`VideoTensors.dancerPlaces`); nil otherwise.
    public var places: Tensor?

    public init(_ scales: [Tensor], places: Tensor? = nil) { self.scales = scales; self.places = places }

    /// Rows [start, start + count) of every scale.
    public func rows(_ start: Int, _ count: Int) throws -> FeatureMaps {
        FeatureMaps(try scales.map { try $0.narrow(dim: 0, start: start, length: count) }, places: try places?.narrow(dim: 0, start: start, length: count))
    }

    /// Step `t`'s rows of time-major maps (`steps` blocks of `batch` rows).
    public func step(_ t: Int, batch: Int) throws -> FeatureMaps { try rows(t * batch, batch) }

    /// The maps repeated for `steps` time steps, time-major.
    func repeated(steps: Int) throws -> FeatureMaps {
        FeatureMaps(try scales.map { try repeatRows($0, steps: steps) }, places: try places.map { try repeatRows($0, steps: steps) })
    }

    /// The dtype the network computes in (bfloat16 under autocast).
    var dtype: DType { scales[scales.count - 1].dtype }
}

/// What a model keeps of a video's given frame to condition every step on; nil parts are unused.
public struct GivenFrame {
    public var pixels: Tensor?
    public var features: FeatureMaps?
    /// Where its pose label puts the dancer sideways (`VideoTensors.dancerPlaces`), for `align_given`.
    public var place: Tensor?
    /// Its pose label's features at the pyramid's lowest scale, for `align_flow`.
    public var pose: Tensor?

    public init(pixels: Tensor?, features: FeatureMaps?, place: Tensor? = nil, pose: Tensor? = nil) {
        self.pixels = pixels
        self.features = features
        self.place = place
        self.pose = pose
    }

    func repeated(steps: Int) throws -> GivenFrame {
        GivenFrame(pixels: try pixels.map { try repeatRows($0, steps: steps) }, features: try features?.repeated(steps: steps),
                   place: try place.map { try repeatRows($0, steps: steps) }, pose: try pose.map { try repeatRows($0, steps: steps) })
    }

    /// Rows [start, start + count) of every part.
    func rows(_ start: Int, _ count: Int) throws -> GivenFrame {
        GivenFrame(pixels: try pixels?.narrow(dim: 0, start: start, length: count), features: try features?.rows(start, count),
                   place: try place?.narrow(dim: 0, start: start, length: count), pose: try pose?.narrow(dim: 0, start: start, length: count))
    }
}

/// Frames of the clips' videos that training treats as their given frames in place of each
/// clip's first (`reference_sampling random`), with their pose labels.
public struct ReferenceFrames {
    /// (B, 3, H, W).
    public var frames: Tensor
    /// (B, 3, H, W), the frames' pose labels.
    public var labels: Tensor

    public init(frames: Tensor, labels: Tensor) { self.frames = frames; self.labels = labels }

    /// Rows `start ..< start + count` (this process's share of a batch).
    public func rows(_ start: Int, _ count: Int) throws -> ReferenceFrames {
        ReferenceFrames(frames: try frames.narrow(dim: 0, start: start, length: count),
                        labels: try labels.narrow(dim: 0, start: start, length: count))
    }
}

/// A conditional VAE that predicts a video frame by frame. A model supplies the per-step networks
/// (encode frames, encode poses, posterior, learned prior, decode); the clip loss
/// (`ClipLoss.swift`) and generation (`Generation.swift`) are written once over them, and a model
/// may replace either with a fast path of its own. `LabModel` is the lab's network,
/// `PyramidModel` the efficient preset.
public protocol VideoModel: Module {
    var preset: Preset { get }
    /// Whether the model has a learned prior p(z_t | x_{t-1}, pose_t); without one the KL term is
    /// KL(q || N(0, I)) and generation draws z ~ N(0, I).
    var hasLearnedPrior: Bool { get }
    /// Whether the model conditions on the video's given frame beyond step 1 (then training can
    /// pass another frame of the same video as `reference`, see `reference_sampling`).
    var usesReferenceFrame: Bool { get }
    /// Whether step t takes the model's own prediction x̂_{t-1} as its previous frame (the lab's
    /// loop); if not, every step takes the given frame, so steps are independent.
    var conditionsOnPrediction: Bool { get }
    /// Shape of z (and of the noise eps it is made from) for a batch of frames of the given size.
    func noiseShape(batch: Int, height: Int, width: Int) -> [Int]
    /// Videos to generate per batch when the user does not say (`Predictor.maxBatch`): on a CPU a
    /// larger batch is slower per video once a step's activations outgrow the caches, so each model
    /// gives the batch that ran fastest, in float32 or under bfloat16 autocast.
    func preferredGenerationBatch(bfloat16: Bool) -> Int
    /// Throws when frames of this size cannot go through the network.
    func checkFrameSize(height: Int, width: Int) throws

    // MARK: the per-step networks

    /// Frames (N, 3, H, W) -> their features.
    func encodeFrames(_ frames: Tensor) throws -> FeatureMaps
    /// Pose images of `steps` time steps stacked time-major (steps * B rows) -> their features, in
    /// one call (a BatchNorm keeps statistics per step, as `steps` separate calls would).
    func encodePoses(_ poses: Tensor, steps: Int) throws -> FeatureMaps
    /// q(z_t | x_t, pose_t).
    func posterior(target: FeatureMaps, pose: FeatureMaps) throws -> Posterior
    /// p(z_t | x_{t-1}, pose_t); throws when the model has none.
    func learnedPrior(previous: FeatureMaps, pose: FeatureMaps) throws -> Posterior
    /// What the model keeps of the given frame (its pixels, features and pose label) for every step (nil: nothing).
    func givenFrame(pixels: Tensor, features: FeatureMaps, label: Tensor) throws -> GivenFrame?
    /// x̂_t (float32) from the previous frame (its pixels and features), the given frame, pose t and z.
    func decode(previousFrame: Tensor, previous: FeatureMaps, given: GivenFrame?, pose: FeatureMaps, z: Tensor) throws -> Tensor
    /// Time steps the decoder runs per call when teacher forcing lets steps run together (nil: all).
    var decoderStepsPerCall: Int? { get }

    // MARK: written once (ClipLoss.swift, Generation.swift)

    /// The training loss of a batch of clips (B, T, 3, H, W), as the lab defines it.
    /// - Parameters:
    ///   - noise: optional fixed eps for step t (tests); else drawn from `generator`, step by step
    ///     in order, so every implementation draws the same noise.
    ///   - reference: the frames (and labels) to treat as the videos' given frames (models with
    ///     `usesReferenceFrame`); nil = each clip's first frame.
    ///   - shard: where these B clips sit in a job's global batch (nil: they are the batch); the
    ///     noise is drawn for the global batch and this shard's rows are kept.
    func sequenceLoss(frames: Tensor, labels: Tensor, teacherForcing: Bool, beta: Double,
                      generator: RandomGenerator?, noise: ((Int) throws -> Tensor)?, reference: ReferenceFrames?,
                      shard: BatchShard?) throws -> SequenceLoss

    /// Generates whole videos: frame 0 is given (B, 3, H, W), every later frame comes from the
    /// previous prediction, pose t (labels: (B, T, 3, H, W)) and z_t made from `noise(t)` as
    /// `latent` says. Non-finite outputs become 0.5 (as the lab did). Returns (B, T, 3, H, W), not
    /// clamped. Runs in inference mode.
    func generate(firstFrame: Tensor, labels: Tensor, latent: LatentSource,
                  noise: (Int) throws -> Tensor, onFrame: (Int) -> Void) throws -> Tensor
}

extension VideoModel {
    public func checkFrameSize(height: Int, width: Int) throws {}

    public var decoderStepsPerCall: Int? { nil }

    public var conditionsOnPrediction: Bool { true }

    /// The latent generation uses unless told otherwise.
    public var defaultLatent: LatentSource { hasLearnedPrior ? .learnedPrior : .standardNormal }

    /// Checks a latent source against the model (a learned prior needs a model trained with one).
    public func check(_ latent: LatentSource) throws {
        if latent.needsLearnedPrior && !hasLearnedPrior {
            throw ConfigError("latent \(latent.rawValue) needs a model trained with a learned prior (prior: learned); this \(preset.rawValue) model has none: use standard-normal")
        }
    }

    /// The KL term of step(s) whose posterior is `posterior`: to the learned prior given the
    /// previous frame and the pose, or to N(0, I).
    func klTerm(_ posterior: Posterior, previous: FeatureMaps, pose: FeatureMaps) throws -> Tensor {
        hasLearnedPrior ? try posterior.kl(to: learnedPrior(previous: previous, pose: pose).float32()) : try posterior.klToStandardNormal()
    }
}

/// Lays out (B, T, ...) clips time-major, (T * B, ...), so that all time steps go through a
/// network in one call and rows t*B ..< (t+1)*B are step t.
func timeMajor(_ clips: Tensor) throws -> Tensor {
    let s = clips.shape
    return try clips.transposed(0, 1).reshaped([s[0] * s[1]] + Array(s[2...]))
}

/// Rows of step `t` (0-based among blocks of `batch` rows) of a time-major tensor.
func stepRows(_ x: Tensor, step t: Int, batch: Int) throws -> Tensor {
    try x.narrow(dim: 0, start: t * batch, length: batch)
}

/// A batch's tensor repeated for `steps` time steps, time-major (steps * B rows).
func repeatRows(_ x: Tensor, steps: Int) throws -> Tensor {
    let s = x.shape
    return try x.unsqueezed(0).expanded([steps] + s).reshaped([steps * s[0]] + Array(s[1...]))
}
