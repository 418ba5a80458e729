import Foundation
import VidPred

/// Everything a run folder says about its training (docs/run-folder.md), read from
/// `config.json` and `metrics.jsonl`. Epochs are 0-based here as in the log; pages and tables
/// show them 1-based, as the training output does.
public struct RunRecord: Sendable {
    public struct Epoch: Sendable {
        public var epoch: Int
        public var trainLoss: Double
        public var trainMSE: Double
        public var trainKL: Double
        public var tfr: Double
        public var beta: Double
        public var lr: Double
        public var teacherForcing: Bool
        public var skippedBatches: Int
        public var seconds: Double
        public var framesPerSecond: Double
    }

    public struct Validation: Sendable {
        public var epoch: Int
        public var valLoss: Double
        public var valPSNR: Double
        /// Frames 1..<T of the val video.
        public var psnrPerFrame: [Double]
        public var seconds: Double
    }

    public struct Batch: Sendable {
        public var epoch: Int
        public var iteration: Int
        public var loss: Double
        /// Seconds since the start of the run.
        public var seconds: Double
    }

    public let folder: URL
    /// The folder's name: how tables and legends refer to the run.
    public var name: String
    /// config.json as saved (key -> value), for display and for finding what differs between runs.
    public let config: [String: ConfigValue]
    /// config.json decoded; nil when it is missing or unreadable.
    public let trainConfig: TrainConfig?
    /// One entry per epoch, in epoch order; a resumed epoch keeps its last record.
    public let epochs: [Epoch]
    public let validations: [Validation]
    public let batches: [Batch]
    public let skippedBatches: Int

    /// Reads a run folder. Throws when there is no metrics.jsonl (nothing to show); a missing
    /// config.json only leaves the configuration out.
    public static func load(_ folder: URL) throws -> RunRecord {
        let metricsURL = folder.appendingPathComponent("metrics.jsonl")
        guard let text = try? String(contentsOf: metricsURL, encoding: .utf8) else {
            let what = FileManager.default.fileExists(atPath: folder.path) ? "has no readable metrics.jsonl" : "does not exist"
            throw ReportError("\(folder.path) \(what): pass a run folder made by `vidpred train --out \(folder.path)`")
        }
        var config: [String: ConfigValue] = [:]
        var trainConfig: TrainConfig?
        let configURL = folder.appendingPathComponent("config.json")
        if let data = try? Data(contentsOf: configURL) {
            config = (try? JSONDecoder().decode([String: ConfigValue].self, from: data)) ?? [:]
            trainConfig = try? JSONDecoder().decode(TrainConfig.self, from: data)
        }
        var epochs: [Int: Epoch] = [:], validations: [Int: Validation] = [:]
        var batches: [Batch] = []
        var skipped = 0
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                // A line cut short by a crash is the only expected damage: skip it, keep the rest.
                FileHandle.standardError.write(Data("warning: \(metricsURL.path) line \(number + 1) is not JSON; skipped\n".utf8))
                continue
            }
            let e = Fields(object)
            switch object["event"] as? String {
            case "epoch":
                let epoch = e.int("epoch")
                epochs[epoch] = Epoch(epoch: epoch, trainLoss: e.double("train_loss"), trainMSE: e.double("train_mse"),
                                      trainKL: e.double("train_kl"), tfr: e.double("tfr"), beta: e.double("beta"), lr: e.double("lr"),
                                      teacherForcing: e.bool("teacher_forcing"), skippedBatches: e.int("skipped_batches"),
                                      seconds: e.double("seconds"), framesPerSecond: e.double("frames_per_second"))
            case "validation":
                let epoch = e.int("epoch")
                validations[epoch] = Validation(epoch: epoch, valLoss: e.double("val_loss"), valPSNR: e.double("val_psnr"),
                                                psnrPerFrame: e.doubles("psnr_per_frame"), seconds: e.double("seconds"))
            case "batch":
                batches.append(Batch(epoch: e.int("epoch"), iteration: e.int("iteration"), loss: e.double("loss"),
                                     seconds: e.double("seconds")))
            case "skipped_batch":
                skipped += 1
            default:
                break
            }
        }
        return RunRecord(folder: folder, name: folder.standardizedFileURL.lastPathComponent, config: config,
                         trainConfig: trainConfig, epochs: epochs.keys.sorted().compactMap { epochs[$0] },
                         validations: validations.keys.sorted().compactMap { validations[$0] }, batches: batches,
                         skippedBatches: skipped)
    }

    // MARK: - summaries

    /// The validation with the highest PSNR.
    public var bestPSNR: Validation? {
        validations.filter { $0.valPSNR.isFinite }.max { $0.valPSNR < $1.valPSNR }
    }

    /// The validation with the lowest loss.
    public var bestValLoss: Validation? {
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
    /// fractional epoch (e.g. 2.5 = halfway through the third epoch, 1-based): the raw per-batch
    /// curve of a long run has far more points than a chart can show.
    public func smoothedBatchLoss(buckets: Int = 400) -> [(x: Double, y: Double)] {
        let finite = batches.filter { $0.loss.isFinite }
        guard !finite.isEmpty else { return [] }
        // Position of each batch inside its epoch, from the order of the log lines.
        var perEpoch: [Int: Int] = [:]
        for b in finite { perEpoch[b.epoch, default: 0] += 1 }
        var seen: [Int: Int] = [:]
        let positioned: [(x: Double, y: Double)] = finite.map { b in
            let index = seen[b.epoch, default: 0]
            seen[b.epoch] = index + 1
            return (Double(b.epoch) + Double(index + 1) / Double(perEpoch[b.epoch] ?? 1), b.loss)
        }
        let size = max(1, Int((Double(positioned.count) / Double(buckets)).rounded(.up)))
        return stride(from: 0, to: positioned.count, by: size).map { start in
            let chunk = positioned[start..<min(start + size, positioned.count)]
            return (chunk.map(\.x).reduce(0, +) / Double(chunk.count), chunk.map(\.y).reduce(0, +) / Double(chunk.count))
        }
    }
}

