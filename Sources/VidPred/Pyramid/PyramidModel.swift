import Torch

/// Channel widths of the `pyramid` preset at each of its scales (full, 1/2, 1/4... resolution:
/// one scale per width, three by default), the latent channels, and whether the decoder also sees
/// the first frame. Larger frames can take a fourth or fifth scale so that the lowest one, where z
/// lives and the decoder composes the frame, keeps covering the same share of the picture.
public struct PyramidDimensions: Codable, Equatable, Sendable {
    /// Frame encoder and decoder widths at full, half, quarter... resolution.
    public var frame: [Int]
    /// Pose encoder widths at the same scales.
    public var pose: [Int]
    /// Latent channels (z lives at the lowest scale).
    public var noise: Int
    /// Feed the first frame's features to the decoder at every scale as well as the previous
    /// frame's: the studio and the dancer's appearance then come from a frame without accumulated
    /// error, which is what keeps a 630-frame rollout from drifting.
    public var reference: Bool
    /// How the output is built from the given (or previous) frame.
    public var residual: Residual
    /// What each step takes as its previous frame: its own previous prediction, or the given frame.
    public var previousFrame: PreviousFrame
    /// The lowest scales (0: none) at which the decoder also attends to the given frame's features
    /// (`GivenFrameAttention`).
    public var givenAttention: Int
    /// Each step's decoder takes the given frame's features moved sideways to where the step's pose
    /// puts the dancer, in the place of the previous frame's (which with `previous_frame given`
    /// repeat the given frame's): the dancer's appearance then lies where the pose says, however
    /// far they walked, at no cost in channels (issue 19).
    public var alignGiven: Bool
    /// With `alignGiven`: after the sideways move, a learned flow field moves each place of the given
    /// frame's features further (`PyramidModel.flowNet`), so that each limb, not only the dancer's
    /// mean column, can reach where the step's pose draws it.
    public var alignFlow: Bool

    public init(frame: [Int] = [32, 64, 128], pose: [Int] = [16, 32, 64], noise: Int = 32, reference: Bool = true,
                residual: Residual = .first, previousFrame: PreviousFrame = .predicted, givenAttention: Int = 0, alignGiven: Bool = false,
                alignFlow: Bool = false) {
        self.frame = frame; self.pose = pose; self.noise = noise; self.reference = reference; self.residual = residual
        self.previousFrame = previousFrame; self.givenAttention = givenAttention; self.alignGiven = alignGiven; self.alignFlow = alignFlow
    }

    /// Scales (1 = full resolution only).
    public var scales: Int { frame.count }
    /// What frame sides must be divisible by: each scale below the first halves them.
    public var sizeMultiple: Int { 1 << (scales - 1) }

    /// The finest scale the pose is encoded at: pose widths may start with zeros, and the label
    /// then enters the network below full resolution, so that no path carries its pixels to the
    /// output at full resolution (issue 19 suspected the full-resolution pose skip of the faint
    /// label-coloured strokes it saw; in 12-epoch runs this did not lower the measured leakage and
    /// cost 1 dB of val, so the recipe keeps full-resolution pose features: docs/performance.md).
    public var firstPoseScale: Int { pose.firstIndex { $0 > 0 } ?? pose.count }
    /// Whether the decoder attends to the given frame's features at `scale`.
    public func attends(atScale scale: Int) -> Bool { scale >= scales - givenAttention }
    /// Whether the decoder uses the given frame's features (it sees, attends to or aligns them).
    public var usesGivenFeatures: Bool { reference || givenAttention > 0 || alignGiven }

