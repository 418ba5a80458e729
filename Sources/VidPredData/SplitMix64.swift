import Foundation

/// A small seeded pseudo-random generator (SplitMix64, Steele et al. 2014): the same seed gives
/// the same numbers on every platform and Swift version, which Foundation's and the standard
/// library's generators do not promise. Used wherever output must be reproducible (window
/// shuffling, synthetic data).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    /// A generator for a sub-stream (e.g. one clip or one frame), independent of the order in
    /// which streams are used: mixing the keys into the seed keeps parallel work deterministic.
    public init(seed: UInt64, stream: UInt64...) {
        var mixed = SplitMix64(seed: seed)
        var value = mixed.next()
        for key in stream {
            var g = SplitMix64(seed: value ^ (key &* 0x9E37_79B9_7F4A_7C15))
            value = g.next()
        }
        state = value
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func unit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform in [low, high).
    public mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * unit()
    }

    /// Uniform integer in 0..<bound (bound > 0), without modulo bias.
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0, "below(\(bound))")
        let limit = UInt64.max - UInt64.max % UInt64(bound)
        var value = next()
        while value >= limit { value = next() }
        return Int(value % UInt64(bound))
    }

    /// Standard normal (Box-Muller).
    public mutating func normal() -> Double {
        let u1 = max(unit(), 0x1.0p-60), u2 = unit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// Fisher-Yates shuffle.
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            array.swapAt(i, below(i + 1))
        }
    }
}

