import Foundation
import Torch

/// Every option of a training run. The same keys work on the command line (`--tfr-sde 10`), in a
/// `--config` YAML/JSON file (`tfr_sde: 10`) and in the run folder's saved `config.json`. Names
/// follow the lab where users will look for them.
public struct TrainConfig: Codable, Equatable, Sendable {
    // Model
    /// "lab" (the lab's network, every map at full resolution) or "pyramid" (the efficient preset).
    public var preset = "lab"
    /// "standard" (KL to N(0, I), z ~ N(0, I) at test time: the lab) or "learned" (a learned prior
    /// p(z_t | x_{t-1}, pose_t), trained with KL(posterior || prior), sampled at test time).
    public var prior = "standard"
    /// Where validation (and, by default, `vidpred predict`) takes z from: "standard-normal",
    /// "learned-prior" or "prior-mean"; nil = the model's natural one (learned prior if any).
    public var latent: String? = nil
    /// Pyramid preset widths per scale (full, 1/2, 1/4 resolution) of the frame and pose encoders.
    public var pyramidFrame = [32, 64, 128]
    public var pyramidPose = [16, 32, 64]
    /// Pyramid preset: also give the decoder the first frame's features.
    public var referenceFrame = true
    /// Pyramid preset: the output is a residual of the "first" or the "previous" frame.
    public var residual = "first"
    /// What a training clip treats as the video's given frame (models with a reference frame):
    /// "window" (the clip's own first frame) or "random" (a random frame of the same training
    /// video, so long-range motion is learned from short clips).
    public var referenceSampling = "window"
    public var frameDim = 128
    public var labelDim = 32
    public var noiseDim = 12
    public var decoderDim = 192
    // Data
    public var height = 32
    public var width = 64
    public var trainVideoLength = 16
    /// Frames of each val video used for validation (0 = all).
    public var valVideoLength = 0
    public var partial = 1.0
    public var fastTrain = false
    public var fastPartial = 0.4
    public var fastTrainEpoch = 5
    /// Window stride in frames; nil = non-overlapping windows in file order (the lab).
    public var windowStride: Int? = nil
    public var shuffle = false
    // Optimisation
    public var epochs = 70
    public var batchSize = 2
    public var lr = 1e-3
    public var optimizer: Optimizer.Kind = .adam
    public var weightDecay: Double? = nil
    /// "multistep" (the lab: x`gamma` at each of `milestones`), "constant" or "cosine".
    public var lrSchedule = "multistep"
    public var milestones = [2, 5]
    public var gamma = 0.1
    public var warmupEpochs = 0
    public var clip = 1.0
    // Teacher forcing
    public var tfr = 1.0
    public var tfrSde = 10
    public var tfrDStep = 0.1
    public var tfrEvery = 1
    // KL annealing
    public var klAnnealType: KLAnnealing.Kind = .cyclical
    public var klAnnealCycle = 10
    public var klAnnealRatio = 1.0
    /// Multiplies the annealed beta (the lab: 1). The lab's KL is a sum over every latent value
    /// against a per-pixel mean MSE, so beta 1 weighs it heavily.
    public var klWeight = 1.0
    // Run control
    public var seed: UInt64 = 1
    public var perSave = 5
    public var valEvery = 1
    /// Stop when the val PSNR has not improved for this many validations (nil = never).
    public var earlyStopPatience: Int? = nil
    /// Stop after this many minutes of training (nil = run all epochs).
    public var timeBudgetMinutes: Double? = nil
    /// Also save `checkpoints/minute-MMMM.MM.safetensors` every this many minutes of training (the
    /// quality benchmark's PSNR-vs-compute curve); nil = never.
    public var snapshotEveryMinutes: Double? = nil
    /// "fp32" (the lab) or "bf16": bfloat16 autocast for the convolutions with float32 master
    /// weights, loss and optimizer, always with channels-last memory (bf16 in NCHW is slower than
    /// fp32 on oneDNN: measured 14 s vs 6 s per lab iteration here; channels-last bf16: about 3 s).
    public var precision = "fp32"
    /// The values `precision` takes (training, `vidpred predict --precision`).
    public static let precisions = ["fp32", "bf16"]
    /// Channels-last memory format (implied by bf16). On by default: in float32 it made the lab
    /// model's training iteration 1.2x faster here (oneDNN's 1x1 convolutions prefer NHWC); values
    /// are the same up to float rounding.
    public var channelsLast = true

    public init() {}

