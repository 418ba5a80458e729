import Torch

/// Channel widths of the lab's model: F (frame features), L (label features), N (latent),
/// D (decoder features). The lab's defaults: 128, 32, 12, 192 (1,585,620 parameters).
public struct ModelDimensions: Codable, Equatable, Sendable {
    public var frame: Int
    public var label: Int
    public var noise: Int
    public var decoder: Int

    public init(frame: Int = 128, label: Int = 32, noise: Int = 12, decoder: Int = 192) {
        self.frame = frame; self.label = label; self.noise = noise; self.decoder = decoder
    }

    public static let lab = ModelDimensions()

    /// Every block's channel count must stay >= 1 (the lab divides F by 8, N by 4, D by 8...).
    public func validate() throws {
        let checks: [(String, Int, Int)] = [("F (frame_dim)", frame, 8), ("L (label_dim)", label, 2),
                                            ("N (noise_dim)", noise, 4), ("D (decoder_dim)", decoder, 8),
                                            ("F+L+N", frame + label + noise, 4)]
        for (name, value, divisor) in checks where value < divisor {
            throw ConfigError("model dimension \(name) = \(value) is too small: it must be at least \(divisor)")
        }
    }
}

/// The lab's conditional VAE (reference/lab_model.py's `VAEModel`): five modules, every feature
/// map at full resolution. Step for target frame t: posterior q(z | enc(x_t), lab(pose_t));
/// decoder fusion of (enc(x_{t-1}), lab(pose_t), z); generator -> x̂_t. At test time z ~ N(0, I).
/// With `learnedPrior` a sixth module `prior` (the Gaussian predictor's architecture, on
/// enc(x_{t-1}) and lab(pose_t)) gives p(z_t | x_{t-1}, pose_t); without it the state dict is
/// exactly the lab's. Its loss and generation are the shared ones (ClipLoss.swift,
/// Generation.swift); the lab's own frame-by-frame loop is in LabReference.swift.
///
/// Under bfloat16 autocast the output layers (the generator's last conv, the posterior's and
/// prior's last conv) run in float32: no measurable time, and bf16 generation's deviation from
/// float32 halves (0.26% to 0.14% relative RMS over 11 steps).
public final class LabModel: Module, VideoModel {
    public let dimensions: ModelDimensions
    let frameTransformation: Sequential
    let labelTransformation: Sequential
    let gaussianPredictor: Sequential
    let decoderFusion: Sequential
    let generator: Sequential
    let prior: Sequential?

    public var preset: Preset { .lab }
    /// Time steps the decoder processes per call when teacher forcing lets steps run together: one
    /// call for all 15 steps (30 rows of 192 x 32 x 64 activations, 47 MB each) was 1.5x slower
    /// than 15 calls on a 2-core CPU, as the activations no longer fit in cache
    /// (`vidpred bench --steps-per-call` measures it).
    public var stepsPerCall = 1
    public var decoderStepsPerCall: Int? { stepsPerCall }
    public var hasLearnedPrior: Bool { prior != nil }
    /// Each step sees only the previous frame, as in the lab.
    public var usesReferenceFrame: Bool { false }

    public init(_ d: ModelDimensions = .lab, learnedPrior: Bool = false) throws {
        try d.validate()
        dimensions = d
        let f = d.frame, l = d.label, n = d.noise, dd = d.decoder
        frameTransformation = Sequential(                                                // RGB_Encoder(3, F)
            try ResidualBlock(3, f / 8), try DepthConvBlock(f / 8, f / 8),
            try ResidualBlock(f / 8, f / 4), try DepthConvBlock(f / 4, f / 4),
            try ResidualBlock(f / 4, f / 2), try DepthConvBlock(f / 2, f / 2),
            try Conv2d(f / 2, f, kernel: 3, padding: 1))
        labelTransformation = Sequential(                                                // Label_Encoder(3, L)
            ReflectionPad2d(3), try Conv2d(3, l / 2, kernel: 7), try BatchNorm2d(l / 2),
            LeakyReLU(slope: 1.0),  // the template's nn.LeakyReLU(True): slope 1.0, an identity; kept
            try ResidualBlock(l / 2, l))
        func gaussian() throws -> Sequential {                                           // Gaussian_Predictor(F+L, N)
            Sequential(
                try ResidualBlock(f + l, n / 4), try DepthConvBlock(n / 4, n / 4),
                try ResidualBlock(n / 4, n / 2), try DepthConvBlock(n / 2, n / 2),
                try ResidualBlock(n / 2, n), LeakyReLU(slope: 1.0),
                try Conv2d(n, n * 2, kernel: 1))
        }
        gaussianPredictor = try gaussian()
        let c = f + l + n
        decoderFusion = Sequential(                                                      // Decoder_Fusion(F+L+N, D)
            try DepthConvBlock(c, c), try ResidualBlock(c, c / 4),
            try DepthConvBlock(c / 4, c / 2), try ResidualBlock(c / 2, c / 2),
            try DepthConvBlock(c / 2, dd / 2), try Conv2d(dd / 2, dd, kernel: 1))
        generator = Sequential(                                                          // Generator(D, 3)
            try DepthConvBlock(dd, dd), try ResidualBlock(dd, dd / 2),
            try DepthConvBlock(dd / 2, dd / 2), try ResidualBlock(dd / 2, dd / 4),
            try DepthConvBlock(dd / 4, dd / 4), try ResidualBlock(dd / 4, dd / 8),
            try DepthConvBlock(dd / 8, dd / 8), try Conv2d(dd / 8, 3, kernel: 1))
        prior = learnedPrior ? try gaussian() : nil
    }

