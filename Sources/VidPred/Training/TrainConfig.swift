import Foundation
import Torch

/// Every setting of a training run. `settings` below declares each one once (key, the lab
/// template's names for it, help text): the command line (`--tfr-sde 10`), `--config` YAML/JSON
/// files (`tfr_sde: 10`), the run folder's `config.json`, sweeps and reports all go through it.
/// The defaults here are the lab's; `Preset.recipe` starts each preset from its own.
public struct TrainConfig: Equatable, Sendable {
    // Model
    public var preset = Preset.lab
    public var prior = Prior.standard
    /// Where validation (and by default `predict`) takes z from; nil: the model's natural one.
    public var latent: LatentSource? = nil
    /// `predict`, `animate` and `bench quality` average each video with its mirror (`Predictor.mirrorAverage`).
    public var mirrorAverage = false
    public var pyramidFrame = [32, 64, 128]
    public var pyramidPose = [16, 32, 64]
    public var referenceFrame = true
    public var residual = Residual.first
    public var previousFrame = PreviousFrame.predicted
    public var givenAttention = 0
    public var alignGiven = false
    public var alignFlow = false
    public var referenceSampling = ReferenceSampling.window
    public var referenceFar = 0.0
    public var frameDim = 128
    public var labelDim = 32
    public var noiseDim = 12
    public var decoderDim = 192
    // Data
    public var height = 32
    public var width = 64
    public var trainVideoLength = 16
    public var valVideoLength = 0
    public var partial = 1.0
    public var fastTrain = false
    public var fastPartial = 0.4
    public var fastTrainEpoch = 5
    public var windowStride: Int? = nil
    public var shuffle = false
    public var augmentFlip = 0.0
    public var augmentZoom = 0.0
    public var augmentShift = 0.0
    public var augmentShiftX: Double? = nil
    public var augmentJitter = 0.0
    // Optimisation
    public var epochs = 70
    public var batchSize = 2
    public var lr = 1e-3
    public var optimizer = Optimizer.Kind.adam
    public var weightDecay: Double? = nil
    public var lrSchedule = LearningRateSchedule.multistep
    public var milestones = [2, 5]
    public var gamma = 0.1
    public var warmupEpochs = 0
    public var clip = 1.0
    public var emaDecay = 0.0
    public var syncBatchnorm = false
    // Teacher forcing
    public var tfr = 1.0
    public var tfrSde = 10
    public var tfrDStep = 0.1
    public var tfrEvery = 1
    // KL annealing
    public var klAnnealType = KLAnnealing.Kind.cyclical
    public var klAnnealCycle = 10
    public var klAnnealRatio = 1.0
    public var klWeight = 1.0
    // Run control
    public var seed: UInt64 = 1
    public var perSave = 5
    public var valEvery = 1
    public var earlyStopPatience: Int? = nil
    public var timeBudgetMinutes: Double? = nil
    public var snapshotEveryMinutes: Double? = nil
    public var precision = Precision.fp32
    public var channelsLast = true

    public init() {}