    /// The starting recipe of a preset: `lab` is the lab's template exactly; `pyramid` is the
    /// efficient preset's recipe, chosen by measurement on ../shared/data/edn-s4 (README, "Quality").
    public static func defaults(for preset: String) -> TrainConfig {
        var c = TrainConfig()
        c.preset = preset
        guard preset == "pyramid" else { return c }
        c.prior = "learned"
        c.latent = LatentSource.priorMean.rawValue
        c.noiseDim = 16
        c.klAnnealType = .none
        c.klWeight = 1e-3
        c.tfr = 0
        c.lrSchedule = "cosine"
        c.warmupEpochs = 1
        c.lr = 2e-3
        c.epochs = 40
        c.batchSize = 4
        c.windowStride = 4
        c.shuffle = true
        c.perSave = 0
        c.referenceSampling = "random"
        return c
    }

    enum CodingKeys: String, CodingKey {
        case preset, prior, latent, height, width, partial, epochs, lr, optimizer, milestones, gamma, clip, tfr, seed, shuffle
        case pyramidFrame = "pyramid_frame", pyramidPose = "pyramid_pose", referenceFrame = "reference_frame", residual, referenceSampling = "reference_sampling"
        case klWeight = "kl_weight"
        case frameDim = "frame_dim", labelDim = "label_dim", noiseDim = "noise_dim", decoderDim = "decoder_dim"
        case trainVideoLength = "train_vi_len", valVideoLength = "val_vi_len"
        case fastTrain = "fast_train", fastPartial = "fast_partial", fastTrainEpoch = "fast_train_epoch"
        case windowStride = "window_stride", batchSize = "batch_size", weightDecay = "weight_decay"
        case lrSchedule = "lr_schedule", warmupEpochs = "warmup_epochs"
        case tfrSde = "tfr_sde", tfrDStep = "tfr_d_step", tfrEvery = "tfr_every"
        case klAnnealType = "kl_anneal_type", klAnnealCycle = "kl_anneal_cycle", klAnnealRatio = "kl_anneal_ratio"
        case perSave = "per_save", valEvery = "val_every", earlyStopPatience = "early_stop_patience"
        case timeBudgetMinutes = "time_budget_minutes", snapshotEveryMinutes = "snapshot_every_minutes", precision, channelsLast = "channels_last"
    }

    /// Decoder userInfo key: the preset whose recipe a file without a `preset` key starts from.
    public static let basePresetKey = CodingUserInfoKey(rawValue: "vidpred.basePreset")!

