import Foundation

/// What the trainer reports while it works. The CLI renders these as a progress bar; the metrics
/// log appends them as JSON lines (docs/run-folder.md).
public enum TrainingEvent: Sendable {
    case epochStarted(EpochPlan)
    case batch(BatchStats)
    case skippedBatch(epoch: Int, iteration: Int, reason: String)
    case epoch(EpochStats)
    case validationProgress(frame: Int, of: Int)
    case validation(ValidationStats)
    case checkpoint(epoch: Int, path: String, reason: String)
    case message(String)
}

public struct EpochPlan: Sendable {
    public let epoch: Int
    public let epochs: Int
    public let batches: Int
    public let teacherForcing: Bool
    public let tfr: Double
    public let beta: Double
    public let lr: Double
}

public struct BatchStats: Sendable {
    public let epoch: Int
    public let batchInEpoch: Int
    public let batches: Int
    public let iteration: Int
    public let loss: Double
    public let mse: Double
    public let kl: Double
    public let beta: Double
    public let tfr: Double
    public let teacherForcing: Bool
    public let lr: Double
    public let seconds: Double
    public let framesPerSecond: Double
}

public struct EpochStats: Sendable {
    public let epoch: Int
    public let trainLoss: Double
    public let trainMSE: Double
    public let trainKL: Double
    public let tfr: Double
    public let beta: Double
    public let lr: Double
    public let teacherForcing: Bool
    public let skippedBatches: Int
    public let seconds: Double
    public let framesPerSecond: Double
}

public struct ValidationStats: Sendable {
    public let epoch: Int
    public let valLoss: Double
    public let valPSNR: Double
    public let psnrPerFrame: [Double]
    public let seconds: Double
}
