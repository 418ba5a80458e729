import Torch

/// Channel widths of the `pyramid` preset at its three scales (full, 1/2, 1/4 resolution), the
/// latent channels, and whether the decoder also sees the first frame.
public struct PyramidDimensions: Codable, Equatable, Sendable {
    /// Frame encoder and decoder widths at full, half and quarter resolution.
    public var frame: [Int]
    /// Pose encoder widths at the same scales.
    public var pose: [Int]
    /// Latent channels (z lives at quarter resolution).
    public var noise: Int
    /// Feed the first frame's features to the decoder at every scale as well as the previous
    /// frame's: the studio and the dancer's appearance then come from a frame without accumulated
    /// error, which is what keeps a 630-frame rollout from drifting.
    public var reference: Bool
    /// The frame the output is a residual of: "first" (x̂_t = sigmoid(logit(x_0) + delta): a
    /// static background stays exact however long the rollout) or "previous" (x_{t-1}: errors
    /// accumulate; measured on edn-s4 val, a 630-frame rollout fell from 29 dB over its first 50
    /// frames to 15 dB at the end), or "none" (x̂_t = sigmoid(delta)).
    public var residual: String

    public init(frame: [Int] = [32, 64, 128], pose: [Int] = [16, 32, 64], noise: Int = 32, reference: Bool = true,
                residual: String = "first") {
        self.frame = frame; self.pose = pose; self.noise = noise; self.reference = reference; self.residual = residual
    }

    public func validate() throws {
        guard frame.count == 3, pose.count == 3, (frame + pose).allSatisfy({ $0 >= 1 }), noise >= 1 else {
            throw ConfigError("pyramid widths need three positive values each (got frame \(frame), pose \(pose)) and noise_dim >= 1 (got \(noise))")
        }
        guard ["first", "previous", "none"].contains(residual) else { throw ConfigError("residual '\(residual)' is unknown; use first, previous or none") }
    }
}

/// Three-scale encoder: conv (stride 1, then 2, 2) + residual block per scale; returns the
/// feature map of every scale.
final class PyramidEncoder: Module {
    let stages: [Module]

    init(input: Int, widths: [Int]) throws {
        var stages: [Module] = []
        var channels = input
        for (scale, width) in widths.enumerated() {
            stages.append(Sequential(try Conv2d(channels, width, kernel: 3, stride: scale == 0 ? 1 : 2, padding: 1),
                                     LeakyReLU(slope: 0.2), try ResidualBlock(width, width)))
            channels = width
        }
        self.stages = stages
    }

    func features(_ x: Tensor) throws -> [Tensor] {
        var out: [Tensor] = []
        var y = x
        for stage in stages {
            y = try stage(y)
            out.append(y)
        }
        return out
    }
}

/// The efficient preset: SVG-LP-like U-Net on three scales (32x64 -> 16x32 -> 8x16 for the lab's
/// frames). The encoder runs on the previous frame (and once on the first frame); the pose is
/// encoded at every scale; z (quarter resolution) comes from the posterior q(z_t | x_t, pose_t)
/// in training and from N(0, I) or a learned prior p(z_t | x_{t-1}, pose_t) in generation. The
/// decoder starts at the lowest scale from (previous, first-frame, pose features, z) and
/// upsamples, concatenating the same three skips at each scale. The output is bounded and
/// residual: x̂_t = sigmoid(logit(x_{t-1}) + delta), with the last layer zero-initialised so an
/// untrained model repeats the previous frame.
///
/// About 1/6 of the lab's convolution FLOPs per frame at the default widths (`vidpred bench model`
/// and the quality benchmark print the measured figures).
public final class PyramidModel: Module, VideoModel {
    public let dimensions: PyramidDimensions
    let frameEncoder: PyramidEncoder
    let poseEncoder: PyramidEncoder
    let posteriorNet: Sequential
    let priorNet: Sequential?
    let decoderStages: [Module]
    let head: Conv2d

    public var preset: String { "pyramid" }
    public var hasLearnedPrior: Bool { priorNet != nil }
    public var usesReferenceFrame: Bool { dimensions.reference || anchorsOnFirstFrame }

    public init(_ d: PyramidDimensions = PyramidDimensions(), learnedPrior: Bool = false) throws {
        try d.validate()
        dimensions = d
        let f = d.frame, p = d.pose, n = d.noise
        frameEncoder = try PyramidEncoder(input: 3, widths: f)
        poseEncoder = try PyramidEncoder(input: 3, widths: p)
        func gaussian() throws -> Sequential {
            Sequential(try Conv2d(f[2] + p[2], f[2], kernel: 3, padding: 1), LeakyReLU(slope: 0.2),
                       try Conv2d(f[2], 2 * n, kernel: 3, padding: 1))
        }
        posteriorNet = try gaussian()
        priorNet = learnedPrior ? try gaussian() : nil
        let copies = d.reference ? 2 : 1
        var stages: [Module] = []
        for scale in [2, 1, 0] {
            let below = scale == 2 ? n : f[scale + 1]   // z at the lowest scale, else the upsampled stage
            stages.append(Sequential(try Conv2d(below + copies * f[scale] + p[scale], f[scale], kernel: 3, padding: 1),
                                     LeakyReLU(slope: 0.2), try ResidualBlock(f[scale], f[scale])))
        }
        decoderStages = stages
        head = try Conv2d(f[0], 3, kernel: 1)
        super.init()
        try noGrad {
            try head.weight.fill(0)
            try head.bias?.fill(0)
        }
    }

