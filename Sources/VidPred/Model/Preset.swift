import Torch

/// A model and the recipe it starts from. Each preset owns its network factory, its recipe and
/// the checks of its settings.
public enum Preset: String, SettingChoice, Codable {
    /// The lab's network exactly (every feature map at full resolution) and the lab template's
    /// training defaults.
    case lab
    /// The efficient three-scale U-Net (`PyramidModel`) and the recipe chosen for it by
    /// measurement on ../shared/data/edn-s4 (README, "Presets").
    case pyramid

    /// The starting settings of a run of this preset.
    public var recipe: TrainConfig {
        var c = TrainConfig()
        c.preset = self
        guard self == .pyramid else { return c }
        c.prior = .learned
        c.latent = .priorMean
        // Since 0.24.0: predictions average each video with its mirror (the model trains on
        // mirrored clips, augment_flip): test/0 +0.48, +0.45 and +0.34 dB, val +0.28 on average, in
        // 3 paired seeds, at 1.8x the generation time; training is unchanged.
        c.mirrorAverage = true
        c.noiseDim = 16
        c.klAnnealType = .none
        c.klWeight = 1e-3
        c.tfr = 0
        c.lrSchedule = .cosine
        c.warmupEpochs = 1
        c.lr = 2e-3
        // Since 0.17.0 (README, "Footage the model never saw"; docs/performance.md): 60 epochs
        // fill the hour on 2 AVX512-BF16 cores in bf16 (auto picks it where it is native) and
        // gained about 1 dB on test/0 over 50 in each of 3 paired seeds; the augmentations gained
        // 1.84 dB on test/0 in a paired seed; the weight average keeps validation smooth mid-run.
        // Saved runs without these keys keep what they trained with (Setting.savedWithout).
        c.epochs = 60
        c.precision = .auto
        c.emaDecay = 0.995
        c.augmentFlip = 0.5
        c.augmentZoom = 0.25
        c.augmentShift = 0.15
        c.augmentJitter = 0.1
        // Since 0.18.0: sideways moves across the whole stage (up to 0.4 of the width; vertical
        // ones stay at 0.15). In 3 paired seeds test/0 gained +0.27, -0.22 and +0.72 dB (mean
        // 31.04), its partial-body frames +1.3 to +2.2 dB each, val level, speed level.
        c.augmentShiftX = 0.4
        c.batchSize = 4
        c.windowStride = 4
        c.shuffle = true
        c.perSave = 0
        c.referenceSampling = .random
        // Every step from the given frame: higher test/0 than `predicted` in 5 of the 6 paired
        // seeds measured (+0.36 dB on average at 60 minutes), faster per step, and no validation
        // collapse (README, "Footage the model never saw"). Saved runs without the key keep
        // `predicted` (`Setting.savedWithout`).
        c.previousFrame = .given
        // Since 0.21.0: the given frame's features moved to where each step's pose puts the
        // dancer. In 4 paired seeds test/0 gained +0.32, +0.02, +0.17 and +0.23 dB (mean 31.09),
        // the frames far from the given frame's place +0.63, +0.31 and +0.43 (seeds 1-3), the gap
        // narrowed in each (2.09 against 2.34), at 0.93x the training frames/s. Saved runs without
        // the key keep false.
        c.alignGiven = true
        // Since 0.22.0: half the training clips take a given frame drawn in proportion to how far
        // sideways it puts the dancer from the clip's, so training meets the long moves that
        // footage crossing the stage asks for. In 4 paired seeds test/0 moved +0.07, -0.12, +0.17
        // and +0.59 dB (mean 31.27), the frames far from the given frame's place gained in each
        // (+0.34 on average) and the gap narrowed on average (1.86 against 2.09) at about the same
        // val (-0.05) and speed. Saved runs without the key keep 0.
        c.referenceFar = 0.5
        return c
    }

    /// The untrained network the settings describe.
    public func makeModel(_ config: TrainConfig) throws -> any VideoModel {
        switch self {
        case .lab: return try LabModel(config.dimensions, learnedPrior: config.prior == .learned)
        case .pyramid: return try PyramidModel(config.pyramidDimensions, learnedPrior: config.prior == .learned)
        }
    }

    /// The network in one line: "lab, F=128 L=32 N=12 D=192, prior standard".
    public func modelSummary(_ config: TrainConfig) -> String {
        switch self {
        case .lab:
            return "lab, F=\(config.frameDim) L=\(config.labelDim) N=\(config.noiseDim) D=\(config.decoderDim), prior \(config.prior.rawValue)"
        case .pyramid:
            let given = config.referenceFrame ? " + given frame" : ""
            let steps = config.previousFrame == .given ? ", every step from the given frame\(config.alignGiven ? " moved to the dancer\(config.alignFlow ? " by a learned flow" : "")" : "")" : ""
            return "pyramid, frame \(config.pyramidFrame) pose \(config.pyramidPose) N=\(config.noiseDim)\(given), \(config.residual.summary)\(steps), prior \(config.prior.rawValue)"
        }
    }

    /// The preset's own constraints on the settings.
    func validate(_ config: TrainConfig) throws {
        switch self {
        case .lab:
            try config.dimensions.validate()
        case .pyramid:
            try config.pyramidDimensions.validate()
            try config.pyramidDimensions.checkFrameSize(height: config.height, width: config.width)
        }
    }
}

extension TrainConfig {
    /// The untrained model these settings describe.
    public func makeModel() throws -> any VideoModel { try preset.makeModel(self) }
}
