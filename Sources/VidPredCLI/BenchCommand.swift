import ArgumentParser
import Foundation
import Torch
import VidPred

/// Options of the model benchmarks (`vidpred bench` and `vidpred bench model-only`).
struct ModelBenchOptions: ParsableArguments {
    @Option(help: "Model preset.") var preset = Preset.lab
    @Option(help: "Frame size WxH (default: the lab's 64x32); e.g. 128x64, 256x128 for the pyramid preset.") var size: String?
    @Option(help: "Pyramid preset: frame widths per scale, e.g. 16,32,64,128 (default: the preset's; one scale per width).") var pyramidFrame: String?
    @Option(help: "Pyramid preset: pose widths per scale, as many as --pyramid-frame.") var pyramidPose: String?
    @Option(help: "fp32, bf16 (autocast, float32 master weights and loss; implies channels-last), or auto (bf16 where the device has native bfloat16).") var precision = Precision.fp32
    @Flag(inversion: .prefixedNo, help: "Channels-last memory format (default on; implied by bf16).") var channelsLast = true
    @Option(help: "fast (VidPred's batched paths) or frame-by-frame (the lab's code shape, lab preset only).")
    var path: ModelBenchmark.Path = .fast
    @Option(help: "Timed repeats of each training iteration (median).") var repeats = 3
    @Option(help: "Timed repeats of each rollout (median).") var rolloutRepeats = 1
    @Option(help: "Frames per rollout.") var frames = 630
    @Option(help: "Rollout batch sizes to time, comma-separated.") var videos = "1,5"
    @Flag(help: "Per-module time breakdown of one iteration (TF ON and OFF).") var profile = false
    @Option(help: "Lab preset: decoder time steps per call with teacher forcing ON (default: the model's).") var stepsPerCall: Int?
    @Flag(help: "Time the rollouts only (no training iterations).") var rolloutsOnly = false
    @Option(help: "Videos per generation batch (default: the model's fastest: lab 3 in fp32 and 5 in bf16, pyramid 8 and 16).") var generationBatch: Int?
    @OptionGroup var runtime: RuntimeOptions

    func options() throws -> ModelBenchmark.Options {
        var o = ModelBenchmark.Options()
        o.config = preset.recipe
        if let size { (o.config.width, o.config.height) = try Poses.parseSize(size) }
        for (key, text) in [("pyramid_frame", pyramidFrame), ("pyramid_pose", pyramidPose)] {
            guard let text, let setting = TrainConfig.setting(named: key) else { continue }
            try setting.apply(.text(text), to: &o.config, spelled: "--" + key.replacingOccurrences(of: "_", with: "-"), source: "the command line")
        }
        o.device = try runtime.prepareDevice()
        o.config.precision = precision.resolved(on: o.device)
        o.config.channelsLast = channelsLast
        try o.config.validate()
        o.path = path
        o.repeats = max(1, repeats)
        o.rolloutRepeats = max(1, rolloutRepeats)
        o.rolloutFrames = frames
        o.rolloutVideos = try videos.split(separator: ",").map {
            guard let v = Int($0.trimmingCharacters(in: .whitespaces)), v >= 1 else {
                throw ValidationError("--videos takes comma-separated positive counts, e.g. 1,5 (got '\(videos)')")
            }
            return v
        }
        o.profile = profile
        o.stepsPerCall = stepsPerCall
        o.rolloutsOnly = rolloutsOnly
        if let generationBatch, generationBatch < 1 { throw ValidationError("--generation-batch must be at least 1 (got \(generationBatch))") }
        o.generationBatch = generationBatch
        return o
    }
}

