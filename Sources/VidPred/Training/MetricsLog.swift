import Foundation

/// Appends training events to `metrics.jsonl` (one JSON object per line, docs/run-folder.md).
public final class MetricsLog {
    private let handle: FileHandle
    public let url: URL

    public init(url: URL) throws {
        self.url = url
        if !FileManager.default.fileExists(atPath: url.path) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw ConfigError("cannot create \(url.path): check that the run folder is writable")
            }
        }
        handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
    }

    deinit { try? handle.close() }

    public func record(_ event: TrainingEvent) {
        guard let object = Self.json(event) else { return }
        guard var line = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        line.append(0x0A)
        try? handle.write(contentsOf: line)
    }

    /// Non-finite numbers are not valid JSON: they are written as null.
    private static func n(_ x: Double) -> Any { x.isFinite ? x : NSNull() }

    static func json(_ event: TrainingEvent) -> [String: Any]? {
        switch event {
        case .batch(let b):
            return ["event": "batch", "epoch": b.epoch, "iteration": b.iteration, "loss": n(b.loss), "mse": n(b.mse),
                    "kl": n(b.kl), "beta": b.beta, "tfr": b.tfr, "teacher_forcing": b.teacherForcing, "lr": b.lr,
                    "seconds": b.seconds]
        case .epoch(let e):
            return ["event": "epoch", "epoch": e.epoch, "train_loss": n(e.trainLoss), "train_mse": n(e.trainMSE),
                    "train_kl": n(e.trainKL), "tfr": e.tfr, "beta": e.beta, "lr": e.lr, "teacher_forcing": e.teacherForcing,
                    "skipped_batches": e.skippedBatches, "seconds": e.seconds, "frames_per_second": e.framesPerSecond]
        case .validation(let v):
            return ["event": "validation", "epoch": v.epoch, "val_loss": n(v.valLoss), "val_psnr": n(v.valPSNR),
                    "psnr_per_frame": v.psnrPerFrame.map(n), "seconds": v.seconds]
        case .checkpoint(let epoch, let path, let reason):
            return ["event": "checkpoint", "epoch": epoch, "path": path, "reason": reason]
        case .skippedBatch(let epoch, let iteration, let reason):
            return ["event": "skipped_batch", "epoch": epoch, "iteration": iteration, "reason": reason]
        case .epochStarted, .validationProgress, .message:
            return nil
        }
    }
}