    public func validate() throws {
        guard (2...6).contains(frame.count), pose.count == frame.count, frame.allSatisfy({ $0 >= 1 }),
              pose[firstPoseScale...].allSatisfy({ $0 >= 1 }), firstPoseScale < scales, noise >= 1 else {
            throw ConfigError("pyramid widths need one positive value per scale, 2 to 6 scales and the same number for frame and pose "
                + "(pose widths may start with zeros: no pose features at those finest scales) "
                + "(got pyramid_frame \(frame), pyramid_pose \(pose)), and noise_dim >= 1 (got \(noise))")
        }
        guard givenAttention >= 0, givenAttention <= scales - firstPoseScale else {
            throw ConfigError("given_attention \(givenAttention) needs pose features at each of the lowest \(givenAttention) scales, "
                + "which ask the given frame (pyramid_pose \(pose) has them at the lowest \(scales - firstPoseScale)); give 0 to \(scales - firstPoseScale)")
        }
        guard !alignGiven || previousFrame == .given else {
            throw ConfigError("align_given true needs previous_frame given: the aligned given frame takes the previous frame's place in the decoder (got previous_frame \(previousFrame.rawValue)); "
                + "add --align-given false (the pyramid recipe has true since 0.21.0) or use previous_frame given")
        }
        guard !alignFlow || alignGiven else {
            throw ConfigError("align_flow true needs align_given true: the flow refines align_given's sideways move of the given frame's features "
                + "(got align_given false); add --align-flow false or --align-given true")
        }
    }

    /// The frame size's problem for these scales, if any.
    public func checkFrameSize(height: Int, width: Int) throws {
        guard height % sizeMultiple == 0, width % sizeMultiple == 0 else {
            throw ConfigError("the pyramid preset with \(scales) scales needs frame height and width divisible by \(sizeMultiple) "
                + "(got \(height)x\(width)); resize the frames, give fewer pyramid_frame/pyramid_pose widths, or use preset lab")
        }
    }
}

/// How the pyramid's output is built: a residual of the given or the previous frame, a composite
/// of the given frame and generated pixels, or neither.
public enum Residual: String, SettingChoice, Codable {
    /// The given frame: x̂_t = sigmoid(logit(x_0) + delta); a static background stays exact
    /// however long the rollout.
    case first
    /// The previous frame x_{t-1}: errors accumulate (on edn-s4 val a 630-frame rollout fell from
    /// 29 dB over its first 50 frames to 15 dB at the end).
    case previous
    /// No residual: x̂_t = sigmoid(delta).
    case none
    /// The given frame composited with generated pixels through a learned mask:
    /// x̂_t = m * x_0 + (1 - m) * sigmoid(g), m = sigmoid(mask logit). Where the dancer of the
    /// given frame has left, the residual must cancel their colours exactly (logit(background) -
    /// logit(dancer) per pixel) and a slight miss leaves strokes of the given frame's dancer
    /// (issue 19, docs/performance.md); here m -> 0 drops them whatever their colour. The head has
    /// a fourth channel, the mask logit, starting at `PyramidModel.initialMaskLogit`.
    case composite

    /// For the model's one-line summary.
    var summary: String {
        switch self {
        case .first, .previous: "residual of \(rawValue)"
        case .none: "no residual"
        case .composite: "mask composite of first"
        }
    }
}

/// What a step of the pyramid takes as x_{t-1}, the frame it predicts x_t from.
public enum PreviousFrame: String, SettingChoice, Codable {
    /// Its own previous prediction (the lab's loop): motion can continue from frame to frame, but
    /// an error feeds into every later step.
    case predicted
    /// The given frame, at every step: each frame is predicted from the given frame, its pose and
    /// z alone. No error can accumulate over a rollout, however long or far from the training
    /// clip, and training runs all of a clip's steps in one decoder call.
    case given
}

/// Multi-scale encoder: conv (stride 1, then 2 at each further scale) + residual block per scale;
/// returns the feature map of every scale from the first with a non-zero width. Scales of width 0
/// at the start are skipped: the input is average-pooled to the first one's resolution, so
/// nothing finer than that reaches the features (a test checks it).
final class PyramidEncoder: Module {
    let stages: [Module]
    /// The first scale with features.
    let first: Int

    init(input: Int, widths: [Int]) throws {
        first = widths.firstIndex { $0 > 0 } ?? widths.count
        var stages: [Module] = []
        var channels = input
        for (scale, width) in widths.enumerated() where scale >= first {
            stages.append(Sequential(try Conv2d(channels, width, kernel: 3, stride: scale == first ? 1 : 2, padding: 1),
                                     LeakyReLU(slope: 0.2), try ResidualBlock(width, width)))
            channels = width
        }
        self.stages = stages
    }