    /// Decodes a partial file: keys it lacks keep their preset's defaults (`defaults(for:)`);
    /// unknown keys are an error.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let base = try c.decodeIfPresent(String.self, forKey: .preset) ?? (decoder.userInfo[Self.basePresetKey] as? String) ?? "lab"
        var d = TrainConfig.defaults(for: base)
        func take<T: Decodable>(_ key: CodingKeys, _ path: WritableKeyPath<TrainConfig, T>) throws {
            if let v = try c.decodeIfPresent(T.self, forKey: key) { d[keyPath: path] = v }
        }
        try take(.prior, \.prior); try take(.pyramidFrame, \.pyramidFrame); try take(.pyramidPose, \.pyramidPose)
        try take(.referenceFrame, \.referenceFrame); try take(.residual, \.residual); try take(.referenceSampling, \.referenceSampling); try take(.klWeight, \.klWeight)
        if let v = try c.decodeIfPresent(String.self, forKey: .latent) { d.latent = v }
        try take(.preset, \.preset); try take(.frameDim, \.frameDim); try take(.labelDim, \.labelDim)
        try take(.noiseDim, \.noiseDim); try take(.decoderDim, \.decoderDim); try take(.height, \.height)
        try take(.width, \.width); try take(.trainVideoLength, \.trainVideoLength); try take(.valVideoLength, \.valVideoLength)
        try take(.partial, \.partial); try take(.fastTrain, \.fastTrain); try take(.fastPartial, \.fastPartial)
        try take(.fastTrainEpoch, \.fastTrainEpoch); try take(.shuffle, \.shuffle); try take(.epochs, \.epochs)
        try take(.batchSize, \.batchSize); try take(.lr, \.lr); try take(.optimizer, \.optimizer)
        try take(.lrSchedule, \.lrSchedule); try take(.milestones, \.milestones); try take(.gamma, \.gamma)
        try take(.warmupEpochs, \.warmupEpochs); try take(.clip, \.clip); try take(.tfr, \.tfr)
        try take(.tfrSde, \.tfrSde); try take(.tfrDStep, \.tfrDStep); try take(.tfrEvery, \.tfrEvery)
        try take(.klAnnealType, \.klAnnealType); try take(.klAnnealCycle, \.klAnnealCycle)
        try take(.klAnnealRatio, \.klAnnealRatio); try take(.seed, \.seed); try take(.perSave, \.perSave)
        try take(.valEvery, \.valEvery); try take(.precision, \.precision); try take(.channelsLast, \.channelsLast)
        if let v = try c.decodeIfPresent(Int.self, forKey: .windowStride) { d.windowStride = v }
        if let v = try c.decodeIfPresent(Double.self, forKey: .weightDecay) { d.weightDecay = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .earlyStopPatience) { d.earlyStopPatience = v }
        if let v = try c.decodeIfPresent(Double.self, forKey: .timeBudgetMinutes) { d.timeBudgetMinutes = v }
        if let v = try c.decodeIfPresent(Double.self, forKey: .snapshotEveryMinutes) { d.snapshotEveryMinutes = v }
        self = d
    }

    public var usesBFloat16: Bool { precision == "bf16" }
    public var usesChannelsLast: Bool { channelsLast || usesBFloat16 }

    public var pyramidDimensions: PyramidDimensions {
        PyramidDimensions(frame: pyramidFrame, pose: pyramidPose, noise: noiseDim, reference: referenceFrame, residual: residual)
    }

    /// The latent validation and prediction use by default (nil: the model's natural one).
    public var latentSource: LatentSource? { latent.flatMap(LatentSource.init(rawValue:)) }

    public var dimensions: ModelDimensions {
        ModelDimensions(frame: frameDim, label: labelDim, noise: noiseDim, decoder: decoderDim)
    }

    public var teacherForcing: TeacherForcingSchedule {
        TeacherForcingSchedule(start: tfr, decayStart: tfrSde, step: tfrDStep, every: tfrEvery)
    }

    public var klAnnealing: KLAnnealing {
        KLAnnealing(kind: klAnnealType, cycles: klAnnealCycle, ratio: klAnnealRatio, epochs: epochs, weight: klWeight)
    }

    public var learningRateSchedule: LRSchedule {
        switch lrSchedule {
        case "constant": return .constant
        case "cosine": return .cosine(totalEpochs: epochs, warmupEpochs: warmupEpochs, minFactor: 0.05)
        default: return .multiStep(milestones: milestones, gamma: gamma)
        }
    }

    /// Checks values a run cannot start with; the message names the option and what is allowed.
    public func validate() throws {
        func fail(_ text: String) -> ConfigError { ConfigError(text) }
        guard ["lab", "pyramid"].contains(preset) else { throw fail("preset '\(preset)' is unknown; available: lab, pyramid") }
        guard ["standard", "learned"].contains(prior) else { throw fail("prior '\(prior)' is unknown; use standard or learned") }
        if let latent {
            guard let source = LatentSource(rawValue: latent) else {
                throw fail("latent '\(latent)' is unknown; use \(LatentSource.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if source.needsLearnedPrior && prior != "learned" { throw fail("latent \(latent) needs prior: learned") }
        }
        guard ["window", "random"].contains(referenceSampling) else { throw fail("reference_sampling '\(referenceSampling)' is unknown; use window or random") }
        if referenceSampling == "random" && preset == "lab" { throw fail("reference_sampling random needs a model with a reference frame (--preset pyramid)") }
        guard klWeight >= 0, klWeight.isFinite else { throw fail("kl_weight must be a number >= 0 (got \(klWeight))") }
        guard ["multistep", "constant", "cosine"].contains(lrSchedule) else {
            throw fail("lr_schedule '\(lrSchedule)' is unknown; use multistep, constant or cosine")
        }
        guard Self.precisions.contains(precision) else { throw fail("precision '\(precision)' is unknown; use fp32 or bf16") }
        guard epochs >= 1 else { throw fail("epochs must be at least 1 (got \(epochs))") }
        guard batchSize >= 1 else { throw fail("batch_size must be at least 1 (got \(batchSize))") }
        guard trainVideoLength >= 2 else { throw fail("train_vi_len must be at least 2 (got \(trainVideoLength))") }
        guard lr > 0, lr.isFinite else { throw fail("lr must be a positive number (got \(lr))") }
        guard (0...1).contains(tfr) else { throw fail("tfr must be in [0, 1] (got \(tfr))") }
        guard partial > 0, partial <= 1 else { throw fail("partial must be in (0, 1] (got \(partial))") }
        guard fastPartial > 0, fastPartial <= 1 else { throw fail("fast_partial must be in (0, 1] (got \(fastPartial))") }
        guard height >= 4, width >= 4 else { throw fail("height and width must be at least 4 (got \(height)x\(width))") }
        guard klAnnealRatio > 0 else { throw fail("kl_anneal_ratio must be positive (got \(klAnnealRatio))") }
        if let s = windowStride, s < 1 { throw fail("window_stride must be at least 1 (got \(s))") }
        guard clip > 0 else { throw fail("clip must be positive (got \(clip))") }
        if preset == "pyramid" {
            try pyramidDimensions.validate()
            guard height % 4 == 0, width % 4 == 0 else { throw fail("the pyramid preset needs height and width divisible by 4 (got \(height)x\(width))") }
        } else {
            try dimensions.validate()
        }
    }
}

public struct ConfigError: Error, CustomStringConvertible, LocalizedError {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var errorDescription: String? { description }
}
