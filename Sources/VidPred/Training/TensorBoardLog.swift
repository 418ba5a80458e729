import Foundation
import Torch

/// TensorBoard event files (`events.out.tfevents.*` in the run folder), so that
/// `tensorboard --logdir runs` shows VidPred runs as it shows PyTorch ones: scalars (loss, MSE,
/// KL, beta, tfr, lr, frames/s, val PSNR and SSIM), a validation contact sheet per validation and
/// the config as text. Every value is logged at the run's iteration (its global step).
///
/// The format, written here without TensorFlow: TFRecord framing (the length as a little-endian
/// UInt64, its masked CRC-32C, the bytes, their masked CRC-32C) around `Event` protocol buffers
/// (tensorflow/core/util/event.proto and summary.proto: field numbers below). A resumed run
/// starts a new file with a `SessionLog.START` at its next step, which tells TensorBoard to drop
/// what the interrupted attempt logged after its checkpoint.
public final class TensorBoardLog {
    private let handle: FileHandle
    public let url: URL

    /// Starts a new event file in `folder`; `resumingAt`: the first step of a resumed run.
    public init(folder: URL, resumingAt step: Int? = nil, now: Date = Date()) throws {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost"
        url = folder.appendingPathComponent(String(format: "events.out.tfevents.%010d.%@.%d.vidpred", Int(now.timeIntervalSince1970), host, getpid()))
        let descriptor = open(url.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw RunError("cannot create \(url.path): \(String(cString: strerror(errno))); check that the run folder is writable")
        }
        handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        try write(Self.event(step: 0, field: 3, Array("brain.Event:2".utf8)))
        if let step {
            try write(Self.event(step: step, field: 7, Proto.varintField(1, 1)))  // session_log: SessionLog { status: START }
        }
    }

    /// The scalars of a training event at its iteration (progress-only events log nothing).
    public func record(_ event: TrainingEvent, iteration: Int) throws {
        switch event {
        case .batch(let b, _):
            try scalars(["train/loss": b.loss, "train/mse": b.mse, "train/kl": b.kl, "train/beta": b.beta, "train/tfr": b.tfr,
                         "train/lr": b.lr], step: b.iteration)
        case .epoch(let e):
            try scalars(["epoch/train_loss": e.trainLoss, "epoch/train_mse": e.trainMSE, "epoch/train_kl": e.trainKL,
                         "epoch/frames_per_second": e.framesPerSecond, "epoch/epoch": Double(e.epoch)], step: iteration)
        case .validation(let v):
            var values = ["val/psnr": v.valPSNR, "val/mse": v.valLoss]
            if let ssim = v.valSSIM { values["val/ssim"] = ssim }
            try scalars(values, step: iteration)
        case .skippedBatch, .checkpoint, .epochStarted, .validationProgress, .notice: break
        }
    }

    public func scalars(_ values: [String: Double], step: Int) throws {
        let summary = values.keys.sorted().reduce(into: [UInt8]()) { out, tag in
            out += Proto.bytesField(1, Proto.string(tag, field: 1) + Proto.float32Field(2, Float(values[tag]!)))
        }
        try write(Self.event(step: step, field: 5, summary))
    }

    /// An image summary (TensorBoard's Images tab) of a PNG.
    public func image(_ tag: String, png: Data, width: Int, height: Int, step: Int) throws {
        let image = Proto.varintField(1, UInt64(height)) + Proto.varintField(2, UInt64(width)) + Proto.varintField(3, 3)
            + Proto.bytesField(4, [UInt8](png))
        try write(Self.event(step: step, field: 5, Proto.bytesField(1, Proto.string(tag, field: 1) + Proto.bytesField(4, image))))
    }

    /// A text summary (TensorBoard's Text tab, Markdown): a string tensor marked for the text plugin.
    public func text(_ tag: String, _ text: String, step: Int) throws {
        let metadata = Proto.bytesField(1, Proto.string("text", field: 1))  // plugin_data { plugin_name: "text" }
        let tensor = Proto.varintField(1, 7) + Proto.bytesField(2, []) + Proto.bytesField(8, Array(text.utf8))  // DT_STRING, shape [], string_val
        let value = Proto.string(tag, field: 1) + Proto.bytesField(9, metadata) + Proto.bytesField(8, tensor)
        try write(Self.event(step: step, field: 5, Proto.bytesField(1, value)))
    }

    /// Event { wall_time = 1 (double), step = 2, and one of file_version = 3, summary = 5, session_log = 7 }.
    private static func event(step: Int, field: Int, _ body: [UInt8]) -> [UInt8] {
        Proto.float64Field(1, Date().timeIntervalSince1970) + Proto.varintField(2, UInt64(max(step, 0))) + Proto.bytesField(field, body)
    }

    /// One TFRecord.
    private func write(_ record: [UInt8]) throws {
        var length = UInt64(record.count).littleEndian
        let lengthBytes = withUnsafeBytes(of: &length) { [UInt8]($0) }
        let framed = lengthBytes + Self.maskedCRC(lengthBytes) + record + Self.maskedCRC(record)
        do {
            try handle.write(contentsOf: Data(framed))
        } catch {
            throw RunError("cannot append to \(url.path): \(error.localizedDescription)")
        }
    }

    /// TFRecord's masked CRC-32C, little-endian.
    static func maskedCRC(_ bytes: [UInt8]) -> [UInt8] {
        let crc = CRC32C.checksum(bytes)
        var masked = (((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8).littleEndian
        return withUnsafeBytes(of: &masked) { [UInt8]($0) }
    }
}

/// The few protocol-buffer encodings the event files need.
enum Proto {
    static func varint(_ value: UInt64) -> [UInt8] {
        var v = value, out: [UInt8] = []
        repeat {
            out.append(UInt8(v & 0x7F) | (v >= 0x80 ? 0x80 : 0))
            v >>= 7
        } while v != 0
        return out
    }

    static func key(_ field: Int, _ wireType: UInt64) -> [UInt8] { varint(UInt64(field) << 3 | wireType) }
    static func varintField(_ field: Int, _ value: UInt64) -> [UInt8] { key(field, 0) + varint(value) }
    static func bytesField(_ field: Int, _ bytes: [UInt8]) -> [UInt8] { key(field, 2) + varint(UInt64(bytes.count)) + bytes }
    static func string(_ text: String, field: Int) -> [UInt8] { bytesField(field, Array(text.utf8)) }

    static func float64Field(_ field: Int, _ value: Double) -> [UInt8] {
        var bits = value.bitPattern.littleEndian
        return key(field, 1) + withUnsafeBytes(of: &bits) { [UInt8]($0) }
    }

    static func float32Field(_ field: Int, _ value: Float) -> [UInt8] {
        var bits = value.bitPattern.littleEndian
        return key(field, 5) + withUnsafeBytes(of: &bits) { [UInt8]($0) }
    }
}