    public func noiseShape(batch: Int, height: Int, width: Int) -> [Int] {
        [batch, dimensions.noise, height / 4, width / 4]
    }

    /// Measured on 2 cores (frames/s of 126-frame rollouts): float32 187 / 279 / 322 / 337 / 322
    /// for 1 / 3 / 5 / 8 / 16 videos per batch, bfloat16 298 / 469 / 571 / 594 for 1 / 3 / 8 / 16;
    /// most maps are a quarter or a sixteenth of the frame, so many videos fit the caches.
    public func preferredGenerationBatch(bfloat16: Bool) -> Int { bfloat16 ? 16 : 8 }

    func checkSize(_ x: Tensor) throws {
        let s = x.shape
        guard s[s.count - 2] % 4 == 0, s[s.count - 1] % 4 == 0 else {
            throw TorchError("the pyramid preset needs frame height and width divisible by 4 (got \(s[s.count - 2])x\(s[s.count - 1])); resize with --height/--width or use --preset lab")
        }
    }

    func posterior(target: [Tensor], pose: [Tensor]) throws -> Posterior {
        try Posterior(splitting: posteriorNet.forwardWithFloat32Output(Tensor.cat([target[2], pose[2]], dim: 1)))
    }

    func learnedPrior(previous: [Tensor], pose: [Tensor]) throws -> Posterior {
        guard let priorNet else { throw TorchError("this pyramid model has no learned prior (train with --prior learned)") }
        return try Posterior(splitting: priorNet.forwardWithFloat32Output(Tensor.cat([previous[2], pose[2]], dim: 1)))
    }

    /// x̂_t from the previous frame's features, the first frame's features, the pose's features and
    /// z, as a residual of `anchor` (the first or the previous frame, `dimensions.residual`).
    func decode(anchor: Tensor, previous: [Tensor], reference: [Tensor]?, pose: [Tensor], z: Tensor) throws -> Tensor {
        var y = z
        for (index, scale) in [2, 1, 0].enumerated() {
            if scale < 2 {
                let s = y.shape
                y = try Functional.upsampleNearest(y, height: s[2] * 2, width: s[3] * 2)
            }
            var parts = [y, previous[scale]]
            if let reference { parts.append(reference[scale]) }
            parts.append(pose[scale])
            y = try decoderStages[index](Tensor.cat(parts, dim: 1))
        }
        let delta = try head.callInFloat32(y)  // the output layer in float32, as the lab model's
        if dimensions.residual == "none" { return try delta.sigmoid() }
        let logit = try { let p = try anchor.to(.float32).clamped(1e-3, 1 - 1e-3); return try (p / p.rsub(1)).log() }()
        return try (logit + delta).sigmoid()
    }

    /// Feature lists restricted to rows [start, start + count).
    func rows(_ features: [Tensor], start: Int, count: Int) throws -> [Tensor] {
        try features.map { try $0.narrow(dim: 0, start: start, length: count) }
    }

    /// A batch's tensor repeated for every step, time-major (steps * B rows).
    func repeated(_ x: Tensor, steps: Int) throws -> Tensor {
        let s = x.shape
        return try x.unsqueezed(0).expanded([steps] + s).reshaped([steps * s[0]] + Array(s[1...]))
    }

    var anchorsOnFirstFrame: Bool { dimensions.residual == "first" }

