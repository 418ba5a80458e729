import Foundation
import Torch

/// Times a model's training iteration (teacher forcing ON and OFF) and 630-frame rollouts on
/// random inputs of the lab's sizes, with peak memory, convolution FLOPs and an optional
/// per-module profile. `vidpred bench` runs it next to the PyTorch reference
/// (`reference/bench_lab.py`) and prints the ratios.
public enum ModelBenchmark {
    /// How the lab model's loss and rollout are computed: VidPred's batched paths, or frame by
    /// frame as the lab's code does (the same code shape as the reference, in Swift).
    public enum Path: String, Codable, CaseIterable, Sendable {
        case fast
        case frameByFrame = "frame-by-frame"
    }

    public struct Options: Sendable {
        public var config = TrainConfig()   // preset, widths, precision, channels-last
        public var path = Path.fast
        public var batch = 2
        public var length = 16
        public var rolloutFrames = 630
        /// Rollout batch sizes to time (videos generated together).
        public var rolloutVideos = [1, 5]
        public var repeats = 3
        public var rolloutRepeats = 1
        public var profile = false
        /// The lab model's decoder steps per call with teacher forcing ON (nil: its default).
        public var stepsPerCall: Int? = nil
        /// Skip the training iterations.
        public var rolloutsOnly = false
        /// Videos per generation batch (nil: the model's `preferredGenerationBatch`).
        public var generationBatch: Int? = nil
        /// Where to run (a GPU from `Runtime.prepare`); inputs are made by CPU generators and copied.
        public var device: Device = .cpu
        public init() {}
    }

    public struct Measurement: Codable, Sendable {
        public var name: String
        public var medianSeconds: Double
        public var allSeconds: [Double]
        /// Generated frames per second (training: predicted frames per second).
        public var framesPerSecond: Double
        /// The process's peak resident memory during the measurement (VmHWM after a reset).
        public var peakBytes: Int?
    }

    public struct Report: Codable, Sendable {
        public var preset: Preset
        public var path: Path
        public var precision: Precision
        public var channelsLast: Bool
        public var threads: Int
        public var parameters: Int
        /// Videos per generation batch in the rollouts.
        public var generationBatch: Int
        public var measurements: [Measurement]
        /// Convolution FLOPs of one training iteration (3x the forward count), TF ON and OFF.
        public var iterationFlopsOn: Double
        public var iterationFlopsOff: Double
        /// Convolution FLOPs of one generated frame (one video).
        public var flopsPerGeneratedFrame: Double
        /// float32 matmul throughput measured in the same process (2048^3), the roofline.
        public var matmulGFLOPS: Double
        /// bfloat16 matmul throughput, when the precision is bf16.
        public var matmulBF16GFLOPS: Double?
        /// Per-module forward time of one TF ON and one TF OFF iteration, plus backward/optimizer.
        public var profile: [ProfileRow]

        public func measurement(_ name: String) -> Measurement? { measurements.first { $0.name == name } }
    }

    public struct ProfileRow: Codable, Sendable {
        public var name: String
        public var seconds: Double
        public var calls: Int
    }

    /// Median GFLOP/s of a square matmul of the given size and dtype.
    public static func matmulGFLOPS(size: Int = 2048, dtype: DType = .float32, repeats: Int = 7) throws -> Double {
        let g = try RandomGenerator(seed: 3)
        let a = try Tensor.rand([size, size], generator: g).to(dtype), b = try Tensor.rand([size, size], generator: g).to(dtype)
        _ = try a.matmul(b)
        let seconds = try EngineBenchmark.median(repeats: repeats) { _ = try a.matmul(b) }
        return 2 * pow(Double(size), 3) / seconds / 1e9
    }

