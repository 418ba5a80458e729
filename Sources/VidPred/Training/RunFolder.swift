import Foundation
import Torch

/// The layout of a run folder (docs/run-folder.md): every path a command reads or writes in a
/// run is named here.
public struct RunFolder: Sendable, Equatable {
    public let url: URL

    public init(_ url: URL) { self.url = url }
    public init(path: String) { self.init(URL(fileURLWithPath: path)) }

    public var path: String { url.path }
    /// The resolved settings.
    public var config: URL { url.appendingPathComponent("config.json") }
    /// The run's inputs: dataset and fingerprint, VidPred version, commit and command lines.
    public var manifest: URL { url.appendingPathComponent("run.json") }
    public var metrics: URL { url.appendingPathComponent("metrics.jsonl") }
    public var checkpoints: URL { url.appendingPathComponent("checkpoints") }
    /// Written after every epoch: what a resume continues from.
    public var lastCheckpoint: URL { checkpoint(named: "last") }
    public var bestCheckpoint: URL { checkpoint(named: "best") }
    public var predictions: URL { url.appendingPathComponent("predictions") }
    public var evaluation: URL { url.appendingPathComponent("eval.json") }
    public var report: URL { url.appendingPathComponent("report") }

    /// `checkpoints/NAME.safetensors` (`best`, `last`, `epoch-0010`, `minute-0010.00`).
    public func checkpoint(named name: String) -> URL { checkpoints.appendingPathComponent("\(name).safetensors") }
    /// The checkpoint `per_save` keeps after epoch `epoch` (1-based).
    public func periodicCheckpoint(epoch: Int) -> URL { checkpoint(named: String(format: "epoch-%04d", epoch)) }
    /// The snapshot after `minutes` of training.
    public func snapshot(minutes: Double) -> URL { checkpoint(named: String(format: "minute-%07.2f", minutes)) }

    /// A path inside the run as the log records it (`checkpoints/best.safetensors`).
    public func relativePath(of file: URL) -> String {
        file.path.hasPrefix(path + "/") ? String(file.path.dropFirst(path.count + 1)) : file.path
    }

    /// The training minutes of a snapshot file name, nil for other checkpoints.
    public static func snapshotMinutes(_ fileName: String) -> Double? {
        guard fileName.hasPrefix("minute-"), fileName.hasSuffix(".safetensors"), !fileName.hasSuffix(".state.safetensors") else { return nil }
        return Double(fileName.dropFirst("minute-".count).dropLast(".safetensors".count))
    }

    /// The snapshots of the run, in training order.
    public func snapshots() throws -> [(minutes: Double, url: URL)] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: checkpoints.path) } catch {
            throw RunError("cannot list \(checkpoints.path): \(error.localizedDescription)")
        }
        return names.compactMap { name in Self.snapshotMinutes(name).map { ($0, checkpoints.appendingPathComponent(name)) } }
            .sorted { $0.minutes < $1.minutes }
    }

    /// Removes temporary files that killed writes left in the run folder and its checkpoints;
    /// returns their paths relative to the run folder.
    public func removeStaleTemporaryFiles() -> [String] {
        AtomicFile.removeStaleTemporaryFiles(in: url) + AtomicFile.removeStaleTemporaryFiles(in: checkpoints).map { "checkpoints/\($0)" }
    }

    /// Whether a checkpoint of a run is here to resume (its state file: the part written last).
    public var holdsRun: Bool { !Checkpoint.candidates(in: checkpoints).isEmpty }

    /// Whether a run made with `config` is here, for a command that reuses finished runs (`sweep`
    /// continues them, `bench quality` scores them again). A run with other settings is an error
    /// naming each, never taken silently for the one asked for (e.g. a folder trained before a
    /// recipe changed). `continuing`: only the run's length may differ, as with `train --resume`.
    public func holdsRun(madeWith config: TrainConfig, continuing: Bool, command: String) throws -> Bool {
        guard holdsRun else { return false }
        let differences = TrainConfig.differences(try readConfig(), config).filter { !(continuing && TrainConfig.lengthKeys.contains($0.key)) }
        guard differences.isEmpty else {
            let list = differences.map { "\($0.key): \($0.a) there, \($0.b) here" }.joined(separator: "; ")
            throw RunError("\(path) holds a run with other settings than this \(command)'s (\(list)): remove it, or use another --out")
        }
        return true
    }

    /// The run's settings (`config.json`).
    public func readConfig() throws -> TrainConfig {
        guard FileManager.default.fileExists(atPath: config.path) else {
            let started = FileManager.default.fileExists(atPath: manifest.path) || FileManager.default.fileExists(atPath: metrics.path)
            throw RunError(started ? "\(config.path) is missing: the run in \(path) was stopped before it started; run its original command again"
                                   : "\(config.path) is missing: \(path) is not a run folder made by training")
        }
        return try TrainConfig.read(config)
    }

    /// The run's manifest; nil for runs made before VidPred wrote one.
    public func readManifest() throws -> RunManifest? {
        guard FileManager.default.fileExists(atPath: manifest.path) else { return nil }
        do {
            return try JSONDecoder().decode(RunManifest.self, from: Data(contentsOf: manifest))
        } catch {
            throw RunError("\(manifest.path) is not readable (\(error.localizedDescription)); restore it from a backup or remove it (the run then no longer knows its dataset)")
        }
    }

    public func writeManifest(_ manifest: RunManifest) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try writeAtomically(encoder.encode(manifest), to: self.manifest)
    }

    public func writeConfig(_ config: TrainConfig) throws {
        try writeAtomically(config.jsonData(), to: self.config)
    }

    private func writeAtomically(_ data: Data, to file: URL) throws {
        do {
            try AtomicFile.write(data, to: file)
        } catch {
            throw RunError("cannot write \(file.path): \(error.localizedDescription)")
        }
    }
}

/// A problem with a run folder or the inputs a run recorded (missing checkpoint, a dataset that
/// changed): the message names the file and what to do, in the library's terms.
public struct RunError: Error, CustomStringConvertible, LocalizedError {
    public enum Kind: Sendable {
        case other
        /// The run does not record its dataset (made by an earlier version, or from data in memory).
        case dataNotRecorded
        /// The dataset named or recorded differs from the one the run recorded.
        case dataChanged
        /// The folder already holds a run.
        case runExists
        /// The folder holds no checkpoint to continue or load.
        case noCheckpoint
    }

    public let kind: Kind
    public let description: String

    public init(_ description: String, kind: Kind = .other) {
        self.kind = kind
        self.description = description
    }

    public var errorDescription: String? { description }
}
