import Foundation

/// Learning rate as a pure function of the epoch (0-based).
public enum LRSchedule: Equatable, Sendable, Codable {
    /// The same rate every epoch.
    case constant
    /// Multiply by `gamma` at each milestone epoch (PyTorch's MultiStepLR; the lab used [2, 5], 0.1).
    case multiStep(milestones: [Int], gamma: Double)
    /// Linear warm-up over `warmupEpochs`, then cosine decay to `minFactor` x base at `totalEpochs`.
    case cosine(totalEpochs: Int, warmupEpochs: Int, minFactor: Double)

    public func learningRate(base: Double, epoch: Int) -> Double {
        switch self {
        case .constant:
            return base
        case .multiStep(let milestones, let gamma):
            let passed = milestones.filter { epoch >= $0 }.count
            return base * pow(gamma, Double(passed))
        case .cosine(let total, let warmup, let minFactor):
            if warmup > 0 && epoch < warmup { return base * Double(epoch + 1) / Double(warmup) }
            let span = max(1, total - warmup)
            let progress = min(1, Double(epoch - warmup) / Double(span))
            let factor = minFactor + (1 - minFactor) * 0.5 * (1 + cos(Double.pi * progress))
            return base * factor
        }
    }
}
