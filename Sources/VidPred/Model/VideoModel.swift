import Torch

/// Where z_t comes from while a video is generated.
public enum LatentSource: String, Codable, CaseIterable, Sendable {
    /// z ~ N(0, I): the lab's test-time behaviour.
    case standardNormal = "standard-normal"
    /// z ~ p(z_t | x̂_{t-1}, pose_t), the learned prior (models trained with `prior: learned`).
    case learnedPrior = "learned-prior"
    /// z = the learned prior's mean: one deterministic, most likely video (best for PSNR).
    case priorMean = "prior-mean"

    public var needsLearnedPrior: Bool { self != .standardNormal }
}

/// What training, generation and the tools need from a model; one conforming class per preset
/// (`LabModel`: the lab's network; `PyramidModel`: the efficient one). Both train with the lab's
/// loss (per-frame MSE + beta * KL, summed over the clip) and generate frame by frame.
public protocol VideoModel: Module {
    /// The preset name stored in configs and reports ("lab", "pyramid").
    var preset: String { get }
    /// Whether the model has a learned prior p(z_t | x_{t-1}, pose_t); without one the KL term is
    /// KL(q || N(0, I)) and generation draws z ~ N(0, I).
    var hasLearnedPrior: Bool { get }

    /// Shape of z (and of the noise eps it is made from) for a batch of frames of the given size.
    func noiseShape(batch: Int, height: Int, width: Int) -> [Int]

    /// Whether the model conditions on the video's given first frame beyond step 1 (then training
    /// can pass another frame of the same video as `reference`, see `reference_sampling`).
    var usesReferenceFrame: Bool { get }

    /// The training loss of a batch of clips (B, T, 3, H, W), as the lab defines it.
    /// - Parameters:
    ///   - noise: optional fixed eps for step t (tests); else drawn from `generator`, step by step
    ///     in order, so every implementation of a model draws the same noise.
    ///   - reference: (B, 3, H, W), the frame to treat as the video's given frame (models with
    ///     `usesReferenceFrame`); nil = each clip's first frame.
    func sequenceLoss(frames: Tensor, labels: Tensor, teacherForcing: Bool, beta: Double,
                      generator: RandomGenerator?, noise: ((Int) throws -> Tensor)?, reference: Tensor?) throws -> SequenceLoss

    /// Generates whole videos: frame 0 is given (B, 3, H, W), every later frame comes from the
    /// previous prediction, pose t (labels: (B, T, 3, H, W)) and z_t made from `noise(t)` as
    /// `latent` says. Non-finite outputs become 0.5 (as the lab did). Returns (B, T, 3, H, W), not
    /// clamped. Runs in inference mode.
    func generate(firstFrame: Tensor, labels: Tensor, latent: LatentSource,
                  noise: (Int) throws -> Tensor, onFrame: (Int) -> Void) throws -> Tensor

    /// Videos to generate per batch when the user does not say (`Predictor.maxBatch`). On a CPU a
    /// larger batch is slower per video once a step's activations outgrow the cores' caches, so
    /// each model gives the batch that ran fastest (`vidpred bench model --rollouts-only --videos
    /// 1,2,3,5,8`, see README), in float32 or under bfloat16 autocast (half the bytes).
    func preferredGenerationBatch(bfloat16: Bool) -> Int
}

extension VideoModel {
    public func sequenceLoss(frames: Tensor, labels: Tensor, teacherForcing: Bool, beta: Double,
                             generator: RandomGenerator? = nil, noise: ((Int) throws -> Tensor)? = nil) throws -> SequenceLoss {
        try sequenceLoss(frames: frames, labels: labels, teacherForcing: teacherForcing, beta: beta,
                         generator: generator, noise: noise, reference: nil)
    }