    /// Every setting, in the order help texts list them.
    public static var settings: [Setting] {
        [
            Setting("preset", \.preset, .model, "The network and its starting recipe: lab (the lab's network, every map at full resolution) or pyramid (the efficient U-Net; its recipe: README, Presets)."),
            Setting("prior", \.prior, .model, "standard: KL to N(0, I) and z ~ N(0, I) at test time (the lab); learned: a learned prior p(z_t | x_{t-1}, pose_t), trained with KL(posterior || prior)."),
            Setting("latent", \.latent, .model, "Where validation and predict take z from: standard-normal, learned-prior or prior-mean (the last two need prior learned); none: the model's natural one."),
            Setting("mirror_average", \.mirrorAverage, .model, "predict, animate and bench quality also generate each video mirrored left to right (the first frame and labels flipped, the labels' left and right colours swapped) and average it, flipped back, with the plain one: twice the generation time, for models trained with augment_flip. Validation during training does not: it only ranks checkpoints, at half the time.",
                    savedWithout: false),  // in the pyramid recipe since 0.24.0; older run folders lack the key
            Setting("pyramid_frame", \.pyramidFrame, .model, "frame encoder/decoder widths at full, 1/2, 1/4... resolution: one scale per width (a fourth or fifth for frames above 64x32 keeps the lowest scale at 8x16).", onlyFor: .pyramid),
            Setting("pyramid_pose", \.pyramidPose, .model, "pose encoder widths at the same scales.", onlyFor: .pyramid),
            Setting("reference_frame", \.referenceFrame, .model, "also give the decoder the given (first) frame's features.", onlyFor: .pyramid),
            Setting("residual", \.residual, .model, "the output is a residual of the first (given) frame, the previous frame, or none; or composite: the given frame and generated pixels mixed by a learned mask.", onlyFor: .pyramid),
            Setting("previous_frame", \.previousFrame, .model, "What each step predicts from besides its pose: predicted (the previous prediction, the lab's loop) or given (the given frame at every step: no error accumulates over a rollout, and training runs a clip's steps together; teacher forcing then changes nothing).", onlyFor: .pyramid,
                    savedWithout: .predicted),  // the recipe said predicted until 0.16.0; older run folders lack the key
            Setting("given_attention", \.givenAttention, .model, "At the lowest N scales the decoder also attends to the given frame's features: each place looks up the dancer's appearance wherever the given frame shows it (a convolution reaches only a few cells around); 0: none.", onlyFor: .pyramid),
            Setting("align_given", \.alignGiven, .model, "With previous_frame given: each step's decoder takes the given frame's features moved sideways to where its pose puts the dancer (the mean column of the label's strokes against the given frame's label's) in the place of the previous frame's, which repeat the given frame's: the dancer's appearance lies where they now stand, however far they walked.", onlyFor: .pyramid,
                    savedWithout: false),  // in the pyramid recipe since 0.21.0; older run folders lack the key
            Setting("align_flow", \.alignFlow, .model, "With align_given: a learned flow field, from the step's pose and the given frame's label at the lowest scale, moves each place of the given frame's features further after the sideways move, so each limb can reach where the pose draws it (it starts at zero: align_given's move).", onlyFor: .pyramid),
            Setting("reference_sampling", \.referenceSampling, .model, "What a training clip treats as its video's given frame: window (the clip's own first frame) or random (a random frame of the same video; models with a reference frame)."),
            Setting("reference_far", \.referenceFar, .model, "With reference_sampling random: the share of training clips whose given frame is drawn in proportion to how far sideways its dancer stands from the clip's first frame's (the mean column of the label's strokes), the rest uniformly; 0: all uniform.",
                    savedWithout: 0.0),  // in the pyramid recipe since 0.22.0; run folders saved before 0.19.0 lack the key
            Setting("frame_dim", \.frameDim, .model, "F, frame feature channels.", aliases: ["F_dim"], onlyFor: .lab),
            Setting("label_dim", \.labelDim, .model, "L, label feature channels.", aliases: ["L_dim"], onlyFor: .lab),
            Setting("noise_dim", \.noiseDim, .model, "N, latent channels (both presets).", aliases: ["N_dim"]),
            Setting("decoder_dim", \.decoderDim, .model, "D, decoder channels.", aliases: ["D_out_dim"], onlyFor: .lab),
            Setting("height", \.height, .data, "Frame height (frames and labels are resized to it).", aliases: ["frame_H"]),
            Setting("width", \.width, .data, "Frame width.", aliases: ["frame_W"]),
            Setting("train_vi_len", \.trainVideoLength, .data, "Frames per training window."),
            Setting("val_vi_len", \.valVideoLength, .data, "Frames of each val video used for validation (0 = all)."),
            Setting("partial", \.partial, .data, "Fraction of the training data used."),
            Setting("fast_train", \.fastTrain, .data, "The lab's fast_train: only fast_partial of the data in the first fast_train_epoch epochs."),
            Setting("fast_partial", \.fastPartial, .data, "Fraction of the data used while fast-training."),
            Setting("fast_train_epoch", \.fastTrainEpoch, .data, "Epochs of fast training."),
            Setting("window_stride", \.windowStride, .data, "Start a training window every N frames; none: non-overlapping windows in file order (the lab)."),
            Setting("shuffle", \.shuffle, .data, "Shuffle the training windows every epoch (seeded)."),
            Setting("augment_flip", \.augmentFlip, .data, "Probability of mirroring a training clip left to right (frames, labels with their left and right colours swapped, given frame).",
                    savedWithout: 0.0),
            Setting("augment_zoom", \.augmentZoom, .data, "Zoom training clips by a scale from [1/(1+X), 1+X] (above 1 a crop, which can cut the body); 0: off.",
                    savedWithout: 0.0),
            Setting("augment_shift", \.augmentShift, .data, "Move training clips by up to this fraction of the width and height (border pixels fill in); 0: off.",
                    savedWithout: 0.0),
            Setting("augment_shift_x", \.augmentShiftX, .data, "Move training clips sideways by up to this fraction of the width instead (dancers cross the whole stage, the floor stays put: torchvision's RandomAffine translate=(x, y)); none: augment_shift.",
                    savedWithout: .some(nil)),  // none until the pyramid recipe took 0.4 in 0.18.0
            Setting("augment_jitter", \.augmentJitter, .data, "Change the training frames' brightness by up to +-X, contrast and saturation by up to x(1+-X); labels unchanged; 0: off.",
                    savedWithout: 0.0),
            Setting("epochs", \.epochs, .optimisation, "Epochs to train.", aliases: ["num_epoch"]),
            Setting("batch_size", \.batchSize, .optimisation, "Clips per batch."),
            Setting("lr", \.lr, .optimisation, "Learning rate."),
            Setting("optimizer", \.optimizer, .optimisation, "adam or adamw.", aliases: ["optim"]),
            Setting("weight_decay", \.weightDecay, .optimisation, "Weight decay; none: 0 for adam, 0.01 for adamw (PyTorch's defaults)."),
            Setting("lr_schedule", \.lrSchedule, .optimisation, "multistep (x gamma at each milestone, the lab), constant, or cosine (warm-up, then cosine decay to 5%)."),
            Setting("milestones", \.milestones, .optimisation, "Epochs where the multistep schedule multiplies the rate by gamma."),
            Setting("gamma", \.gamma, .optimisation, "Factor at each milestone."),
            Setting("warmup_epochs", \.warmupEpochs, .optimisation, "Linear warm-up epochs of the cosine schedule."),
            Setting("clip", \.clip, .optimisation, "Gradient-norm clipping."),
            Setting("ema_decay", \.emaDecay, .optimisation, "Validate, keep the best of and save an exponential moving average of the weights with this decay per step (e.g. 0.995; it rises to it as (1+n)/(10+n)); the state files keep the raw weights for resuming; 0: off.",
                    savedWithout: 0.0),
            Setting("sync_batchnorm", \.syncBatchnorm, .optimisation, "In a job of several processes: BatchNorm normalises with the global batch's statistics (PyTorch's SyncBatchNorm) rather than each rank's own (DDP's default).", onlyFor: .lab),
            Setting("tfr", \.tfr, .teacherForcing, "Teacher-forcing ratio at the start (each epoch trains with teacher forcing ON with this probability)."),
            Setting("tfr_sde", \.tfrSde, .teacherForcing, "Epoch where tfr starts to decay."),
            Setting("tfr_d_step", \.tfrDStep, .teacherForcing, "tfr decay step."),
            Setting("tfr_every", \.tfrEvery, .teacherForcing, "Decay tfr every N epochs (the report's strategies: 5, 10)."),
            Setting("kl_anneal_type", \.klAnnealType, .klAnnealing, "KL weight schedule: None (beta 1), Monotonic or Cyclical."),
            Setting("kl_anneal_cycle", \.klAnnealCycle, .klAnnealing, "Cycles of cyclical annealing over the run."),
            Setting("kl_anneal_ratio", \.klAnnealRatio, .klAnnealing, "Rising fraction of each cycle."),
            Setting("kl_weight", \.klWeight, .klAnnealing, "Multiplies the annealed beta (the lab's KL sums over every latent value, so beta 1 weighs it heavily)."),
            Setting("seed", \.seed, .run, "Random seed (initial weights, noise, data order, teacher-forcing coins)."),
            Setting("per_save", \.perSave, .run, "Save checkpoints/epoch-NNNN every N epochs (0: never)."),
            Setting("val_every", \.valEvery, .run, "Validate every N epochs (and after the last)."),
            Setting("early_stop_patience", \.earlyStopPatience, .run, "Stop after N validations without a better val PSNR; none: never."),
            Setting("time_budget_minutes", \.timeBudgetMinutes, .run, "Stop after this many minutes of training (then validate and save); none: run every epoch.", aliases: ["time_budget"]),
            Setting("snapshot_every_minutes", \.snapshotEveryMinutes, .run, "Also save checkpoints/minute-MMMM.MM every this many training minutes (the quality benchmark's curve); none: never."),
            Setting("precision", \.precision, .run, "fp32 (the lab); bf16: bfloat16 autocast for the convolutions with float32 weights, loss and optimizer, always channels-last (about 2x faster on CPUs with AVX512-BF16/AMX, several times slower on others); auto: bf16 where the device has native bfloat16, else fp32 (the run records which).",
                    savedWithout: .fp32),  // settings with savedWithout: the pyramid recipe changed them in 0.17.0
            Setting("channels_last", \.channelsLast, .run, "Channels-last memory (implied by bf16): 1.2x faster fp32 training here, same values up to rounding."),
        ]
    }

