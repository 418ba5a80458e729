import Foundation
import Torch

/// A checkpoint is two files, each written atomically and carrying a checksum:
/// - `NAME.safetensors` holds only the model's state dict under PyTorch's names
///   (`model.load_state_dict(safetensors.torch.load_file(...))` works on reference/lab_model.py's
///   VAEModel); `predict`, `eval` and `report` read it.
/// - `NAME.state.safetensors` is the complete checkpoint a resume reads: the weights again (under
///   `model.`), Adam's moments and step counts, the noise generator's state, and in its metadata
///   where the run stands (`Progress`) and where its metrics log stands (`LogPosition`).
/// - With a weight average (`ema_decay`), the weights file holds the averaged weights (those
///   validated), and the state file the raw ones under `model.` with the average under `ema.`.
///
/// The weights are written first and the state file last, so the state file is the commit point:
/// a kill at any moment leaves a state file that is complete on its own (the previous one, or the
/// new one), and resume never depends on the two files being a matching pair. The weights file
/// may be one checkpoint ahead for a moment; the next checkpoint writes both again.
public struct Checkpoint {
    public struct Progress: Sendable, Equatable {
        /// Epochs completed: resuming continues with epoch `epochsDone + 1`.
        public var epochsDone: Int
        public var iteration: Int
        public var bestPSNR: Double
        /// The epoch (1-based) of the best val PSNR; 0 before any validation.
        public var bestEpoch: Int
        public var validationsSinceBest: Int
        /// Batches of epoch `epochsDone + 1` already trained (a checkpoint saved mid-epoch: Ctrl-C,
        /// SIGTERM, a timed snapshot), and their running sums: resuming continues at the next batch.
        public var batchesDone = 0
        /// Windows per batch when `batchesDone` was counted (the global batch of a job of several
        /// processes: batch_size x ranks); nil: batch_size. A resume with another number of ranks
        /// converts the count.
        public var batchWindows: Int?
        public var epochSums = EpochSums()

        public static let start = Progress(epochsDone: 0, iteration: 0, bestPSNR: -.infinity, bestEpoch: 0, validationsSinceBest: 0)
    }

    /// The running sums of an epoch's batches, from which its `EpochRecord` is made.
    public struct EpochSums: Sendable, Equatable {
        public var loss = 0.0, mse = 0.0, kl = 0.0
        public var trained = 0, skipped = 0, frames = 0
        public var seconds = 0.0
    }

    /// Where `metrics.jsonl` stood when the checkpoint was written: its first `lines` lines are the
    /// run up to this checkpoint; the last of them are `tail` (the records of the checkpoints
    /// written at this moment; none for a Ctrl-C checkpoint). Resuming cuts the log back to these
    /// lines, so that the log of a resumed run reads as if the run had never stopped.
    public struct LogPosition: Sendable, Equatable {
        public var lines: Int
        public var tail: [String]
    }

    /// What a resume continues from.
    public struct Restored {
        public var progress: Progress
        /// Nil for checkpoints of earlier versions, which recorded no log position.
        public var log: LogPosition?
        public var url: URL
    }

    static func write(model: Module, optimizer: Optimizer, generator: RandomGenerator, average: WeightAverage? = nil, progress: Progress,
                      log: LogPosition, to weightsURL: URL) throws {
        let existed = FileManager.default.fileExists(atPath: weightsURL.path)
        let weights = model.stateDict()
        try SafeTensors.write(average?.averagedStateDict(of: model) ?? weights, metadata: ["format": "pt", "epochs_done": String(progress.epochsDone),
                                                  "iteration": String(progress.iteration)], to: weightsURL)
        FaultInjection.reached(.checkpointBetweenFiles)
        let s = progress.epochSums
        var metadata: [String: String] = ["format": "pt", "epochs_done": String(progress.epochsDone), "iteration": String(progress.iteration),
                        "best_psnr": String(progress.bestPSNR), "best_epoch": String(progress.bestEpoch),
                        "validations_since_best": String(progress.validationsSinceBest), "batches_done": String(progress.batchesDone),
                        "epoch_sums": [s.loss, s.mse, s.kl, Double(s.trained), Double(s.skipped), Double(s.frames), s.seconds]
                            .map { String($0) }.joined(separator: ","),
                        "log_lines": String(log.lines), "log_tail": log.tail.joined(separator: "\n")]
        if let windows = progress.batchWindows { metadata["batch_windows"] = String(windows) }
        var state = weights.map { ("model.\($0.0)", $0.1) }
        state += try optimizer.stateTensors()
        state += average?.stateTensors ?? []
        state.append(("generator.state", try generator.state()))
        do {
            try SafeTensors.write(state, metadata: metadata, to: stateURL(for: weightsURL))
        } catch {
            // A new checkpoint name must not be left with weights and no state.
            if !existed { try? FileManager.default.removeItem(at: weightsURL) }
            throw error
        }
    }

    public static func stateURL(for weightsURL: URL) -> URL {
        weightsURL.deletingPathExtension().appendingPathExtension("state.safetensors")
    }

