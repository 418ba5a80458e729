import Foundation
import Torch

/// `metrics.jsonl`: the training events of a run, one JSON object per line, `event` naming the
/// record (docs/run-folder.md). The records are the `Codable` types of `TrainingEvent`; this type
/// writes them and reads them back for the report, the quality benchmark and resume.
///
/// Schema 2 (this version) numbers epochs from 1 and starts with a `log_started` line; lines
/// before it (logs of earlier versions) numbered epochs from 0 and are read as if they had not.
/// Non-finite numbers are written as the strings "NaN", "Infinity" and "-Infinity".
public final class MetricsLog {
    public static let schema = 2

    enum Kind: String, Codable {
        case logStarted = "log_started", batch, skippedBatch = "skipped_batch", epoch, validation, checkpoint
    }

    public struct Header: Codable, Sendable {
        public var schema: Int
        public var vidpredVersion: String

        enum CodingKeys: String, CodingKey {
            case schema
            case vidpredVersion = "vidpred_version"
        }
    }

    private var handle: FileHandle
    public let url: URL
    /// What the log held when it was opened or rewound (a resumed run's earlier records).
    public private(set) var previous: Contents
    /// Complete lines in the file (the header included).
    public private(set) var lineCount: Int
    private let encoder: JSONEncoder

    /// Opens the log for appending (creating it when missing). A last line cut short by a crash is
    /// removed first (it would swallow the next record). A log without a schema-2 header (new, or
    /// written by an earlier version) gets one first.
    public init(url: URL) throws {
        self.url = url
        var text = try Self.readText(url) ?? ""
        if !text.isEmpty && !text.hasSuffix("\n") {
            text = String(text[..<(text.lastIndex(of: "\n").map { text.index(after: $0) } ?? text.startIndex)])
            try Self.replace(url, with: text)
        }
        handle = try Self.openForAppending(url)
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        previous = Self.parse(text)
        lineCount = text.reduce(0) { $0 + ($1 == "\n" ? 1 : 0) }
        if previous.header == nil {
            try append(.logStarted, Header(schema: Self.schema, vidpredVersion: VidPredVersion.current))
        }
    }

    deinit { try? handle.close() }

    private static func openForAppending(_ url: URL) throws -> FileHandle {
        let descriptor = open(url.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw RunError("cannot open \(url.path) for appending: \(String(cString: strerror(errno))); check that the run folder is writable")
        }
        return FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    }

    private static func replace(_ url: URL, with text: String) throws {
        do { try AtomicFile.write(Data(text.utf8), to: url) } catch { throw RunError("\(error)") }
    }

    /// Cuts the log back to where a checkpoint left it: its first `position.lines` lines, the last
    /// of them being `position.tail` (written again, since a kill may have come before they were).
    /// Lines after them are records of the attempt that the checkpoint does not contain.
    public func rewind(to position: Checkpoint.LogPosition) throws {
        let text = try Self.readText(url) ?? ""
        let keep = max(position.lines - position.tail.count, 0)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().prefix(keep).map(String.init)
        lines += position.tail
        let rewound = lines.map { $0 + "\n" }.joined()
        try handle.close()
        try Self.replace(url, with: rewound)
        handle = try Self.openForAppending(url)
        previous = Self.parse(rewound)
        lineCount = lines.count
    }

    /// Appends the event's record (progress-only events are not logged). A write that fails is an
    /// error: a log with holes would misreport the run.
    public func record(_ event: TrainingEvent) throws {
        if let line = try line(for: event) { try append(line: line) }
    }

    /// The line `record` would append for `event` (nil for progress-only events), without writing it.
    public func line(for event: TrainingEvent) throws -> String? {
        switch event {
        case .batch(let record, _): return try encode(.batch, record)
        case .skippedBatch(let record): return try encode(.skippedBatch, record)
        case .epoch(let record): return try encode(.epoch, record)
        case .validation(let record): return try encode(.validation, record)
        case .checkpoint(let record): return try encode(.checkpoint, record)
        case .epochStarted, .validationProgress, .notice: return nil
        }
    }

    private func encode<Record: Encodable>(_ kind: Kind, _ record: Record) throws -> String {
        String(decoding: try encoder.encode(Tagged(kind: kind, record: record)), as: UTF8.self)
    }

    private func append<Record: Encodable>(_ kind: Kind, _ record: Record) throws {
        try append(line: try encode(kind, record))
    }

    public func append(line: String) throws {
        do {
            try handle.write(contentsOf: Data((line + "\n").utf8))
        } catch {
            throw RunError("cannot append to \(url.path): \(error.localizedDescription)")
        }
        lineCount += 1
    }

    /// A record and its `event` tag on one JSON object.
    private struct Tagged<Record: Encodable>: Encodable {
        let kind: Kind
        let record: Record
        enum Key: String, CodingKey { case event }

        func encode(to encoder: Encoder) throws {
            try record.encode(to: encoder)
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(kind, forKey: .event)
        }
    }

    // MARK: - reading

    /// Everything a log holds. Epoch and validation records are kept once per epoch (the last
    /// one: a resumed run repeats the interrupted epoch).
    public struct Contents: Sendable {
        public var header: Header?
        public var batches: [BatchRecord] = []
        public var skippedBatches: [SkippedBatchRecord] = []
        public var epochs: [EpochRecord] = []
        public var validations: [ValidationRecord] = []
        public var checkpoints: [CheckpointRecord] = []
        /// Lines that could not be read (a line cut short by a crash), with their numbers.
        public var unreadableLines: [Int] = []

        /// Training seconds of the run so far (its last batch's clock).
        public var trainingSeconds: Double { batches.last?.seconds ?? 0 }
    }

    /// Reads a log; a missing file reads as empty.
    public static func read(_ url: URL) throws -> Contents {
        parse(try readText(url) ?? "")
    }

    private static func readText(_ url: URL) throws -> String? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do { return String(decoding: try Data(contentsOf: url), as: UTF8.self) } catch {
            throw RunError("cannot read \(url.path): \(error.localizedDescription)")
        }
    }

    static func parse(_ text: String) -> Contents {
        var contents = Contents()
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        struct Tag: Decodable { let event: String }
        var epochs: [Int: EpochRecord] = [:], validations: [Int: ValidationRecord] = [:]
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let data = Data(line.utf8)
            // Logs of schema 1 (no header yet) counted epochs from 0.
            let shift = contents.header == nil ? 1 : 0
            do {
                switch Kind(rawValue: try decoder.decode(Tag.self, from: data).event) {
                case .logStarted: contents.header = try decoder.decode(Header.self, from: data)
                case .batch:
                    var r = try decoder.decode(BatchRecord.self, from: data); r.epoch += shift
                    contents.batches.append(r)
                case .skippedBatch:
                    var r = try decoder.decode(SkippedBatchRecord.self, from: data); r.epoch += shift
                    contents.skippedBatches.append(r)
                case .epoch:
                    var r = try decoder.decode(EpochRecord.self, from: data); r.epoch += shift
                    epochs[r.epoch] = r
                case .validation:
                    var r = try decoder.decode(ValidationRecord.self, from: data); r.epoch += shift
                    validations[r.epoch] = r
                case .checkpoint:
                    var r = try decoder.decode(CheckpointRecord.self, from: data); r.epoch += shift
                    contents.checkpoints.append(r)
                case nil: contents.unreadableLines.append(index + 1)
                }
            } catch {
                contents.unreadableLines.append(index + 1)
            }
        }
        contents.epochs = epochs.keys.sorted().compactMap { epochs[$0] }
        contents.validations = validations.keys.sorted().compactMap { validations[$0] }
        return contents
    }
}