    public var usesChannelsLast: Bool { channelsLast || precision == .bf16 }

    /// These settings with `precision auto` replaced by what it means on `device`; `say` gets
    /// the choice and its reason when there was one to make.
    public func resolvingPrecision(on device: Device, say: (String) -> Void = { _ in }) -> TrainConfig {
        var c = self
        c.precision = precision.resolved(on: device, say: say)
        return c
    }

    public var pyramidDimensions: PyramidDimensions {
        PyramidDimensions(frame: pyramidFrame, pose: pyramidPose, noise: noiseDim, reference: referenceFrame, residual: residual,
                          previousFrame: previousFrame, givenAttention: givenAttention, alignGiven: alignGiven, alignFlow: alignFlow)
    }

    public var dimensions: ModelDimensions {
        ModelDimensions(frame: frameDim, label: labelDim, noise: noiseDim, decoder: decoderDim)
    }

    public var augmentation: Augmentation {
        Augmentation(flip: augmentFlip, zoom: augmentZoom, shift: augmentShift, shiftX: augmentShiftX, jitter: augmentJitter)
    }

    public var teacherForcing: TeacherForcingSchedule {
        TeacherForcingSchedule(start: tfr, decayStart: tfrSde, step: tfrDStep, every: tfrEvery)
    }

