import Foundation
import Torch

// The lab's per-epoch schedules as pure functions of the (0-based) epoch.
//
// The lab template updates tfr and the KL annealer at the end of every epoch, after incrementing
// its epoch counter; so the values used during epoch e are the ones after e updates.

/// Teacher-forcing ratio: starts at `start`; from epoch `decayStart` (`tfr_sde`) it drops by
/// `step` (`tfr_d_step`) every `every` epochs (1 in the template; 5 and 10 are the report's
/// strategies 1 and 2), floored at 0.
public struct TeacherForcingSchedule: Codable, Equatable, Sendable {
    public var start: Double
    public var decayStart: Int
    public var step: Double
    public var every: Int

    public init(start: Double = 1.0, decayStart: Int = 10, step: Double = 0.1, every: Int = 1) {
        self.start = start; self.decayStart = decayStart; self.step = step; self.every = max(1, every)
    }

    public func ratio(epoch: Int) -> Double {
        // Updates happen after epochs 1...e (counter already incremented); one counts when the
        // counter has reached decayStart and (counter - decayStart) is a multiple of `every`.
        var value = start
        if epoch >= 1 {
            for counter in 1...epoch where counter >= decayStart && (counter - decayStart) % every == 0 {
                value = max(0, value - step)
            }
        }
        return value
    }
}

/// KL weight beta per epoch: `none` (1), `monotonic` or `cyclical` (Fu et al. 2019's
/// frange_cycle_linear over the whole run).
public struct KLAnnealing: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case none = "None", monotonic = "Monotonic", cyclical = "Cyclical"
    }

    public var kind: Kind
    public var cycles: Int
    public var ratio: Double
    public var start: Double
    public var stop: Double
    public var epochs: Int
    /// Multiplies every value (`kl_weight`; the lab: 1).
    public var weight: Double

    public init(kind: Kind = .cyclical, cycles: Int = 10, ratio: Double = 1, start: Double = 0, stop: Double = 1,
                epochs: Int = 70, weight: Double = 1) {
        self.kind = kind; self.cycles = max(1, cycles); self.ratio = ratio; self.start = start; self.stop = stop
        self.epochs = max(1, epochs); self.weight = weight
    }

    public func beta(epoch: Int) -> Double { weight * annealed(epoch: epoch) }

    private func annealed(epoch: Int) -> Double {
        switch kind {
        case .none: return 1.0
        case .monotonic: return Self.frangeCycleLinear(count: epochs, start: start, stop: stop, cycles: 1, ratio: ratio)[clamped(epoch)]
        case .cyclical: return Self.frangeCycleLinear(count: epochs, start: start, stop: stop, cycles: cycles, ratio: ratio)[clamped(epoch)]
        }
    }

    /// Beyond the planned epochs (a resumed, extended run) the last value holds.
    private func clamped(_ epoch: Int) -> Int { min(max(0, epoch), epochs - 1) }

    /// Fu et al.'s frange_cycle_linear, step for step (float64 accumulation as NumPy does):
    /// L = stop everywhere; in each of `cycles` periods, v rises from start by
    /// (stop - start) / (period * ratio) per epoch while v <= stop.
    public static func frangeCycleLinear(count: Int, start: Double, stop: Double, cycles: Int, ratio: Double) -> [Double] {
        var values = [Double](repeating: stop, count: count)
        let period = Double(count) / Double(cycles)
        let step = (stop - start) / (period * ratio)
        for c in 0..<cycles {
            var v = start
            var i = 0.0
            while v <= stop && Int(i + Double(c) * period) < count {
                values[Int(i + Double(c) * period)] = v
                v += step
                i += 1
            }
        }
        return values
    }
}

/// The learning-rate schedule a run uses (`lr_schedule`).
public enum LearningRateSchedule: String, SettingChoice, Codable {
    /// x`gamma` at each milestone epoch (the lab: 0.1 at epochs 2 and 5).
    case multistep
    case constant
    /// Linear warm-up, then cosine decay to 5% of the base rate at the last epoch.
    case cosine

    public func schedule(epochs: Int, warmupEpochs: Int, milestones: [Int], gamma: Double) -> LRSchedule {
        switch self {
        case .multistep: return .multiStep(milestones: milestones, gamma: gamma)
        case .constant: return .constant
        case .cosine: return .cosine(totalEpochs: epochs, warmupEpochs: warmupEpochs, minFactor: 0.05)
        }
    }
}