    func features(_ x: Tensor) throws -> [Tensor] {
        var out: [Tensor] = []
        var y = first > 0 ? try Functional.avgPool2d(x, kernel: 1 << first) : x
        for stage in stages {
            y = try stage(y)
            out.append(y)
        }
        return out
    }
}

/// Attention from the frame being decoded to the given frame at one scale: each place asks with
/// its pose features (what body part is drawn here), every place of the given frame answers with
/// its features (keys: what is there; values: its appearance), and the softmax-weighted values are
/// one more input of the decoder stage. A convolution only reaches a few cells around, so without
/// this the dancer's appearance can only come from near where the given frame shows them; with it,
/// from anywhere (test video 0's dancer walks across the stage, issue 19). Single-head, scaled
/// dot product; the weights are computed in float32.
final class GivenFrameAttention: Module {
    let query: Conv2d
    let key: Conv2d
    let value: Conv2d
    /// Channels of queries and keys.
    let width: Int

    init(pose: Int, frame: Int, width: Int) throws {
        query = try Conv2d(pose, width, kernel: 1)
        key = try Conv2d(frame, width, kernel: 1)
        value = try Conv2d(frame, frame, kernel: 1)
        self.width = width
    }

    /// [B, frame, H, W]: for every place of `pose` ([B, pose, H, W]), the given frame's values
    /// ([B, frame, H, W] features) weighted by how well their keys match its query.
    func attend(pose: Tensor, given: Tensor) throws -> Tensor {
        let s = given.shape, (batch, places) = (s[0], s[2] * s[3])
        let q = try query(pose).reshaped([batch, width, places]).transposed(1, 2)   // [B, places, width]
        let k = try key(given).reshaped([batch, width, places])                      // [B, width, places]
        let v = try value(given).reshaped([batch, s[1], places])                     // [B, frame, places]
        let weights = try (q.matmul(k) * (1 / Double(width).squareRoot())).softmax(dim: 2)  // [B, places (asking), places (given)]
        return try v.matmul(weights.transposed(1, 2).to(v.dtype)).reshaped(s)
    }
}