    public var klAnnealing: KLAnnealing {
        KLAnnealing(kind: klAnnealType, cycles: klAnnealCycle, ratio: klAnnealRatio, epochs: epochs, weight: klWeight)
    }

    public var learningRateSchedule: LRSchedule {
        lrSchedule.schedule(epochs: epochs, warmupEpochs: warmupEpochs, milestones: milestones, gamma: gamma)
    }

    /// Checks values a run cannot start with; the message names the setting and what is allowed.
    public func validate() throws {
        func fail(_ text: String) -> ConfigError { ConfigError(text) }
        if let latent, latent.needsLearnedPrior && prior != .learned { throw fail("latent \(latent.rawValue) needs prior learned") }
        if referenceSampling == .random && preset == .lab { throw fail("reference_sampling random needs a model with a reference frame (preset pyramid)") }
        guard (0...1).contains(referenceFar) else { throw fail("reference_far must be in [0, 1] (got \(referenceFar))") }
        if referenceFar > 0 && referenceSampling != .random { throw fail("reference_far \(referenceFar) needs reference_sampling random (got \(referenceSampling.rawValue)): add --reference-far 0 (the pyramid recipe has 0.5 since 0.22.0) or use --reference-sampling random") }
        guard klWeight >= 0 else { throw fail("kl_weight must be >= 0 (got \(klWeight))") }
        guard epochs >= 1 else { throw fail("epochs must be at least 1 (got \(epochs))") }
        guard batchSize >= 1 else { throw fail("batch_size must be at least 1 (got \(batchSize))") }
        guard trainVideoLength >= 2 else { throw fail("train_vi_len must be at least 2 (got \(trainVideoLength))") }
        guard valVideoLength >= 0 else { throw fail("val_vi_len must be 0 (all) or positive (got \(valVideoLength))") }
        guard lr > 0 else { throw fail("lr must be positive (got \(lr))") }
        guard gamma > 0 else { throw fail("gamma must be positive (got \(gamma))") }
        if let weightDecay, weightDecay < 0 { throw fail("weight_decay must be >= 0 (got \(weightDecay))") }
        guard (0...1).contains(tfr) else { throw fail("tfr must be in [0, 1] (got \(tfr))") }
        guard tfrDStep >= 0 else { throw fail("tfr_d_step must be >= 0 (got \(tfrDStep))") }
        guard partial > 0, partial <= 1 else { throw fail("partial must be in (0, 1] (got \(partial))") }
        guard fastPartial > 0, fastPartial <= 1 else { throw fail("fast_partial must be in (0, 1] (got \(fastPartial))") }
        guard height >= 4, width >= 4 else { throw fail("height and width must be at least 4 (got \(height)x\(width))") }
        // Upper bounds keep a typo from asking libtorch for terabytes.
        guard height <= 8192, width <= 8192 else { throw fail("height and width must be at most 8192 (got \(height)x\(width))") }
        for (key, value) in [("frame_dim", frameDim), ("label_dim", labelDim), ("noise_dim", noiseDim), ("decoder_dim", decoderDim),
                             ("batch_size", batchSize), ("train_vi_len", trainVideoLength)] where value > 100_000 {
            throw fail("\(key) must be at most 100000 (got \(value))")
        }
        guard klAnnealRatio > 0 else { throw fail("kl_anneal_ratio must be positive (got \(klAnnealRatio))") }
        if let s = windowStride, s < 1 { throw fail("window_stride must be at least 1 (got \(s))") }
        for (key, value, most) in [("augment_flip", augmentFlip, 1.0), ("augment_zoom", augmentZoom, 1.0), ("augment_shift", augmentShift, 0.5),
                                   ("augment_shift_x", augmentShiftX ?? 0, 0.5), ("augment_jitter", augmentJitter, 0.5)] where !(0...most).contains(value) {
            throw fail("\(key) must be in [0, \(most)] (got \(value))")
        }
        guard clip > 0 else { throw fail("clip must be positive (got \(clip))") }
        guard (0..<1).contains(emaDecay) else { throw fail("ema_decay must be in [0, 1), 0 for off (got \(emaDecay))") }
        for (key, value) in [("per_save", perSave), ("warmup_epochs", warmupEpochs), ("given_attention", givenAttention)] where value < 0 {
            throw fail("\(key) must be >= 0 (got \(value))")
        }
        for (key, value) in [("val_every", valEvery), ("tfr_every", tfrEvery), ("kl_anneal_cycle", klAnnealCycle)] where value < 1 {
            throw fail("\(key) must be at least 1 (got \(value))")
        }
        if let p = earlyStopPatience, p < 1 { throw fail("early_stop_patience must be at least 1 (got \(p))") }
        for (key, value) in [("time_budget_minutes", timeBudgetMinutes), ("snapshot_every_minutes", snapshotEveryMinutes)] {
            if let value, value <= 0 { throw fail("\(key) must be positive (got \(value))") }
        }
        try preset.validate(self)
    }
}

