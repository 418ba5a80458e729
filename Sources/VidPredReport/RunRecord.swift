import Foundation
import VidPred

/// Everything a run folder says about its training (docs/run-folder.md), read from
/// `config.json`, `run.json` and `metrics.jsonl`. Epochs are 1-based, as everywhere.
public struct RunRecord: Sendable {
    public let folder: URL
    /// The folder's name: how tables and legends refer to the run.
    public var name: String
    /// Each setting's value (key -> value), for display and for finding what differs between runs.
    public let config: [String: ConfigValue]
    /// config.json decoded; nil when it is missing.
    public let trainConfig: TrainConfig?
    /// run.json: the dataset and the commands that trained the run; nil for runs made before it existed.
    public let manifest: RunManifest?
    /// One entry per epoch, in epoch order; a resumed epoch keeps its last record.
    public let epochs: [EpochRecord]
    public let validations: [ValidationRecord]
    public let batches: [BatchRecord]
    public let skippedBatches: Int
    /// metrics.jsonl lines that could not be read (a line cut short by a crash).
    public let unreadableLines: [Int]

    /// Reads a run folder. Throws when there is no metrics.jsonl (nothing to show) or a file is
    /// unreadable; a missing config.json only leaves the configuration out.
    public static func load(_ folder: URL) throws -> RunRecord {
        let run = RunFolder(folder)
        guard FileManager.default.fileExists(atPath: run.metrics.path) else {
            let what = FileManager.default.fileExists(atPath: folder.path) ? "has no metrics.jsonl" : "does not exist"
            throw ReportError("\(folder.path) \(what): name a run folder made by training")
        }
        let log = try MetricsLog.read(run.metrics)
        let trainConfig = FileManager.default.fileExists(atPath: run.config.path) ? try run.readConfig() : nil
        var config: [String: ConfigValue] = [:]
        if let trainConfig {
            for setting in TrainConfig.settings { config[setting.key] = setting.value(in: trainConfig) }
        }
        return RunRecord(folder: folder, name: folder.standardizedFileURL.lastPathComponent, config: config, trainConfig: trainConfig,
                         manifest: try run.readManifest(), epochs: log.epochs, validations: log.validations, batches: log.batches,
                         skippedBatches: log.skippedBatches.count, unreadableLines: log.unreadableLines)
    }

    // MARK: - summaries

    /// The validation with the highest PSNR.
    public var bestPSNR: ValidationRecord? {
        validations.filter { $0.valPSNR.isFinite }.max { $0.valPSNR < $1.valPSNR }
    }

    /// The validation with the lowest loss.
    public var bestValLoss: ValidationRecord? {
        validations.filter { $0.valLoss.isFinite }.min { $0.valLoss < $1.valLoss }
    }

    /// Training seconds of the whole run (the last batch's clock), or the sum of epoch times.
    public var trainingSeconds: Double {
        batches.last?.seconds ?? epochs.reduce(0) { $0 + $1.seconds }
    }

    /// Frames trained per second over all epochs (each epoch weighted by its time).
    public var meanFramesPerSecond: Double {
        let seconds = epochs.reduce(0) { $0 + $1.seconds }
        let frames = epochs.reduce(0) { $0 + $1.framesPerSecond * $1.seconds }
        return seconds > 0 ? frames / seconds : .nan
    }

    /// Batch losses averaged in at most `buckets` equal runs of iterations, plotted against the
    /// fractional epoch (e.g. 2.5 = halfway through the third epoch): the raw per-batch curve of
    /// a long run has far more points than a chart can show.
    public func smoothedBatchLoss(buckets: Int = 400) -> [(x: Double, y: Double)] {
        smoothedBatches(\.loss, buckets: buckets)
    }

    /// The same for the batches' KL term.
    public func smoothedBatchKL(buckets: Int = 400) -> [(x: Double, y: Double)] {
        smoothedBatches(\.kl, buckets: buckets)
    }

    private func smoothedBatches(_ value: KeyPath<BatchRecord, Double>, buckets: Int) -> [(x: Double, y: Double)] {
        let finite = batches.filter { $0[keyPath: value].isFinite }
        guard !finite.isEmpty else { return [] }
        // Position of each batch inside its epoch, from the order of the log lines.
        var perEpoch: [Int: Int] = [:]
        for b in finite { perEpoch[b.epoch, default: 0] += 1 }
        var seen: [Int: Int] = [:]
        let positioned: [(x: Double, y: Double)] = finite.map { b in
            let index = seen[b.epoch, default: 0]
            seen[b.epoch] = index + 1
            return (Double(b.epoch - 1) + Double(index + 1) / Double(perEpoch[b.epoch] ?? 1), b[keyPath: value])
        }
        let size = max(1, Int((Double(positioned.count) / Double(buckets)).rounded(.up)))
        return stride(from: 0, to: positioned.count, by: size).map { start in
            let chunk = positioned[start..<min(start + size, positioned.count)]
            return (chunk.map(\.x).reduce(0, +) / Double(chunk.count), chunk.map(\.y).reduce(0, +) / Double(chunk.count))
        }
    }
}

/// A problem with the inputs of a report, comparison or evaluation; the message names the file
/// and what to do.
public struct ReportError: Error, CustomStringConvertible, LocalizedError {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var errorDescription: String? { description }
}
