import ArgumentParser
import Foundation
import Torch
import VidPred
import VidPredData
import Yams

/// Training options: each one overrides the same key of `--config` (a YAML or JSON file with the
/// lab's key names, e.g. `tfr_sde: 10`), which overrides the defaults (the lab's).
struct TrainOptions: ParsableArguments {
    @Option(help: "A YAML or JSON file of training options (same keys as the saved config.json).")
    var config: String?

    @Option(help: "Model preset: lab (the lab's network and recipe) or pyramid (the efficient U-Net; its own default recipe, see README).") var preset: String?
    @Option(help: "standard (KL to N(0, I), the lab) or learned (a learned prior p(z_t | x_{t-1}, pose_t)).") var prior: String?
    @Option(help: "z for validation and predict: standard-normal, learned-prior or prior-mean.") var latent: String?
    @Option(help: "Pyramid preset: frame encoder/decoder widths per scale, comma-separated (default 32,64,128).") var pyramidFrame: String?
    @Option(help: "Pyramid preset: pose encoder widths per scale (default 16,32,64).") var pyramidPose: String?
    @Option(help: "Pyramid preset: give the decoder the first frame's features too (true/false).") var referenceFrame: Bool?
    @Option(help: "Pyramid preset: the output is a residual of the first or the previous frame (default first).") var residual: String?
    @Option(help: "Pyramid preset: a clip's given frame is its own first frame (window) or a random frame of its video (random).") var referenceSampling: String?
    @Option(help: "Multiplies the annealed KL weight beta (lab 1).") var klWeight: Double?
    @Option(help: "F: frame feature channels (lab 128).") var frameDim: Int?
    @Option(help: "L: label feature channels (lab 32).") var labelDim: Int?
    @Option(help: "N: latent channels (lab 12).") var noiseDim: Int?
    @Option(help: "D: decoder channels (lab 192).") var decoderDim: Int?
    @Option(help: "Frame height (lab 32).") var height: Int?
    @Option(help: "Frame width (lab 64).") var width: Int?
    @Option(name: .customLong("train-vi-len"), help: "Frames per training window (lab 16).") var trainViLen: Int?
    @Option(name: .customLong("val-vi-len"), help: "Frames of each val video used for validation (0 = all).") var valViLen: Int?
    @Option(help: "Fraction of the training data used (lab 1.0).") var partial: Double?
    @Flag(name: .customLong("fast-train"), help: "The lab's fast_train: fast_partial of the data in the first epochs.") var fastTrain = false
    @Option(name: .customLong("fast-partial"), help: "Fraction used while fast-training (lab 0.4).") var fastPartial: Double?
    @Option(name: .customLong("fast-train-epoch"), help: "Epochs of fast training (lab 5).") var fastTrainEpoch: Int?
    @Option(help: "Window stride (default: non-overlapping windows, the lab).") var windowStride: Int?
    @Flag(help: "Shuffle training windows every epoch (seeded).") var shuffle = false
    @Option(name: [.customLong("epochs"), .customLong("num-epoch")], help: "Epochs (lab 70).") var epochs: Int?
    @Option(help: "Batch size (lab 2).") var batchSize: Int?
    @Option(help: "Learning rate (lab 1e-3).") var lr: Double?
    @Option(help: "adam or adamw.") var optimizer: Optimizer.Kind?
    @Option(help: "Weight decay (default: 0 for adam, 0.01 for adamw).") var weightDecay: Double?
    @Option(help: "multistep (the lab: x gamma at the milestones), constant or cosine.") var lrSchedule: String?
    @Option(help: "Milestone epochs of the multistep schedule, comma-separated (lab 2,5).") var milestones: String?
    @Option(help: "Factor at each milestone (lab 0.1).") var gamma: Double?
    @Option(help: "Linear warm-up epochs for the cosine schedule.") var warmupEpochs: Int?
    @Option(help: "Gradient-norm clipping (lab 1.0).") var clip: Double?
    @Option(help: "Teacher-forcing ratio at the start (lab 1.0).") var tfr: Double?
    @Option(name: .customLong("tfr-sde"), help: "Epoch where tfr starts to decay (lab 10).") var tfrSde: Int?
    @Option(name: .customLong("tfr-d-step"), help: "tfr decay step (lab 0.1).") var tfrDStep: Double?
    @Option(name: .customLong("tfr-every"), help: "Decay tfr every n epochs (1; the report's strategies: 5, 10).") var tfrEvery: Int?
    @Option(name: .customLong("kl-anneal-type"), help: "None, Monotonic or Cyclical (lab Cyclical).") var klAnnealType: KLAnnealing.Kind?
    @Option(name: .customLong("kl-anneal-cycle"), help: "Cycles of cyclical annealing (lab 10).") var klAnnealCycle: Int?
    @Option(name: .customLong("kl-anneal-ratio"), help: "Rising fraction of each cycle (lab 1).") var klAnnealRatio: Double?
    @Option(help: "Random seed (model, noise, data order).") var seed: UInt64?
    @Option(name: .customLong("per-save"), help: "Save a checkpoint every n epochs.") var perSave: Int?
    @Option(help: "Validate every n epochs.") var valEvery: Int?
    @Option(help: "Stop after n validations without a better val PSNR.") var earlyStopPatience: Int?
    @Option(help: "Stop training after this many minutes (then validate and save).") var timeBudget: Double?
    @Option(help: "fp32 (the lab) or bf16 (autocast + channels-last: about 2x faster on CPUs with AVX512-BF16/AMX).")
    var precision: String?
    @Flag(inversion: .prefixedNo, help: "Channels-last memory format (default on; implied by bf16).") var channelsLast: Bool?