    public static func run(_ o: Options, log: (String) -> Void = { _ in }) throws -> Report {
        let config = o.config
        let (height, width) = (config.height, config.width)
        let model = try RandomGenerator.initialising(seed: 0) { try config.makeModel() }
        if o.path == .frameByFrame && !(model is LabModel) {
            throw ConfigError("the frame-by-frame path exists for the lab preset only")
        }
        if config.usesChannelsLast { try model.convertToChannelsLast() }
        try model.move(to: o.device)
        let optimizer = try Optimizer(.adam, parameters: model.parameters, learningRate: 1e-3)
        let g = try RandomGenerator(seed: 0)
        let frames = try Tensor.rand([o.batch, o.length, 3, height, width], generator: g, device: o.device)
        let labels = try Tensor.rand([o.batch, o.length, 3, height, width], generator: g, device: o.device)
        let lab = model as? LabModel
        if let steps = o.stepsPerCall { lab?.stepsPerCall = steps }

        func loss(_ forcing: Bool) throws -> SequenceLoss {
            try autocast(on: o.device, enabled: config.precision.usesAutocast) {
                if o.path == .frameByFrame, let lab {
                    return try lab.sequenceLossFrameByFrame(frames: frames, labels: labels, teacherForcing: forcing, beta: 1, generator: g)
                }
                return try model.sequenceLoss(frames: frames, labels: labels, teacherForcing: forcing, beta: 1, generator: g)
            }
        }
        func iteration(_ forcing: Bool) throws {
            try optimizer.zeroGrad()
            let l = try loss(forcing)
            try ModuleProfiler.record("backward") { try l.total.backward() }
            try ModuleProfiler.record("clip + Adam step") {
                try clipGradNorm(optimizer.parameters, maxNorm: 1)
                try optimizer.step()
            }
        }
        var measurements: [Measurement] = []
        func measure(_ name: String, frames: Int, repeats: Int, _ body: () throws -> Void) throws {
            MemoryGauge.resetPeak()
            var times: [Double] = []
            for _ in 0..<repeats {
                try Runtime.synchronize(o.device)
                let start = DispatchTime.now().uptimeNanoseconds
                try body()
                try Runtime.synchronize(o.device)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            let median = times.sorted()[times.count / 2]
            let m = Measurement(name: name, medianSeconds: median, allSeconds: times, framesPerSecond: Double(frames) / median,
                                peakBytes: MemoryGauge.peakBytes())
            measurements.append(m)
            log(String(format: "%@: median %.3f s (%.1f frames/s), peak memory %@", name, median, m.framesPerSecond,
                       m.peakBytes.map { String(format: "%.2f GB", Double($0) / 1e9) } ?? "n/a"))
        }

        // Rollouts first: a process's peak memory only grows, so the rollouts' peaks are measured
        // before training has filled the allocator.
        model.eval()
        var flopsPerFrame = 0.0
        // The fast path generates as `vidpred predict` does: each video its own noise stream, the
        // model's preferred number of videos per batch unless `generationBatch` says.
        let predictor = Predictor(model: model, maxBatch: o.generationBatch, device: o.device)
        let generationBatch = try autocast(on: o.device, enabled: config.precision.usesAutocast) { predictor.batchSize }
        for videos in o.rolloutVideos where o.rolloutFrames >= 2 {
            let first = try Tensor.rand([videos, 3, height, width], generator: g, device: o.device)
            let poses = try Tensor.rand([videos, o.rolloutFrames, 3, height, width], generator: g, device: o.device)
            func rollout(_ length: Int) throws {
                let p = try poses.narrow(dim: 1, start: 0, length: length)
                _ = try autocast(on: o.device, enabled: config.precision.usesAutocast) {
                    if o.path == .frameByFrame, let lab { return try lab.rolloutFrameByFrame(firstFrame: first, labels: p, generator: g) }
                    let generators = try (0..<videos).map { try RandomGenerator(seed: UInt64($0)) }
                    return try predictor.rollout(firstFrame: first, labels: p, generators: generators)
                }
            }
            if videos == o.rolloutVideos.first {
                flopsPerFrame = try FlopCounter.count { try rollout(min(o.rolloutFrames, 33)) } / Double(videos * (min(o.rolloutFrames, 33) - 1))
            }
            try rollout(min(o.rolloutFrames, 8))  // warm-up
            try measure("rollout_\(videos)", frames: videos * (o.rolloutFrames - 1), repeats: o.rolloutRepeats) { try rollout(o.rolloutFrames) }
        }
        model.train()
        var flopsOn = Double.nan, flopsOff = Double.nan
        var profile: [ProfileRow] = []
        if !o.rolloutsOnly {
            flopsOn = try FlopCounter.count { _ = try loss(true) } * 3
            flopsOff = try FlopCounter.count { _ = try loss(false) } * 3
            try iteration(true)  // warm-up (oneDNN primitive caches)
            try iteration(false)
            let trainFrames = o.batch * (o.length - 1)
            try measure("train_tf_on", frames: trainFrames, repeats: o.repeats) { try iteration(true) }
            try measure("train_tf_off", frames: trainFrames, repeats: o.repeats) { try iteration(false) }

            if o.profile {
                ModuleProfiler.watch(childrenOf: model)
                for forcing in [true, false] {
                    ModuleProfiler.start()
                    try iteration(forcing)
                    profile += ModuleProfiler.stop().map { ProfileRow(name: "TF \(forcing ? "ON" : "OFF"): \($0.name)", seconds: $0.seconds, calls: $0.calls) }
                }
            }
        }

        let peak = try matmulGFLOPS()
        let peakBF16 = config.precision.usesAutocast ? try matmulGFLOPS(dtype: .bfloat16) : nil
        return Report(preset: config.preset, path: o.path, precision: config.precision, channelsLast: config.usesChannelsLast,
                      threads: Runtime.threads, parameters: model.parameterCount, generationBatch: generationBatch, measurements: measurements,
                      iterationFlopsOn: flopsOn, iterationFlopsOff: flopsOff, flopsPerGeneratedFrame: flopsPerFrame,
                      matmulGFLOPS: peak, matmulBF16GFLOPS: peakBF16, profile: profile)
    }
}