/// The number format a run computes in.
public enum Precision: String, SettingChoice, Codable {
    /// float32 everywhere (the lab).
    case fp32
    /// bfloat16 autocast for the convolutions, float32 master weights, loss and optimizer, always
    /// with channels-last memory (bf16 in NCHW is slower than fp32 on oneDNN: 14 s against 6 s per
    /// lab iteration measured here; channels-last bf16: about 3 s).
    case bf16
    /// bf16 where the device computes bfloat16 natively (a CPU with AVX512-BF16 or AMX, a GPU
    /// with bf16), else fp32: emulated bf16 trained the pyramid 11x slower than fp32 on a 2-core
    /// AVX2 CPU (2.4 against 26.7 frames/s). The pyramid recipe's choice; a run resolves it on its
    /// device before it starts (`resolved(on:)`) and records the precision it chose.
    case auto

    /// The precision this one means on `device`; `say` gets what `auto` chose and why, for the
    /// console (fp32 and bf16 say nothing).
    public func resolved(on device: Device, say: (String) -> Void = { _ in }) -> Precision {
        guard self == .auto else { return self }
        let chosen: Precision = Runtime.hasBFloat16(on: device) ? .bf16 : .fp32
        let why = chosen == .bf16 ? "computes bfloat16 natively" : "has no native bfloat16 (AVX512-BF16 or AMX on a CPU)"
        say("precision auto: \(chosen.rawValue), since the device (\(device)) \(why)")
        return chosen
    }