    /// The lab template's attribute names (two of them capitalised), so state_dict keys match.
    public override func namedChildren() -> [(String, Module)] {
        [("frame_transformation", frameTransformation), ("label_transformation", labelTransformation),
         ("Gaussian_Predictor", gaussianPredictor), ("Decoder_Fusion", decoderFusion), ("Generator", generator)]
            + (prior.map { [("prior", $0)] } ?? [])
    }

    // MARK: - one step, as the lab writes it

    /// RGB encoder: (B, 3, H, W) -> (B, F, H, W).
    public func encodeFrame(_ frame: Tensor) throws -> Tensor { try frameTransformation(frame) }

    /// Label encoder: (B, 3, H, W) pose image -> (B, L, H, W).
    public func encodeLabel(_ label: Tensor) throws -> Tensor { try labelTransformation(label) }

    /// q(z_t | x_t, pose_t) from the encoded target frame and label.
    public func posterior(frameFeature: Tensor, labelFeature: Tensor) throws -> Posterior {
        try Posterior(splitting: gaussianPredictor.forwardWithFloat32Output(Tensor.cat([frameFeature, labelFeature], dim: 1)))
    }

    /// The learned prior p(z_t | x_{t-1}, pose_t) from the encoded previous frame and label.
    public func learnedPrior(previousFeature: Tensor, labelFeature: Tensor) throws -> Posterior {
        guard let prior else { throw ConfigError("this lab model has no learned prior (it was trained with prior standard)") }
        return try Posterior(splitting: prior.forwardWithFloat32Output(Tensor.cat([previousFeature, labelFeature], dim: 1)))
    }

    /// Decoder fusion + generator: the next frame from the previous frame's features, the pose and z.
    public func decode(previousFeature: Tensor, labelFeature: Tensor, z: Tensor) throws -> Tensor {
        // A concatenation is NCHW as soon as one part is (z is drawn NCHW): lay it out like the
        // features, or oneDNN reorders every activation of the fusion's first blocks (13% of a
        // bf16 rollout, measured with ONEDNN_VERBOSE).
        let input = try Tensor.cat([previousFeature, labelFeature, z], dim: 1)
        return try generator.forwardWithFloat32Output(decoderFusion(previousFeature.isChannelsLast ? input.channelsLast() : input))
    }

    // MARK: - the steps the shared loss and generation call

    public func encodeFrames(_ frames: Tensor) throws -> FeatureMaps { FeatureMaps([try encodeFrame(frames)]) }

    /// All time steps in one call; the BatchNorm takes statistics per step in training mode.
    public func encodePoses(_ poses: Tensor, steps: Int) throws -> FeatureMaps {
        var y = poses
        for layer in labelTransformation.layers {
            y = try (layer as? BatchNorm2d).map { try $0.forward(y, groups: steps) } ?? layer(y)
        }
        return FeatureMaps([y])
    }

    public func posterior(target: FeatureMaps, pose: FeatureMaps) throws -> Posterior {
        try posterior(frameFeature: target.scales[0], labelFeature: pose.scales[0])
    }

    public func learnedPrior(previous: FeatureMaps, pose: FeatureMaps) throws -> Posterior {
        try learnedPrior(previousFeature: previous.scales[0], labelFeature: pose.scales[0])
    }

    public func givenFrame(pixels: Tensor, features: FeatureMaps, label: Tensor) throws -> GivenFrame? { nil }

    public func decode(previousFrame: Tensor, previous: FeatureMaps, given: GivenFrame?, pose: FeatureMaps, z: Tensor) throws -> Tensor {
        try decode(previousFeature: previous.scales[0], labelFeature: pose.scales[0], z: z)
    }

    /// Measured on 2 cores with 2 MB of L2 each (frames/s of 126-frame rollouts): float32
    /// 42.6 / 46.7 / 48.2 / 43.3 / 35.5 for 1 / 2 / 3 / 4 / 5 videos per batch; bfloat16 70 / 78 /
    /// 80 / 81 / 84 / 76 for 1 / 2 / 3 / 4 / 5 / 8: every map is full-size, so few videos fit the caches.
    public func preferredGenerationBatch(bfloat16: Bool) -> Int { bfloat16 ? 5 : 3 }

    public func noiseShape(batch: Int, height: Int, width: Int) -> [Int] { [batch, dimensions.noise, height, width] }
}