/// The efficient preset: SVG-LP-like U-Net on three scales by default (32x64 -> 16x32 -> 8x16 for
/// the lab's frames; one more scale per extra width). The encoder runs on the previous frame (and
/// once on the first frame); the pose is encoded at every scale; z (lowest scale) comes from the
/// posterior q(z_t | x_t, pose_t) in training and from N(0, I) or a learned prior p(z_t | x_{t-1}, pose_t) in generation. The
/// decoder starts at the lowest scale from (previous, first-frame, pose features, z) and
/// upsamples, concatenating the same three skips at each scale. The output is bounded and
/// residual (`Residual`): by default x̂_t = sigmoid(logit(x_0) + delta), with the last layer
/// zero-initialised so an untrained model repeats the given frame.
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
    /// One per scale with `given_attention`, from the lowest up.
    let attentions: [GivenFrameAttention]
    let head: Conv2d
    /// With `align_flow`: the step's pose features and the given frame's label's (moved sideways
    /// as the features are), both at the lowest scale, to the raw flow field that `alignmentFlow`
    /// bounds. Two 3x3 convolutions reach 5x5 cells of the lowest scale. The last layer starts at
    /// zero: an untrained flow moves nothing beyond `align_given`.
    let flowNet: Sequential?
    /// The most the flow moves a place, in grid_sample's units (2: the whole width or height):
    /// an eighth of the width (2 cells of the lowest scale sideways, 1 up or down), about how far a
    /// limb strays from the dancer's mean column between poses.
    static let maximumFlow = 0.25
    /// The flow net's raw output is scaled by this before the bound: Adam moves every weight by
    /// about the learning rate per step whatever its gradient, so the flow would otherwise move
    /// as fast as the features learn. A first form without the gain, the bound and the detached
    /// inputs validated 1.5 dB behind the recipe at epoch 12 (docs/performance.md, "A learned flow
    /// after the sideways move").
    static let flowGain = 0.1

    public var preset: Preset { .pyramid }
    /// Index of the lowest scale (z's).
    var low: Int { dimensions.scales - 1 }
    public var hasLearnedPrior: Bool { priorNet != nil }
    public var usesReferenceFrame: Bool { dimensions.usesGivenFeatures || keepsGivenPixels || !conditionsOnPrediction }
    public var conditionsOnPrediction: Bool { dimensions.previousFrame == .predicted }
    /// The output uses the given frame's pixels.
    var keepsGivenPixels: Bool { dimensions.residual == .first || dimensions.residual == .composite }
    /// The composite's mask logit before training: m = 0.95, so that an untrained model shows the
    /// given frame (within 5% of the way to grey), while its generated pixels still get 5% of the
    /// gradient (Adam rescales it) rather than none.
    static let initialMaskLogit = 3.0

    public init(_ d: PyramidDimensions = PyramidDimensions(), learnedPrior: Bool = false) throws {
        try d.validate()
        dimensions = d
        let f = d.frame, p = d.pose, n = d.noise
        frameEncoder = try PyramidEncoder(input: 3, widths: f)
        poseEncoder = try PyramidEncoder(input: 3, widths: p)
        let low = d.scales - 1  // `self.low`, before self exists
        func gaussian() throws -> Sequential {
            Sequential(try Conv2d(f[low] + p[low], f[low], kernel: 3, padding: 1), LeakyReLU(slope: 0.2),
                       try Conv2d(f[low], 2 * n, kernel: 3, padding: 1))
        }
        posteriorNet = try gaussian()
        priorNet = learnedPrior ? try gaussian() : nil
        let copies = d.reference ? 2 : 1
        var stages: [Module] = []
        var attentions: [GivenFrameAttention] = []
        for scale in (0...low).reversed() {
            let below = scale == low ? n : f[scale + 1]   // z at the lowest scale, else the upsampled stage
            let attends = d.attends(atScale: scale)
            // The attending scales are the lowest, decoded first: attentions[i] belongs to decoderStages[i].
            if attends { attentions.append(try GivenFrameAttention(pose: p[scale], frame: f[scale], width: max(p[scale] / 2, 1))) }
            stages.append(Sequential(try Conv2d(below + copies * f[scale] + p[scale] + (attends ? f[scale] : 0), f[scale], kernel: 3, padding: 1),
                                     LeakyReLU(slope: 0.2), try ResidualBlock(f[scale], f[scale])))
        }
        decoderStages = stages
        self.attentions = attentions
        head = try Conv2d(f[0], d.residual == .composite ? 4 : 3, kernel: 1)
        flowNet = d.alignFlow ? Sequential(try Conv2d(2 * p[low], p[low], kernel: 3, padding: 1), LeakyReLU(slope: 0.2),
                                           try Conv2d(p[low], 2, kernel: 3, padding: 1)) : nil
        super.init()
        try noGrad {
            try head.weight.fill(0)
            try head.bias?.fill(0)
            if let flowOut = flowNet?.layers.last as? Conv2d {
                try flowOut.weight.fill(0)
                try flowOut.bias?.fill(0)
            }
            if d.residual == .composite, let bias = head.bias {
                try bias.narrow(dim: 0, start: 3, length: 1).fill(Self.initialMaskLogit)
            }
        }
    }

    public func noiseShape(batch: Int, height: Int, width: Int) -> [Int] {
        [batch, dimensions.noise, height / dimensions.sizeMultiple, width / dimensions.sizeMultiple]
    }

    /// Measured on 2 cores (frames/s of 126-frame rollouts): float32 187 / 279 / 322 / 337 / 322
    /// for 1 / 3 / 5 / 8 / 16 videos per batch, bfloat16 298 / 469 / 571 / 594 for 1 / 3 / 8 / 16;
    /// most maps are a quarter or a sixteenth of the frame, so many videos fit the caches.
    public func preferredGenerationBatch(bfloat16: Bool) -> Int { bfloat16 ? 16 : 8 }


    public func checkFrameSize(height: Int, width: Int) throws {
        try dimensions.checkFrameSize(height: height, width: width)
    }

    // MARK: - the steps the shared loss and generation call

    public func encodeFrames(_ frames: Tensor) throws -> FeatureMaps { FeatureMaps(try frameEncoder.features(frames)) }

    public func encodePoses(_ poses: Tensor, steps: Int) throws -> FeatureMaps {
        FeatureMaps(try poseEncoder.features(poses), places: dimensions.alignGiven ? try VideoTensors.dancerPlaces(poses) : nil)
    }

    public func posterior(target: FeatureMaps, pose: FeatureMaps) throws -> Posterior {
        try Posterior(splitting: posteriorNet.forwardWithFloat32Output(Tensor.cat([target.scales[low], poseFeatures(pose, scale: low)], dim: 1)))
    }

    public func learnedPrior(previous: FeatureMaps, pose: FeatureMaps) throws -> Posterior {
        guard let priorNet else { throw ConfigError("this pyramid model has no learned prior (it was trained with prior standard)") }
        return try Posterior(splitting: priorNet.forwardWithFloat32Output(Tensor.cat([previous.scales[low], poseFeatures(pose, scale: low)], dim: 1)))
    }

    /// The pose's features at `scale` (the encoder skips the scales of width 0).
    func poseFeatures(_ pose: FeatureMaps, scale: Int) -> Tensor { pose.scales[scale - dimensions.firstPoseScale] }

    /// The given frame's pixels when the output is their residual; its features when the decoder
    /// sees them, attends to them or aligns them; where its label puts the dancer when it aligns
    /// them; its label's lowest-scale pose features when a flow refines the alignment.
    public func givenFrame(pixels: Tensor, features: FeatureMaps, label: Tensor) throws -> GivenFrame? {
        let keepPixels = keepsGivenPixels, keepFeatures = dimensions.usesGivenFeatures
        guard keepPixels || keepFeatures else { return nil }
        return GivenFrame(pixels: keepPixels ? pixels : nil, features: keepFeatures ? features : nil,
                          place: dimensions.alignGiven ? try VideoTensors.dancerPlaces(label) : nil,
                          pose: dimensions.alignFlow ? try poseEncoder.features(label).last : nil)
    }

    /// Features (N, C, h, w) moved sideways by `offset` (N, a fraction of the width; NaN: not
    /// moved), what moves in from outside repeating the border (as the augmentation does; the
    /// decoder reads the studio's light from that smear, and the given frame's own features there
    /// instead trained worse: docs/performance.md, `align_uncovered`); with
    /// `flow` (N, 2, h', w', float32, any size: resized bilinearly to h x w), each place then moves
    /// by its own (x, y) more, in grid_sample's units (2 is the whole width or height).
    static func movedSideways(_ features: Tensor, by offset: Tensor, flow: Tensor? = nil) throws -> Tensor {
        let s = features.shape, (rows, height, width) = (s[0], s[2], s[3])
        // grid_sample's grid (x, y in [-1, 1], pixel centres at (2j + 1) / w - 1): output column j reads input column j - offset * w.
        let shift = try offset.nanToNum(0, posinf: 0, neginf: 0).reshaped([rows, 1, 1]) * 2
        let x = try (Tensor.arange(width, dtype: .float32).to(features.device) * (2 / Double(width)) + (1 / Double(width) - 1)).reshaped([1, 1, width])
        let y = try (Tensor.arange(height, dtype: .float32).to(features.device) * (2 / Double(height)) + (1 / Double(height) - 1)).reshaped([1, height, 1])
        var grid = try Tensor.stack([(x - shift).expanded([rows, height, width]), y.expanded([rows, height, width])], dim: 3)
        if let flow {
            let sized = flow.shape[2] == height && flow.shape[3] == width ? flow : try Functional.upsampleBilinear(flow, height: height, width: width)
            grid = try grid - sized.permuted([0, 2, 3, 1])
        }
        // In float32: a bfloat16 grid would misplace columns by up to 1/256 of the half-width.
        return try Functional.gridSample(features.to(.float32), grid: grid, padding: .border).to(features.dtype)
    }

    /// With `align_flow`, the flow field (N, 2, h, w at the lowest scale, float32, each value
    /// within `maximumFlow`) that moves the given frame's features beyond the sideways shift: a
    /// place of the output reads the given frame `flow` further back, as the shift's does. Its
    /// inputs are detached: the pose encoder learns what the decoder needs, and the flow's
    /// gradient (through grid_sample, from every channel of every scale) does not reach it.
    func alignmentFlow(given: GivenFrame?, pose: FeatureMaps) throws -> Tensor? {
        guard let flowNet else { return nil }
        guard let givenPose = given?.pose, let from = given?.place, let to = pose.places else {
            throw TorchError("decode: align_flow needs the given frame's label's features and place and the poses' places")
        }
        let givenPoseMoved = try Self.movedSideways(givenPose, by: to - from)
        let raw = try flowNet.forwardWithFloat32Output(Tensor.cat([poseFeatures(pose, scale: low).detached(), givenPoseMoved.detached()], dim: 1))
        return try (raw * Self.flowGain).tanh() * Self.maximumFlow
    }

    /// What the decoder takes as the previous frame's features at `scale`: with `align_given`, the
    /// given frame's moved to where the step's pose puts the dancer (`movedSideways`), and by
    /// `flow` further with `align_flow`.
    func previousFeatures(_ previous: FeatureMaps, given: GivenFrame?, pose: FeatureMaps, flow: Tensor?, scale: Int) throws -> Tensor {
        guard dimensions.alignGiven else { return previous.scales[scale] }
        guard let features = given?.features, let from = given?.place, let to = pose.places else {
            throw TorchError("decode: align_given needs the given frame's features and place and the poses' places")
        }
        return try Self.movedSideways(features.scales[scale], by: to - from, flow: flow)
    }

    /// x̂_t from the previous frame's features, the given frame's features, the pose's features and
    /// z, decoded from the lowest scale up, as a residual of the given or the previous frame or a
    /// composite of the given frame (`Residual`).
    public func decode(previousFrame: Tensor, previous: FeatureMaps, given: GivenFrame?, pose: FeatureMaps, z: Tensor) throws -> Tensor {
        var y = z
        let flow = try alignmentFlow(given: given, pose: pose)
        for (index, scale) in (0...low).reversed().enumerated() {
            if scale < low {
                let s = y.shape
                y = try Functional.upsampleNearest(y, height: s[2] * 2, width: s[3] * 2)
            }
            var parts = [y, try previousFeatures(previous, given: given, pose: pose, flow: flow, scale: scale)]
            if dimensions.reference, let reference = given?.features { parts.append(reference.scales[scale]) }
            if scale >= dimensions.firstPoseScale { parts.append(poseFeatures(pose, scale: scale)) }
            if dimensions.attends(atScale: scale) {
                guard let reference = given?.features else { throw TorchError("decode: given_attention needs the given frame's features") }
                parts.append(try attentions[index].attend(pose: poseFeatures(pose, scale: scale), given: reference.scales[scale]))
            }
            y = try decoderStages[index](Tensor.cat(parts, dim: 1))
        }
        let delta = try head.callInFloat32(y)  // the output layer in float32, as the lab model's
        let anchor: Tensor
        switch dimensions.residual {
        case .none: return try delta.sigmoid()
        case .previous: anchor = previousFrame
        case .first, .composite:
            guard let pixels = given?.pixels else { throw TorchError("decode: the \(dimensions.residual.rawValue) output needs the given frame's pixels") }
            anchor = pixels
        }
        if dimensions.residual == .composite {
            let generated = try delta.narrow(dim: 1, start: 0, length: 3).sigmoid()
            let mask = try delta.narrow(dim: 1, start: 3, length: 1).sigmoid()
            return try generated + mask * (anchor.to(.float32) - generated)
        }
        let p = try anchor.to(.float32).clamped(1e-3, 1 - 1e-3)
        return try ((p / p.rsub(1)).log() + delta).sigmoid()
    }
}
