import Foundation

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

    private let handle: FileHandle
    public let url: URL
    /// What the log held when it was opened (a resumed run's earlier records).
    public let previous: Contents
    private let encoder: JSONEncoder

    /// Opens the log for appending (creating it when missing). A log without a schema-2 header
    /// (new, or written by an earlier version) gets one first.
    public init(url: URL) throws {
        self.url = url
        let fm = FileManager.default
        if !fm.fileExists(atPath: url.path) && !fm.createFile(atPath: url.path, contents: nil) {
            throw RunError("cannot create \(url.path): check that the run folder is writable")
        }
        do {
            handle = try FileHandle(forWritingTo: url)
            try handle.seekToEnd()
        } catch {
            throw RunError("cannot open \(url.path) for appending: \(error.localizedDescription)")
        }
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        previous = try Self.read(url)
        if previous.header == nil {
            try append(.logStarted, Header(schema: Self.schema, vidpredVersion: VidPredVersion.current))
        }
    }

    deinit { try? handle.close() }

    /// Appends the event's record (progress-only events are not logged). A write that fails is an
    /// error: a log with holes would misreport the run.
    public func record(_ event: TrainingEvent) throws {
        switch event {
        case .batch(let record, _): try append(.batch, record)
        case .skippedBatch(let record): try append(.skippedBatch, record)
        case .epoch(let record): try append(.epoch, record)
        case .validation(let record): try append(.validation, record)
        case .checkpoint(let record): try append(.checkpoint, record)
        case .epochStarted, .validationProgress: break
        }
    }

    private func append<Record: Encodable>(_ kind: Kind, _ record: Record) throws {
        var line = try encoder.encode(Tagged(kind: kind, record: record))
        line.append(0x0A)
        do {
            try handle.write(contentsOf: line)
        } catch {
            throw RunError("cannot append to \(url.path): \(error.localizedDescription)")
        }
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
        var contents = Contents()
        guard FileManager.default.fileExists(atPath: url.path) else { return contents }
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw RunError("cannot read \(url.path): \(error.localizedDescription)")
        }
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