/// A config.json value, kept as the text a person would type (`0.001`, `Cyclical`, `[2,5]`).
public struct ConfigValue: Sendable, Equatable, Decodable, CustomStringConvertible {
    public let description: String

    public init(_ text: String) { description = text }

    /// JSONDecoder keeps true/false apart from numbers (JSONSerialization does not on Linux).
    public init(from decoder: Decoder) throws {
        if var list = try? decoder.unkeyedContainer() {
            var items: [String] = []
            while !list.isAtEnd { items.append(try list.decode(ConfigValue.self).description) }
            description = "[" + items.joined(separator: ",") + "]"
            return
        }
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { description = "null" }
        else if let b = try? c.decode(Bool.self) { description = b ? "true" : "false" }
        else if let n = try? c.decode(Double.self) { description = ConfigValue.format(n) }
        else if let s = try? c.decode(String.self) { description = s }
        else { description = "?" }
    }

    static func format(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
        return String(format: "%g", v)
    }
}

/// Typed access to one parsed JSON line, with NaN for missing or null numbers.
private struct Fields {
    let object: [String: Any]
    init(_ object: [String: Any]) { self.object = object }

    func double(_ key: String) -> Double { (object[key] as? NSNumber)?.doubleValue ?? .nan }
    func int(_ key: String) -> Int { (object[key] as? NSNumber)?.intValue ?? 0 }
    func bool(_ key: String) -> Bool { (object[key] as? Bool) ?? (object[key] as? NSNumber)?.boolValue ?? false }
    func doubles(_ key: String) -> [Double] { (object[key] as? [Any])?.map { ($0 as? NSNumber)?.doubleValue ?? .nan } ?? [] }
}

/// A problem with the inputs of a report, comparison or evaluation; the message names the file
/// and what to do.
public struct ReportError: Error, CustomStringConvertible, LocalizedError {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var errorDescription: String? { description }
}