    public var usesAutocast: Bool {
        precondition(self != .auto, "precision auto must be resolved on the device first (Precision.resolved(on:))")
        return self == .bf16
    }
}

extension Optimizer.Kind: SettingChoice {}
extension KLAnnealing.Kind: SettingChoice {}

/// `config.json`: every setting under its key (unset optional ones as null).
extension TrainConfig: Codable {
    struct Key: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        for setting in Self.settings { try c.encode(setting.value(in: self), forKey: Key(stringValue: setting.key)) }
    }

    /// Decodes a saved config (`saved`); an unknown key or a value of the wrong type is a
    /// `ConfigError` naming it.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        let entries = try c.allKeys.sorted { $0.stringValue < $1.stringValue }.map { ($0.stringValue, try c.decode(ConfigValue.self, forKey: $0)) }
        self = try Self.saved(SettingSource(name: "config", entries: entries))
    }

    /// A saved run's settings. A key the file lacks was saved before that setting existed: it
    /// takes the value such runs were trained with (`Setting.savedWithout`), else the preset's
    /// recipe. A config file a user writes takes the recipe for every key it lacks (`resolve`).
    static func saved(_ file: SettingSource) throws -> TrainConfig {
        let present = Set(file.entries.compactMap { setting(named: $0.key)?.key })
        let older = settings.compactMap { s in s.savedWithout.map { (key: s.key, value: $0) } }.filter { !present.contains($0.key) }
        return try resolve([SettingSource(name: file.name, entries: older), file])
    }

    /// Reads a saved `config.json`; errors name the file.
    public static func read(_ url: URL) throws -> TrainConfig {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ConfigError("cannot read \(url.path): \(error.localizedDescription)")
        }
        do {
            let values = try JSONDecoder().decode([String: ConfigValue].self, from: data)
            return try saved(SettingSource(name: url.path, entries: values.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }))
        } catch let error as ConfigError {
            throw error
        } catch {
            throw ConfigError("\(url.path) is not a JSON object of settings: \(error.localizedDescription)")
        }
    }

    /// `config.json`'s bytes: pretty-printed, keys sorted.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
