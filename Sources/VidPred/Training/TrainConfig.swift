import Foundation
import Torch

/// Every option of a training run. The same keys work on the command line (`--tfr-sde 10`), in a
/// `--config` YAML/JSON file (`tfr_sde: 10`) and in the run folder's saved `config.json`. Names
/// follow the lab where users will look for them.
public struct TrainConfig: Codable, Equatable, Sendable {
    // Model
    public var preset = "lab"
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
    // Run control
    public var seed: UInt64 = 1
    public var perSave = 5
    public var valEvery = 1
    /// Stop when the val PSNR has not improved for this many validations (nil = never).
    public var earlyStopPatience: Int? = nil
    /// Stop after this many minutes of training (nil = run all epochs).
    public var timeBudgetMinutes: Double? = nil
    /// "fp32" (the lab) or "bf16": bfloat16 autocast for the convolutions with float32 master
    /// weights, loss and optimizer, always with channels-last memory (bf16 in NCHW is slower than
    /// fp32 on oneDNN: measured 14 s vs 6 s per lab iteration here; channels-last bf16: about 3 s).
    public var precision = "fp32"
    /// Channels-last memory format (implied by bf16).
    public var channelsLast = false

    public init() {}

    enum CodingKeys: String, CodingKey {
        case preset, height, width, partial, epochs, lr, optimizer, milestones, gamma, clip, tfr, seed, shuffle
        case frameDim = "frame_dim", labelDim = "label_dim", noiseDim = "noise_dim", decoderDim = "decoder_dim"
        case trainVideoLength = "train_vi_len", valVideoLength = "val_vi_len"
        case fastTrain = "fast_train", fastPartial = "fast_partial", fastTrainEpoch = "fast_train_epoch"
        case windowStride = "window_stride", batchSize = "batch_size", weightDecay = "weight_decay"
        case lrSchedule = "lr_schedule", warmupEpochs = "warmup_epochs"
        case tfrSde = "tfr_sde", tfrDStep = "tfr_d_step", tfrEvery = "tfr_every"
        case klAnnealType = "kl_anneal_type", klAnnealCycle = "kl_anneal_cycle", klAnnealRatio = "kl_anneal_ratio"
        case perSave = "per_save", valEvery = "val_every", earlyStopPatience = "early_stop_patience"
        case timeBudgetMinutes = "time_budget_minutes", precision, channelsLast = "channels_last"
    }

    /// Decodes a partial file: keys it lacks keep their defaults; unknown keys are an error.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var d = TrainConfig()
        func take<T: Decodable>(_ key: CodingKeys, _ path: WritableKeyPath<TrainConfig, T>) throws {
            if let v = try c.decodeIfPresent(T.self, forKey: key) { d[keyPath: path] = v }
        }
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
        self = d
    }

    public var usesBFloat16: Bool { precision == "bf16" }
    public var usesChannelsLast: Bool { channelsLast || usesBFloat16 }

    public var dimensions: ModelDimensions {
        ModelDimensions(frame: frameDim, label: labelDim, noise: noiseDim, decoder: decoderDim)
    }

    public var teacherForcing: TeacherForcingSchedule {
        TeacherForcingSchedule(start: tfr, decayStart: tfrSde, step: tfrDStep, every: tfrEvery)
    }

    public var klAnnealing: KLAnnealing {
        KLAnnealing(kind: klAnnealType, cycles: klAnnealCycle, ratio: klAnnealRatio, epochs: epochs)
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
        guard preset == "lab" else { throw fail("preset '\(preset)' is unknown; available: lab") }
        guard ["multistep", "constant", "cosine"].contains(lrSchedule) else {
            throw fail("lr_schedule '\(lrSchedule)' is unknown; use multistep, constant or cosine")
        }
        guard ["fp32", "bf16"].contains(precision) else { throw fail("precision '\(precision)' is unknown; use fp32 or bf16") }
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
        try dimensions.validate()
    }
}

public struct ConfigError: Error, CustomStringConvertible, LocalizedError {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var errorDescription: String? { description }
}
