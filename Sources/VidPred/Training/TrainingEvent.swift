import Foundation

/// What the trainer reports while it works. The CLI renders these as a progress bar; the records
/// among them are appended to `metrics.jsonl` (`MetricsLog`, docs/run-folder.md). Epochs are
/// numbered from 1 everywhere, as the terminal shows them.
public enum TrainingEvent: Sendable {
    case epochStarted(EpochPlan)
    case batch(BatchRecord, BatchProgress)
    case skippedBatch(SkippedBatchRecord)
    case epoch(EpochRecord)
    case validationProgress(frame: Int, of: Int)
    case validation(ValidationRecord)
    case checkpoint(CheckpointRecord)
    /// Something the user should know that is not a record (a resume that fell back to an older
    /// checkpoint, temporary files of a killed run removed).
    case notice(String)
}

/// The schedules' values for one epoch, decided before it starts.
public struct EpochPlan: Sendable {
    /// 1-based.
    public let epoch: Int
    public let epochs: Int
    public let batches: Int
    public let teacherForcing: Bool
    public let tfr: Double
    public let beta: Double
    public let lr: Double
    /// 0-based: the argument of the schedules and of the per-epoch seeds.
    var index: Int { epoch - 1 }
}

/// One optimizer step.
public struct BatchRecord: Codable, Sendable {
    public var epoch: Int
    /// Batches trained since the start of the run (skipped ones included).
    public var iteration: Int
    public var loss: Double
    public var mse: Double
    public var kl: Double
    public var beta: Double
    public var tfr: Double
    public var teacherForcing: Bool
    public var lr: Double
    /// Training seconds since the start of the run (a resumed run continues the count).
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case epoch, iteration, loss, mse, kl, beta, tfr, lr, seconds
        case teacherForcing = "teacher_forcing"
    }
}

/// Where a batch stands in its epoch (for progress bars; not logged).
public struct BatchProgress: Sendable {
    /// 1-based.
    public let batch: Int
    public let batches: Int
    public let framesPerSecond: Double
}

/// A batch whose loss or gradient norm was not finite: no optimizer step was taken.
public struct SkippedBatchRecord: Codable, Sendable {
    public var epoch: Int
    public var iteration: Int
    public var reason: String
}

public struct EpochRecord: Codable, Sendable {
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

    enum CodingKeys: String, CodingKey {
        case epoch, tfr, beta, lr, seconds
        case trainLoss = "train_loss", trainMSE = "train_mse", trainKL = "train_kl", teacherForcing = "teacher_forcing"
        case skippedBatches = "skipped_batches", framesPerSecond = "frames_per_second"
    }
}

/// A validation rollout. `epoch` is the number of epochs trained before it (0: untrained).
public struct ValidationRecord: Codable, Sendable {
    public var epoch: Int
    /// Mean per-frame MSE of the rollout.
    public var valLoss: Double
    public var valPSNR: Double
    /// Frames 1..<T of the val video(s).
    public var psnrPerFrame: [Double]
    /// Mean SSIM (Gaussian window 11, range 1) over the same frames; nil in logs of earlier versions.
    public var valSSIM: Double?
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case epoch, seconds
        case valLoss = "val_loss", valPSNR = "val_psnr", psnrPerFrame = "psnr_per_frame", valSSIM = "val_ssim"
    }
}

public struct CheckpointRecord: Codable, Sendable {
    public var epoch: Int
    /// Relative to the run folder.
    public var path: String
    public var reason: CheckpointReason
}

/// Why a checkpoint was written.
public enum CheckpointReason: String, Codable, Sendable {
    /// After every epoch: what `--resume` continues from.
    case last
    /// A new best val PSNR.
    case best
    /// Every `per_save` epochs.
    case periodic
    /// Every `snapshot_every_minutes` of training.
    case snapshot
    /// Ctrl-C.
    case interrupted
}

/// Why training stopped.
public enum StopReason: Sendable, Equatable, CustomStringConvertible {
    case finished(epochs: Int)
    case alreadyDone(epochs: Int)
    /// Ctrl-C (or the caller's stop condition); the last checkpoint holds the work so far.
    case interrupted
    case timeBudget(minutes: Double)
    case earlyStop(patience: Int)

    public var description: String {
        switch self {
        case .finished(let epochs): return "finished \(epochs) epochs"
        case .alreadyDone(let epochs): return "nothing to do: the run has already done \(epochs) epochs"
        case .interrupted: return "interrupted (checkpoint saved; the run can be resumed)"
        case .timeBudget(let minutes): return "time budget of \(minutes) minutes reached"
        case .earlyStop(let patience): return "early stop: no val PSNR improvement in \(patience) validations"
        }
    }
}
