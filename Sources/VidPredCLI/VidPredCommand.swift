import ArgumentParser
import Foundation
import Torch
import VidPred
import VidPredData

@main
struct VidPredCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vidpred",
        abstract: "Conditional video prediction: train a conditional VAE on pose-labelled videos and generate videos.",
        version: "vidpred \(VidPredVersion.description), libtorch \(Runtime.version)",
        subcommands: [Demo.self, Train.self, Predict.self, Eval.self, Report.self, Export.self, Compare.self, Sweep.self, MakeData.self, Poses.self, Animate.self, DataCommand.self, Info.self, Bench.self])
}

/// Every setting with a fixed list of choices is also an option value, parsed as in config files
/// (case-insensitive, so the lab's `Adam` and `None` work) and listed in `--help`.
extension ExpressibleByArgument where Self: SettingChoice {
    public init?(argument: String) { try? self.init(configValue: .text(argument)) }
}
extension Preset: ExpressibleByArgument {}
extension Prior: ExpressibleByArgument {}
extension LatentSource: ExpressibleByArgument {}
extension Residual: ExpressibleByArgument {}
extension ReferenceSampling: ExpressibleByArgument {}
extension LearningRateSchedule: ExpressibleByArgument {}
extension Precision: ExpressibleByArgument {}
extension Optimizer.Kind: ExpressibleByArgument {}
extension KLAnnealing.Kind: ExpressibleByArgument {}

/// Options every compute command shares.
struct RuntimeOptions: ParsableArguments {
    @Option(help: "Intra-op threads (default: all cores).")
    var threads: Int?
    @Option(help: "cpu, cuda (GPU 0), cuda:N or auto (a GPU when one is usable, else the CPU). CUDA needs a CUDA build of torch 2.11: run the bundle (make bundle) with LIBTORCH set to it.")
    var device = "cpu"

    func validate() throws {
        if let threads, !(1...4096).contains(threads) { throw ValidationError("--threads must be between 1 and 4096 (got \(threads))") }
        do { _ = try DeviceRequest(parsing: device) } catch { throw ValidationError("--device: \(error)") }
    }

    func apply() {
        if let threads { Runtime.threads = threads }
    }

    /// The device to compute on, made usable (CUDA loaded), or an error saying why it cannot be.
    /// A rank of a job asking for `cuda` or `auto` takes the GPU of its local rank.
    func prepareDevice(localRank: Int? = nil) throws -> Device {
        var request = try DeviceRequest(parsing: device)
        if let localRank, request == .cuda(0) && device.lowercased() != "cuda:0" { request = .cuda(localRank) }
        var chosen = try Runtime.prepare(request)
        if let localRank, request == .auto, chosen != .cpu { chosen = try Runtime.prepare(.cuda(localRank)) }
        if device != "cpu" { print("device: \(chosen)\(device == "auto" ? " (auto)" : "")") }
        return chosen
    }

    /// Says so when bf16 was asked for on a device without bfloat16 arithmetic, where libtorch
    /// emulates it: on a 2-core AVX2 CPU the pyramid trained at 2.4 frames/s in bf16 against 26.7
    /// in fp32 (measured 2026-12-03).
    static func warnIfBFloat16IsEmulated(_ bfloat16: Bool, on device: Device, work: String) {
        guard bfloat16, !Runtime.hasBFloat16(on: device) else { return }
        print("warning: \(device) has no native bfloat16 (AVX512-BF16 or AMX on a CPU): bf16 \(work) will be several times slower than fp32 here; use --precision fp32")
    }
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print libtorch's version, threads and devices.")

    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        runtime.apply()
        print("vidpred    \(VidPredVersion.description)")
        print("libtorch   \(Runtime.version)")
        print("threads    \(Runtime.threads) (cores: \(ProcessInfo.processInfo.activeProcessorCount))")
        print("cpu bf16   \(Runtime.cpuHasBFloat16 ? "yes (AVX512-BF16/AMX): --precision bf16 pays off" : "no")")
        print("cuda       driver \(Runtime.cudaDriverVersion ?? "none"), runtime \(Runtime.cudaRuntimeVersion ?? "none"), libtorch_cuda.so \(cudaLibrary())")
        let gpus = Runtime.gpus
        if gpus.isEmpty { print("gpus       none") }
        for gpu in gpus {
            print(String(format: "gpu %d      %@, compute capability %d.%d, %.1f GiB, bf16 %@", gpu.index, gpu.name, gpu.computeCapability.major,
                         gpu.computeCapability.minor, Double(gpu.memoryBytes) / 1_073_741_824, gpu.hasBFloat16 ? "yes" : "no"))
        }
    }

    /// Whether the running libtorch has its CUDA library (what --device cuda loads).
    private func cudaLibrary() -> String {
        guard let folder = ProcessInfo.processInfo.environment["VIDPRED_TORCH_LIB"] ?? Runtime.torchLibraryFolder else { return "unknown" }
        return FileManager.default.fileExists(atPath: folder + "/libtorch_cuda.so") ? "in \(folder)" : "absent (CPU-only libtorch in \(folder))"
    }
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks (medians of repeated runs).",
        subcommands: [LabComparison.self, Quality.self, Engine.self, ModelOnly.self, DataLoading.self, Robustness.self, Scale.self, PoseQuality.self],
        defaultSubcommand: LabComparison.self)

    struct Engine: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per-op overhead and a small conv net's training step (compare: Benchmarks/engine.sh).")
        @OptionGroup var runtime: RuntimeOptions
        @Option(help: "Repeats per measurement.") var repeats = 7
        @Flag(help: "Print one JSON line instead of a table.") var json = false

        func run() throws {
            runtime.apply()
            let r = try EngineBenchmark.run(repeats: repeats)
            if json {
                print("{\"op_us\": \(r.opMicroseconds), \"conv_step_ms\": \(r.convStepMilliseconds), \"threads\": \(r.threads)}")
            } else {
                print(String(format: "per-op overhead      %.2f us (one-element add, median)", r.opMicroseconds))
                print(String(format: "conv net train step  %.2f ms (3 conv layers, 8x3x32x64, Adam, median)", r.convStepMilliseconds))
                print("threads              \(r.threads)")
            }
        }
    }

    struct DataLoading: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "data", abstract: "Frames/s for loading the real sample and for generating synthetic data.")
        @Option(help: "Dataset to load (default: ../shared/data/edn-s4).") var sample: String?
        @Option(help: "Synthetic frames to generate.") var syntheticFrames = 1000

        func run() throws {
            let url = sample.map { URL(fileURLWithPath: $0) }
                ?? DataBenchmark.defaultSample(repositoryRoot: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
            print(DataBenchmark.run(sample: url, syntheticFrames: syntheticFrames))
        }
    }

}