    /// Where each checkpoint of `folder` stands, read from the state files' headers alone, newest
    /// (most iterations) first; `last` first among equals.
    public static func candidates(in folder: URL) -> [(url: URL, iteration: Int)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasSuffix(".state.safetensors") && !$0.hasPrefix(".") }.compactMap { name in
            let state = folder.appendingPathComponent(name)
            let weights = folder.appendingPathComponent(String(name.dropLast(".state.safetensors".count)) + ".safetensors")
            guard let metadata = try? SafeTensors.readMetadata(state) else { return (weights, -1) }
            return (weights, Int(metadata["iteration"] ?? "") ?? -1)
        }.sorted { a, b in
            a.iteration != b.iteration ? a.iteration > b.iteration : a.url.lastPathComponent == "last.safetensors"
        }
    }

    /// Restores from `weightsURL`'s checkpoint, or, when it cannot be read, from the newest other
    /// checkpoint of its folder that can; `onFallback` gets a line saying which and why.
    static func restoreNewest(model: Module, optimizer: Optimizer, generator: RandomGenerator, average: WeightAverage?,
                              preferring weightsURL: URL, onFallback: (String) -> Void) throws -> Restored {
        do {
            return try restore(model: model, optimizer: optimizer, generator: generator, average: average, from: weightsURL)
        } catch let first {
            let others = candidates(in: weightsURL.deletingLastPathComponent()).filter { $0.url != weightsURL && $0.iteration >= 0 }
            for other in others {
                guard let restored = try? restore(model: model, optimizer: optimizer, generator: generator, average: average, from: other.url) else { continue }
                onFallback("\(stateURL(for: weightsURL).lastPathComponent) cannot be used (\(first)); resuming from \(other.url.lastPathComponent) instead (saved after \(restored.progress.iteration) iterations, in epoch \(restored.progress.epochsDone + (restored.progress.batchesDone > 0 ? 1 : 0)))")
                return restored
            }
            throw first
        }
    }

    /// Loads weights, optimizer and generator state; returns where to continue. Both files are
    /// read and checked before anything is changed. Checkpoints of earlier versions (weights only
    /// in the weights file, `next_epoch`, 0-based `best_epoch`) read the same.
    static func restore(model: Module, optimizer: Optimizer, generator: RandomGenerator, average: WeightAverage? = nil,
                        from weightsURL: URL) throws -> Restored {
        let stateFile = try SafeTensors.read(stateURL(for: weightsURL))
        let m = stateFile.metadata
        let legacy = m["epochs_done"] == nil
        var weights: [String: Tensor] = [:]
        for (name, tensor) in stateFile.tensors where name.hasPrefix("model.") { weights[String(name.dropFirst(6))] = tensor }
        let key = legacy ? "next_epoch" : "epochs_done"
        guard let done = m[key].flatMap(Int.init), done >= 0 else {
            throw RunError("\(stateURL(for: weightsURL).path) records no epoch count; resume from another checkpoint")
        }
        if weights.isEmpty {
            // Earlier versions kept the weights in the weights file only: the pair must match.
            let file = try SafeTensors.read(weightsURL)
            guard file.metadata[key] == m[key] else {
                throw RunError("\(weightsURL.path) and its .state.safetensors are from different epochs; resume from a matching pair (checkpoints/last.*)")
            }
            weights = file.tensors
        }
        for (name, tensor) in weights where tensor.dtype.isFloatingPoint {
            guard try tensor.allFinite() else { throw RunError("\(stateURL(for: weightsURL).path): weight \(name) holds NaN or infinite values") }
        }
        do {
            try model.load(stateDict: weights)
        } catch let error as TorchError {
            throw RunError("\(stateURL(for: weightsURL).path): \(error.message)")
        }
        try average?.load(stateFile.tensors, file: stateURL(for: weightsURL).path)
        try optimizer.loadState(stateFile.tensors)
        if let g = stateFile.tensors["generator.state"] { try generator.setState(g) }
        let bestEpoch = Int(m["best_epoch"] ?? "").map { legacy ? $0 + 1 : $0 } ?? 0
        var progress = Progress(epochsDone: done, iteration: Int(m["iteration"] ?? "") ?? 0,
                                bestPSNR: Double(m["best_psnr"] ?? "") ?? -.infinity, bestEpoch: bestEpoch,
                                validationsSinceBest: Int(m["validations_since_best"] ?? "") ?? 0)
        progress.batchesDone = Int(m["batches_done"] ?? "") ?? 0
        progress.batchWindows = m["batch_windows"].flatMap { Int($0) }
        let sums = (m["epoch_sums"] ?? "").split(separator: ",").compactMap { Double($0) }
        if sums.count == 7 {
            progress.epochSums = EpochSums(loss: sums[0], mse: sums[1], kl: sums[2], trained: Int(sums[3]), skipped: Int(sums[4]),
                                           frames: Int(sums[5]), seconds: sums[6])
        }
        let log = m["log_lines"].flatMap(Int.init).map { LogPosition(lines: $0, tail: (m["log_tail"] ?? "").split(separator: "\n").map(String.init)) }
        return Restored(progress: progress, log: log, url: weightsURL)
    }
}