extension Bench {
    /// The issue's comparison: the PyTorch reference (reference/bench_lab.py, the lab's code frame
    /// by frame) and VidPred, in one run, same sizes and threads; medians and ratios.
    struct LabComparison: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "lab",
            abstract: "VidPred vs the PyTorch reference of the lab's code: training iteration (TF ON/OFF), 630-frame rollouts (1 and 5 videos), peak memory, FLOPs and GFLOP/s vs the matmul peak.",
            discussion: """
                Runs reference/bench_lab.py in reference/.venv (make it with `bash reference/setup.sh`) and then VidPred \
                on the same sizes (batch 2, T=16, 32x64; rollouts of 630 frames) with the same number of threads. \
                The reference's 5-video figure is the lab's test loop (5 rollouts one after another: 5 x its \
                1-video time); VidPred's generates them as `vidpred predict` does, the model's preferred number of videos \
                per batch at a time (lab: 3 in fp32, 5 in bf16; --generation-batch sets it). Peak memory is the process's resident peak during each measurement. \
                Needs a quiet machine: on 2 cores another busy process slows libtorch 10-40x.
                """)
        @OptionGroup var bench: ModelBenchOptions
        @Option(help: "Use a saved reference result (bench_lab.py's JSON or a `vidpred bench --out` file) instead of running it.") var referenceJSON: String?
        @Flag(help: "Time VidPred only.") var skipReference = false
        @Option(help: "Also write both results as JSON here.") var out: String?
        @Option(help: "Rounds of reference then VidPred; with more than one, the summary gives each ratio's median and range over the rounds (this machine's speed drifts over minutes, so alternating is fairer than one long run of each).")
        var rounds = 1

        func validate() throws {
            guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1 (got \(rounds))") }
        }

        func run() throws {
            bench.runtime.apply()
            let threads = Runtime.threads
            let saved = try referenceJSON.map { try Self.readJSON(URL(fileURLWithPath: $0)) }
            if let saved, let path = referenceJSON {
                // Ratios against a reference of other sizes would be meaningless.
                let (frames, savedThreads) = (saved["frames"] as? Int, saved["threads"] as? Int)
                guard frames == bench.frames, savedThreads == threads else {
                    throw ValidationError("\(path) was measured with \(frames.map(String.init) ?? "?") frames and \(savedThreads.map(String.init) ?? "?") threads, this run uses \(bench.frames) and \(threads): pass the same --frames and --threads, or drop --reference-json to run the reference again")
                }
            }
            var results: [(reference: [String: Any]?, ours: ModelBenchmark.Report)] = []
            for round in 1...rounds {
                if rounds > 1 { print("round \(round) of \(rounds)") }
                let options = try bench.options()
                let reference = skipReference ? nil : try saved ?? Self.runReference(
                    threads: threads, repeats: bench.repeats, rolloutRepeats: bench.rolloutRepeats, frames: bench.frames, device: options.device)
                print("VidPred (\(options.config.preset.rawValue), \(bench.path.rawValue), \(options.config.precision.rawValue)\(options.config.usesChannelsLast ? ", channels-last" : ""), \(threads) threads)...")
                fflush(nil)
                let ours = try ModelBenchmark.run(options, log: { print("  " + $0); fflush(nil) })
                print()
                print(Self.table(reference: reference, ours: ours))
                print()
                results.append((reference, ours))
            }
            if rounds > 1 { print(Self.summary(results.map { Self.rows(reference: $0.reference, ours: $0.ours) })) }
            if let out {
                let objects = try results.map { result -> [String: Any] in
                    var object: [String: Any] = ["vidpred": try JSONSerialization.jsonObject(with: JSONEncoder().encode(result.ours))]
                    if let reference = result.reference { object["reference"] = reference }
                    return object
                }
                // The last round at the top level (what --reference-json reads), every round under "rounds".
                var object = objects.last!
                if rounds > 1 { object["rounds"] = objects }
                try AtomicFile.write(try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]),
                                     to: URL(fileURLWithPath: out))
                print("wrote \(out)")
            }
        }

        static func readJSON(_ url: URL) throws -> [String: Any] {
            guard let data = try? Data(contentsOf: url),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ValidationError("\(url.path) is not a JSON result of reference/bench_lab.py")
            }
            // A file written by `vidpred bench --out` holds the reference under "reference".
            return object["reference"] as? [String: Any] ?? object
        }

        static func runReference(threads: Int, repeats: Int, rolloutRepeats: Int, frames: Int, device: Device = .cpu) throws -> [String: Any] {
            let root = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            let python = root.appendingPathComponent("reference/.venv/bin/python")
            let script = root.appendingPathComponent("reference/bench_lab.py")
            guard FileManager.default.isExecutableFile(atPath: python.path), FileManager.default.fileExists(atPath: script.path) else {
                throw ValidationError("the PyTorch reference is not set up: run `bash reference/setup.sh` from the repository root (or pass --skip-reference)")
            }
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("vidpred-bench-reference-\(getpid()).json")
            defer { try? FileManager.default.removeItem(at: out) }
            print("PyTorch reference (reference/bench_lab.py, \(threads) threads)...")
            fflush(nil)
            let process = Process()
            process.executableURL = python
            process.arguments = [script.path, "--threads", String(threads), "--repeats", String(repeats), "--warmup", "1",
                                 "--rollout-repeats", String(rolloutRepeats), "--frames", String(frames), "--skip-sequential",
                                 "--device", device == .cpu ? "cpu" : "cuda", "--out", out.path]
            process.standardOutput = FileHandle.nullDevice  // the JSON goes to --out; progress to stderr
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw ValidationError("reference/bench_lab.py failed (exit \(process.terminationStatus)); its messages are above")
            }
            return try readJSON(out)
        }

        /// One line of the comparison: times are per video for rollouts, peaks in bytes.
        struct Row {
            let label: String
            let reference: Double?, ours: Double?
            let referencePeak: Double?, oursPeak: Double?
            var speedUp: Double? {
                guard let reference, let ours, ours > 0 else { return nil }
                return reference / ours
            }
        }

        static func rows(reference: [String: Any]?, ours: ModelBenchmark.Report) -> [Row] {
            func refMedian(_ key: String) -> Double? { (reference?[key] as? [String: Any])?["median_s"] as? Double }
            func refPeak(_ key: String) -> Double? { ((reference?[key] as? [String: Any])?["peak_bytes"] as? NSNumber)?.doubleValue }
            var rows: [Row] = []
            for (key, label) in [("train_tf_on", "train iteration, TF ON"), ("train_tf_off", "train iteration, TF OFF")] {
                let m = ours.measurement(key)
                rows.append(Row(label: label, reference: refMedian(key), ours: m?.medianSeconds,
                                referencePeak: refPeak(key), oursPeak: m?.peakBytes.map(Double.init)))
            }
            for m in ours.measurements where m.name.hasPrefix("rollout_") {
                let videos = Int(m.name.dropFirst("rollout_".count)) ?? 1
                // The lab generates videos one after another: its time for n videos is n x rollout_1
                // (measured as rollout_5_sequential when present).
                let refKey = videos == 1 ? "rollout_1" : "rollout_\(videos)_sequential"
                let ref = refMedian(refKey) ?? refMedian("rollout_1").map { $0 * Double(videos) }
                rows.append(Row(label: "rollout, \(videos) video(s) (batches of \(min(videos, ours.generationBatch))), per video",
                                reference: ref.map { $0 / Double(videos) }, ours: m.medianSeconds / Double(videos),
                                referencePeak: refPeak(refKey) ?? refPeak("rollout_1"), oursPeak: m.peakBytes.map(Double.init)))
            }
            return rows
        }

        static func seconds(_ s: Double?) -> String { s.map { String(format: "%.2f s", $0) } ?? "-" }

        /// Lays out rows of cells: the first column left-aligned, the others right-aligned.
        static func layout(_ rows: [[String]]) -> String {
            let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
            return rows.map { row in
                row.enumerated().map { c, cell in c == 0 ? cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[c] - cell.count) + cell }.joined(separator: "  ")
            }.joined(separator: "\n")
        }

        /// Medians over rounds of each time and of each round's own ratio, with the ratios' range.
        static func summary(_ rounds: [[Row]]) -> String {
            func median(_ values: [Double]) -> Double? {
                guard !values.isEmpty else { return nil }
                let v = values.sorted()
                return v.count % 2 == 1 ? v[v.count / 2] : (v[v.count / 2 - 1] + v[v.count / 2]) / 2
            }
            var table = [["over \(rounds.count) rounds (medians)", "reference", "VidPred", "speed-up", "speed-up range"]]
            for (i, row) in rounds[0].enumerated() {
                let same = rounds.map { $0[i] }
                let ratios = same.compactMap(\.speedUp)
                table.append([row.label, seconds(median(same.compactMap(\.reference))), seconds(median(same.compactMap(\.ours))),
                              median(ratios).map { String(format: "%.2fx", $0) } ?? "-",
                              ratios.isEmpty ? "-" : String(format: "%.2f-%.2fx", ratios.min()!, ratios.max()!)])
            }
            return layout(table)
        }

        static func table(reference: [String: Any]?, ours: ModelBenchmark.Report) -> String {
            func refMedian(_ key: String) -> Double? { (reference?[key] as? [String: Any])?["median_s"] as? Double }
            func gb(_ bytes: Double?) -> String { bytes.map { String(format: "%.2f GB", $0 / 1e9) } ?? "-" }
            var cells: [[String]] = [["", "reference", "VidPred", "speed-up", "ref. memory", "VidPred memory"]]
            for row in rows(reference: reference, ours: ours) {
                cells.append([row.label, seconds(row.reference), seconds(row.ours), row.speedUp.map { String(format: "%.2fx", $0) } ?? "-",
                              gb(row.referencePeak), gb(row.oursPeak)])
            }
            var text = layout(cells)
            if reference == nil { text += "\n(no reference run: --skip-reference)" }

            let on = ours.measurement("train_tf_on")?.medianSeconds ?? .nan
            let off = ours.measurement("train_tf_off")?.medianSeconds ?? .nan
            text += "\n\nconvolution work (forward + weight gradients + input gradients):\n"
            if let refFlops = (reference?["train_conv_flops"] as? NSNumber)?.doubleValue, let refOn = refMedian("train_tf_on") {
                text += String(format: "  reference  %.0f GFLOP per iteration (TF ON), %.0f GFLOP/s", refFlops / 1e9, refFlops / 1e9 / refOn)
                if let peak = reference?["matmul_gflops"] as? Double {
                    text += String(format: " = %.0f%% of its float32 matmul peak (%.0f GFLOP/s)", refFlops / 1e9 / refOn / peak * 100, peak)
                }
                text += "\n"
            }
            let peakNote = ours.matmulBF16GFLOPS.map { String(format: "; bf16 matmul peak %.0f GFLOP/s", $0) } ?? ""
            // No training figures with --rollouts-only (NaN).
            if ours.iterationFlopsOn.isFinite { text += String(format: "  VidPred    TF ON %.0f GFLOP, %.0f GFLOP/s = %.0f%%; TF OFF %.0f GFLOP, %.0f GFLOP/s = %.0f%% of the float32 matmul peak (%.0f GFLOP/s%@)\n",
                           ours.iterationFlopsOn / 1e9, ours.iterationFlopsOn / 1e9 / on, ours.iterationFlopsOn / 1e9 / on / ours.matmulGFLOPS * 100,
                           ours.iterationFlopsOff / 1e9, ours.iterationFlopsOff / 1e9 / off, ours.iterationFlopsOff / 1e9 / off / ours.matmulGFLOPS * 100,
                           ours.matmulGFLOPS, peakNote) }
            text += String(format: "  generation: %.2f GFLOP per frame; %@: %d parameters", ours.flopsPerGeneratedFrame / 1e9, ours.preset.rawValue, ours.parameters)
            if !ours.profile.isEmpty {
                text += "\n\nprofile (one iteration each; forward time per top-level module, then backward and the optimizer):\n"
                for row in ours.profile {
                    text += "  " + row.name.padding(toLength: 44, withPad: " ", startingAt: 0) + String(format: "%8.3f s  %4d calls\n", row.seconds, row.calls)
                }
            }
            return text
        }
    }

    /// VidPred's figures alone (no reference, no table of ratios).
    struct ModelOnly: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "model", abstract: "VidPred's training iteration and rollout figures alone (no PyTorch reference).")
        @OptionGroup var bench: ModelBenchOptions

        func run() throws {
            bench.runtime.apply()
            let report = try ModelBenchmark.run(try bench.options(), log: { print($0); fflush(nil) })
            print(LabComparison.table(reference: nil, ours: report))
        }
    }
}

extension ModelBenchmark.Path: ExpressibleByArgument {}