    public func sequenceLoss(frames: Tensor, labels: Tensor, teacherForcing: Bool, beta: Double,
                             generator: RandomGenerator?, noise: ((Int) throws -> Tensor)?,
                             reference: Tensor?) throws -> SequenceLoss {
        let s = frames.shape
        guard s.count == 5, s[1] >= 2, labels.shape == s else {
            throw TorchError("sequenceLoss needs frames and labels of the same shape (B, T>=2, 3, H, W); got \(s) and \(labels.shape)")
        }
        try checkSize(frames)
        let (batch, steps) = (s[0], s[1] - 1)
        let allFrames = try timeMajor(frames)
        let windowStart = try allFrames.narrow(dim: 0, start: 0, length: batch)
        let targets = try allFrames.narrow(dim: 0, start: batch, length: steps * batch)
        // Every ground-truth frame (and the reference frames, when given) encoded once, in one call.
        let encoded = try frameEncoder.features(reference.map { try Tensor.cat([allFrames, $0], dim: 0) } ?? allFrames)
        let frameFeatures = try rows(encoded, start: 0, count: (steps + 1) * batch)
        let firstFrame = reference ?? windowStart
        let firstFeatures = try rows(encoded, start: reference == nil ? 0 : (steps + 1) * batch, count: batch)
        let poseFeatures = try poseEncoder.features(timeMajor(labels).narrow(dim: 0, start: batch, length: steps * batch))
        let posterior = try self.posterior(target: rows(frameFeatures, start: batch, count: steps * batch), pose: poseFeatures).float32()
        let eps = try Tensor.cat((1...steps).map { t in
            try noise?(t) ?? stepRows(posterior.mu, step: t - 1, batch: batch).randnLike(generator: generator)
        }, dim: 0)
        let z = try posterior.sample(noise: eps)
        var terms = LossTerms()

        if teacherForcing {
            let previous = try rows(frameFeatures, start: 0, count: steps * batch)
            let referenceFeatures = dimensions.reference ? try firstFeatures.map { try repeated($0, steps: steps) } : nil
            let anchor = try anchorsOnFirstFrame ? repeated(firstFrame, steps: steps) : allFrames.narrow(dim: 0, start: 0, length: steps * batch)
            let predictions = try decode(anchor: anchor, previous: previous, reference: referenceFeatures, pose: poseFeatures,
                                         z: z.to(previous[2].dtype))
            let kl = try priorNet == nil ? posterior.klToStandardNormal()
                : posterior.kl(to: learnedPrior(previous: previous, pose: poseFeatures).float32())
            try terms.add(mse: Functional.mseLoss(predictions, targets) * Double(steps), kl: kl * Double(steps), beta: beta)
            return try terms.result(predictions: (0..<steps).map { try stepRows(predictions, step: $0, batch: batch) })
        }

        var predictions: [Tensor] = []
        var previousFrame = windowStart
        var previous = try rows(frameFeatures, start: 0, count: batch)
        let referenceFeatures = dimensions.reference ? firstFeatures : nil
        for t in 0..<steps {
            let pose = try rows(poseFeatures, start: t * batch, count: batch)
            let posteriorT = Posterior(mu: try stepRows(posterior.mu, step: t, batch: batch),
                                       logvar: try stepRows(posterior.logvar, step: t, batch: batch))
            let prediction = try decode(anchor: anchorsOnFirstFrame ? firstFrame : previousFrame, previous: previous,
                                        reference: referenceFeatures, pose: pose, z: stepRows(z, step: t, batch: batch).to(previous[2].dtype))
            let kl = try priorNet == nil ? posteriorT.klToStandardNormal()
                : posteriorT.kl(to: learnedPrior(previous: previous, pose: pose).float32())
            try terms.add(mse: Functional.mseLoss(prediction, stepRows(targets, step: t, batch: batch)), kl: kl, beta: beta)
            predictions.append(prediction)
            if t + 1 < steps {
                previousFrame = prediction
                previous = try frameEncoder.features(prediction)
            }
        }
        return try terms.result(predictions: predictions)
    }

    public func generate(firstFrame: Tensor, labels: Tensor, latent: LatentSource,
                         noise: (Int) throws -> Tensor, onFrame: (Int) -> Void) throws -> Tensor {
        try checkGenerationInput(firstFrame: firstFrame, labels: labels)
        try checkSize(firstFrame)
        try check(latent)
        let (batch, length) = (labels.shape[0], labels.shape[1])
        let chunk = 32
        return try inferenceMode {
            var frames = [firstFrame]
            var previousFrame = firstFrame
            var previous = try frameEncoder.features(firstFrame)
            let reference = dimensions.reference ? previous : nil
            var poseFeatures: [Tensor] = []
            var chunkStart = 1
            for t in 1..<length {
                if t == 1 || t - chunkStart == chunk {
                    chunkStart = t
                    poseFeatures = try poseEncoder.features(timeMajor(labels.narrow(dim: 1, start: t, length: min(chunk, length - t))))
                }
                let pose = try rows(poseFeatures, start: (t - chunkStart) * batch, count: batch)
                let eps = try noise(t)
                let z = try latentSample(latent, eps: eps) { try self.learnedPrior(previous: previous, pose: pose).float32() }
                let next = try decode(anchor: anchorsOnFirstFrame ? firstFrame : previousFrame, previous: previous, reference: reference, pose: pose,
                                      z: z.to(previous[2].dtype)).nanToNum(0.5, posinf: 0.5, neginf: 0.5)
                frames.append(next)
                previousFrame = next
                if t + 1 < length { previous = try frameEncoder.features(next) }
                onFrame(t)
            }
            return try Tensor.stack(frames, dim: 1)
        }
    }
}
