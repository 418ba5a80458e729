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
        subcommands: [Demo.self, Train.self, Predict.self, Eval.self, Report.self, Compare.self, Sweep.self, MakeData.self, DataCommand.self, Info.self, Bench.self])
}

/// Options every compute command shares.
struct RuntimeOptions: ParsableArguments {
    @Option(help: "Intra-op threads (default: all cores).")
    var threads: Int?

    func apply() {
        if let threads { Runtime.threads = threads }
    }
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print libtorch's version, threads and devices.")

    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        runtime.apply()
        print("libtorch   \(Runtime.version)")
        print("threads    \(Runtime.threads) (cores: \(ProcessInfo.processInfo.activeProcessorCount))")
        print("cpu bf16   \(Runtime.cpuHasBFloat16 ? "yes (AVX512-BF16/AMX): --precision bf16 pays off" : "no")")
        let cuda = Runtime.cudaAvailable ? "\(Runtime.cudaDeviceCount) device(s)" : "not available (CPU build; see README: GPU runs)"
        print("cuda       \(cuda)")
    }
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks (medians of repeated runs).",
        subcommands: [LabComparison.self, Quality.self, Engine.self, ModelOnly.self, DataLoading.self],
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