    /// Defaults, then the file, then the flags given on the command line.
    func resolve() throws -> TrainConfig {
        // The preset picks the base recipe; the file's keys and then the flags override it.
        var c = TrainConfig.defaults(for: preset ?? "lab")
        if let path = config {
            c = try Self.load(path, preset: preset)
        }
        if let v = preset { c.preset = v }
        if let v = prior { c.prior = v }
        if let v = latent { c.latent = v }
        func widths(_ text: String, _ flag: String) throws -> [Int] {
            let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 3, parts.allSatisfy({ ($0 ?? 0) > 0 }) else { throw ValidationError("--\(flag) takes three positive widths, e.g. 32,64,128 (got '\(text)')") }
            return parts.compactMap { $0 }
        }
        if let v = pyramidFrame { c.pyramidFrame = try widths(v, "pyramid-frame") }
        if let v = pyramidPose { c.pyramidPose = try widths(v, "pyramid-pose") }
        if let v = referenceFrame { c.referenceFrame = v }
        if let v = klWeight { c.klWeight = v }
        if let v = residual { c.residual = v }
        if let v = referenceSampling { c.referenceSampling = v }
        if let v = frameDim { c.frameDim = v }
        if let v = labelDim { c.labelDim = v }
        if let v = noiseDim { c.noiseDim = v }
        if let v = decoderDim { c.decoderDim = v }
        if let v = height { c.height = v }
        if let v = width { c.width = v }
        if let v = trainViLen { c.trainVideoLength = v }
        if let v = valViLen { c.valVideoLength = v }
        if let v = partial { c.partial = v }
        if fastTrain { c.fastTrain = true }
        if let v = fastPartial { c.fastPartial = v }
        if let v = fastTrainEpoch { c.fastTrainEpoch = v }
        if let v = windowStride { c.windowStride = v }
        if shuffle { c.shuffle = true }
        if let v = epochs { c.epochs = v }
        if let v = batchSize { c.batchSize = v }
        if let v = lr { c.lr = v }
        if let v = optimizer { c.optimizer = v }
        if let v = weightDecay { c.weightDecay = v }
        if let v = lrSchedule { c.lrSchedule = v }
        if let v = milestones {
            let parts = v.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.allSatisfy({ $0 != nil }) else { throw ValidationError("--milestones takes comma-separated epochs, e.g. 2,5 (got '\(v)')") }
            c.milestones = parts.compactMap { $0 }
        }
        if let v = gamma { c.gamma = v }
        if let v = warmupEpochs { c.warmupEpochs = v }
        if let v = clip { c.clip = v }
        if let v = tfr { c.tfr = v }
        if let v = tfrSde { c.tfrSde = v }
        if let v = tfrDStep { c.tfrDStep = v }
        if let v = tfrEvery { c.tfrEvery = v }
        if let v = klAnnealType { c.klAnnealType = v }
        if let v = klAnnealCycle { c.klAnnealCycle = v }
        if let v = klAnnealRatio { c.klAnnealRatio = v }
        if let v = seed { c.seed = v }
        if let v = perSave { c.perSave = v }
        if let v = valEvery { c.valEvery = v }
        if let v = earlyStopPatience { c.earlyStopPatience = v }
        if let v = timeBudget { c.timeBudgetMinutes = v }
        if let v = precision { c.precision = v }
        if let v = channelsLast { c.channelsLast = v }
        try c.validate()
        return c
    }

