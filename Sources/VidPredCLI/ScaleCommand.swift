import ArgumentParser
import Foundation
import Torch
import VidPred
import VidPredData

extension Bench {
    /// Training throughput of one job of N processes for each N asked, in one run.
    struct Scale: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "scale",
            abstract: "Samples/s and scaling efficiency of training on 1..N processes (threads per process = cores / N), in one run.",
            discussion: """
                Each configuration is a real `vidpred train --nproc-per-node N --threads T` job (DDP semantics: the batch \
                size is per process, so the global batch grows with N, as with torchrun) training for --seconds on \
                the same data, one after another. Samples/s counts the training windows of the batches after the first \
                --warmup ones (startup, rendezvous and the first allocations left out). Efficiency is samples/s / (N x \
                the samples/s of one process with the same T threads), also measured; "vs 1 process" compares with one \
                process using every core. Needs a quiet machine.
                """)
        @Option(help: "Process counts, comma-separated.") var processes = "1,2"
        @Option(help: "Threads per process (default: cores / N for each N).") var threads: Int?
        @Option(help: "Model preset (its recipe; the lab model by default, as the issue measures).") var preset = Preset.lab
        @Option(help: "fp32, bf16, or auto (bf16 where the CPU has native bfloat16).") var precision = Precision.fp32
        @Option(help: "Clips per process per step.") var batchSize = 2
        @Option(help: "Training seconds per configuration.") var seconds = 45.0
        @Option(help: "Batches left out at the start of each configuration.") var warmup = 3
        @Option(help: "Dataset (default: the built-in one).") var data: String?
        @Option(help: "Scratch folder for the runs (default: a new temporary folder).") var out: String?
        @Option(help: "Also write the results as JSON here.") var json: String?

        struct Row: Codable {
            var processes: Int
            var threadsPerProcess: Int
            var samplesPerSecond: Double
            var batches: Int
        }

        func run() throws {
            let counts = try processes.split(separator: ",").map { text -> Int in
                guard let n = Int(text.trimmingCharacters(in: .whitespaces)), (1...1024).contains(n) else {
                    throw ValidationError("--processes takes comma-separated counts, e.g. 1,2,4,8 (got '\(processes)')")
                }
                return n
            }
            let cores = ProcessInfo.processInfo.activeProcessorCount
            let folder = out.map { URL(fileURLWithPath: $0) }
                ?? FileManager.default.temporaryDirectory.appendingPathComponent("vidpred-scale-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            var recipe = preset.recipe
            recipe.precision = precision
            let root = try data.map { URL(fileURLWithPath: $0) } ?? BuiltInData.prepare(height: recipe.height, width: recipe.width, log: { print($0) })
            print("data: \(root.path); \(preset.rawValue) preset, \(precision.rawValue), batch \(batchSize) per process, \(Int(seconds)) s each, \(cores) cores; runs in \(folder.path)")
            // Each job, then one process with the same threads (the efficiency's baseline).
            var plan: [(Int, Int)] = []
            for n in counts {
                let t = threads ?? max(1, cores / n)
                for config in [(n, t), (1, t)] where !plan.contains(where: { $0 == config }) { plan.append(config) }
            }
            var rows: [Row] = []
            for (n, t) in plan {
                let row = try measure(processes: n, threads: t, data: root, folder: folder)
                print(String(format: "  %2d process(es) x %2d thread(s): %7.2f samples/s (%d batches timed)", n, t, row.samplesPerSecond, row.batches))
                fflush(nil)
                rows.append(row)
            }
            let allCores = rows.first { $0.processes == 1 && $0.threadsPerProcess == (threads ?? cores) }
            print("\nprocesses  threads  samples/s  vs 1 process x \(threads ?? cores) threads  scaling efficiency")
            for n in counts {
                let t = threads ?? max(1, cores / n)
                guard let row = rows.first(where: { $0.processes == n && $0.threadsPerProcess == t }),
                      let single = rows.first(where: { $0.processes == 1 && $0.threadsPerProcess == t }) else { continue }
                let versus = allCores.map { String(format: "%.2fx", row.samplesPerSecond / $0.samplesPerSecond) } ?? "-"
                print(String(format: "%9d  %7d  %9.2f  %@  %.0f%% (vs %d x %.2f samples/s of 1 process x %d)",
                             n, t, row.samplesPerSecond, versus.padding(toLength: 28, withPad: " ", startingAt: 0),
                             100 * row.samplesPerSecond / (Double(n) * single.samplesPerSecond), n, single.samplesPerSecond, t))
            }
            if let json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try AtomicFile.write(try encoder.encode(rows), to: URL(fileURLWithPath: json))
                print("results: \(json)")
            }
        }

        /// One job's samples/s, from the batch records of its log.
        private func measure(processes n: Int, threads t: Int, data: URL, folder: URL) throws -> Row {
            let run = folder.appendingPathComponent("p\(n)-t\(t)")
            try? FileManager.default.removeItem(at: run)
            let process = Process()
            process.executableURL = ProcessOutput.executable
            process.arguments = ["train", "--data", data.path, "--out", run.path, "--preset", preset.rawValue, "--precision", precision.rawValue,
                                 "--batch-size", String(batchSize), "--epochs", "1", "--window-stride", "1", "--shuffle",
                                 "--time-budget-minutes", String(seconds / 60), "--val-vi-len", "2", "--per-save", "0",
                                 "--threads", String(t)] + (n > 1 ? ["--nproc-per-node", String(n)] : [])
            let log = folder.appendingPathComponent("p\(n)-t\(t).log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)  // a failure: FileHandle's error below names the file
            let handle = try FileHandle(forWritingTo: log)
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw CommandError("the \(n)-process run failed (status \(process.terminationStatus)); its output: \(log.path)")
            }
            let batches = try MetricsLog.read(run.appendingPathComponent("metrics.jsonl")).batches
            guard batches.count > warmup + 1 else {
                throw CommandError("the \(n)-process run trained only \(batches.count) batches in \(Int(seconds)) s: give it more --seconds (output: \(log.path))")
            }
            let timed = batches.count - 1 - warmup
            let elapsed = batches.last!.seconds - batches[warmup].seconds
            return Row(processes: n, threadsPerProcess: t, samplesPerSecond: Double(timed * batchSize * n) / elapsed, batches: timed)
        }
    }
}