    /// `generate` with all noise from one generator and the model's natural latent (its learned
    /// prior when it has one, else N(0, I)).
    public func rollout(firstFrame: Tensor, labels: Tensor, generator: RandomGenerator? = nil,
                        latent: LatentSource? = nil, onFrame: ((Int) -> Void)? = nil) throws -> Tensor {
        let s = labels.shape
        guard s.count == 5, firstFrame.shape == [s[0], s[2], s[3], s[4]] else {
            throw TorchError("rollout: first frame \(firstFrame.shape) does not match labels \(s) (B,T,3,H,W)")
        }
        let shape = noiseShape(batch: s[0], height: s[3], width: s[4])
        return try generate(firstFrame: firstFrame, labels: labels, latent: latent ?? defaultLatent,
                            noise: { _ in try Tensor.randn(shape, generator: generator) }, onFrame: onFrame ?? { _ in })
    }

    /// The latent generation uses unless told otherwise.
    public var defaultLatent: LatentSource { hasLearnedPrior ? .learnedPrior : .standardNormal }

    /// Checks a latent source against the model (a learned prior needs a model trained with one).
    public func check(_ latent: LatentSource) throws {
        if latent.needsLearnedPrior && !hasLearnedPrior {
            throw TorchError("--latent \(latent.rawValue) needs a model trained with a learned prior (train with --prior learned); this \(preset) model has none: use standard-normal")
        }
    }

    /// Checks the shapes `generate` receives.
    func checkGenerationInput(firstFrame: Tensor, labels: Tensor) throws {
        let s = labels.shape
        guard s.count == 5, s[1] >= 1, firstFrame.shape == [s[0], s[2], s[3], s[4]] else {
            throw TorchError("generate: first frame \(firstFrame.shape) does not match labels \(s) (B,T,3,H,W)")
        }
    }
}

/// z from eps: the posterior or a prior's sample, or the prior mean, as `latent` asks.
func latentSample(_ latent: LatentSource, eps: Tensor, prior: (() throws -> Posterior)?) throws -> Tensor {
    switch latent {
    case .standardNormal: return eps
    case .learnedPrior, .priorMean:
        guard let prior else { throw TorchError("latent \(latent.rawValue) needs a learned prior") }
        let p = try prior()
        return latent == .priorMean ? p.mu : try p.sample(noise: eps)
    }
}

/// Lays out (B, T, ...) clips time-major, (T * B, ...), so that all time steps go through a
/// network in one call and rows t*B ..< (t+1)*B are step t.
func timeMajor(_ clips: Tensor) throws -> Tensor {
    let s = clips.shape
    return try clips.transposed(0, 1).reshaped([s[0] * s[1]] + Array(s[2...]))
}

/// Rows of step `t` (0-based among `steps` blocks of `batch` rows) of a time-major tensor.
func stepRows(_ x: Tensor, step t: Int, batch: Int) throws -> Tensor {
    try x.narrow(dim: 0, start: t * batch, length: batch)
}

/// The summed loss terms of a clip, in float32 (under bf16 autocast the network runs in bfloat16;
/// a bf16 sum of ~10^4 KL terms would round to multiples of 16-32).
struct LossTerms {
    var total: Tensor? = nil
    var mse: Tensor? = nil
    var kl: Tensor? = nil

    mutating func add(mse m: Tensor, kl k: Tensor, beta: Double) throws {
        let step = try m + k * beta
        total = try total.map { try $0 + step } ?? step
        mse = try mse.map { try $0 + m.detached() } ?? m.detached()
        kl = try kl.map { try $0 + k.detached() } ?? k.detached()
    }

    func result(predictions: [Tensor]) throws -> SequenceLoss {
        guard let total, let mse, let kl else { throw TorchError("sequence loss of an empty clip") }
        return SequenceLoss(total: total, mse: mse, kl: kl, predictions: predictions)
    }
}

/// Builds the model a config describes (untrained).
public func makeModel(_ config: TrainConfig) throws -> any VideoModel {
    switch config.preset {
    case "lab": return try LabModel(config.dimensions, learnedPrior: config.prior == "learned")
    case "pyramid": return try PyramidModel(config.pyramidDimensions, learnedPrior: config.prior == "learned")
    default: throw ConfigError("preset '\(config.preset)' is unknown; available: lab, pyramid")
    }
}