    static func load(_ path: String, preset: String? = nil) throws -> TrainConfig {
        let url = URL(fileURLWithPath: path)
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw ValidationError("cannot read the config file \(path)")
        }
        do {
            let info: [CodingUserInfoKey: Any] = preset.map { [TrainConfig.basePresetKey: $0] } ?? [:]
            if path.hasSuffix(".json") {
                let decoder = JSONDecoder()
                decoder.userInfo = info
                return try decoder.decode(TrainConfig.self, from: Data(text.utf8))
            }
            return try YAMLDecoder().decode(TrainConfig.self, from: text, userInfo: info)
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.dataCorrupted(context) {
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw ValidationError("\(path): bad value for '\(key)': \(context.debugDescription)")
        } catch {
            throw ValidationError("\(path): \(error)")
        }
    }
}

extension Optimizer.Kind: ExpressibleByArgument {}
extension KLAnnealing.Kind: ExpressibleByArgument {}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the conditional VAE with the lab's protocol (options and defaults are the lab's).",
        discussion: "Ctrl-C saves a checkpoint and exits; continue with --resume RUN. The run folder holds config.json, metrics.jsonl and checkpoints/ (see docs/run-folder.md).")

    @Option(help: "Dataset in the lab layout (default: the built-in synthetic dance data, made on first use).")
    var data: String?
    @Option(help: "Run folder.") var out: String?
    @Option(help: "Continue the run in this folder from its last checkpoint (its config.json is used).")
    var resume: String?
    @OptionGroup var options: TrainOptions
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        runtime.apply()
        let runFolder: URL
        var config: TrainConfig
        if let resume {
            runFolder = URL(fileURLWithPath: resume)
            config = try TrainOptions.load(runFolder.appendingPathComponent("config.json").path)
            // Only the length of the run may change on resume.
            if let epochs = options.epochs { config.epochs = epochs }
            if let budget = options.timeBudget { config.timeBudgetMinutes = budget }
        } else {
            config = try options.resolve()
            runFolder = URL(fileURLWithPath: out ?? "runs/\(Self.timestamp())")
        }
        let dataRoot = try DataLocation.resolve(data, height: config.height, width: config.width)
        print("data: \(dataRoot.path)")
        let trainingData = try TrainingData.load(root: dataRoot, config: config)
        print("train: \(trainingData.trainFrameCount) frames in \(trainingData.train.count) video(s); val: \(trainingData.validation.map(\.count)) frames")
        let progress = TrainingProgress()
        let trainer = try Trainer(config: config, data: trainingData, runFolder: runFolder, resume: resume != nil,
                                  onEvent: progress.handle)
        print("model: preset \(config.preset), \(trainer.model.parameterCount) parameters; run folder: \(runFolder.path)")
        let interrupt = InterruptFlag()
        interrupt.install()
        let reason = try trainer.run(shouldStop: { interrupt.isRaised })
        let best = trainer.progress.bestPSNR
        print("stopped: \(reason)")
        if best.isFinite {
            print(String(format: "best val PSNR %.2f dB at epoch %d: %@/checkpoints/best.safetensors", best,
                         trainer.progress.bestEpoch + 1, runFolder.path))
        }
    }

    static func timestamp() -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss"
        return f.string(from: Date())
    }
}

/// Where the data comes from: a folder the user names, or the built-in synthetic set, generated
/// into `data/synthetic` (git-ignored) on first use and reused afterwards.
enum DataLocation {
    static let builtIn = URL(fileURLWithPath: "data/synthetic")

    static func resolve(_ path: String?, height: Int = 32, width: Int = 64) throws -> URL {
        if let path { return URL(fileURLWithPath: path) }
        var options = SyntheticDanceOptions()
        options.height = height
        options.width = width
        let folder = height == 32 && width == 64 ? builtIn : URL(fileURLWithPath: "data/synthetic-\(height)x\(width)")
        if !FileManager.default.fileExists(atPath: folder.path) {
            print("generating the built-in synthetic dance dataset into \(folder.path) (first use) ...")
        }
        let start = Date()
        let result = try SyntheticDance.generate(options, to: folder)
        if !result.reused {
            print(String(format: "  %d frames in %.1f s", result.frameCount, Date().timeIntervalSince(start)))
        }
        return folder
    }
}
