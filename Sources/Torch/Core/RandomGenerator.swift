import CTorch

/// A seeded random-number generator (libtorch's CPU Philox/MT generator). Random tensors for any
/// device are drawn on the CPU and moved, so one seed gives the same numbers everywhere.
public final class RandomGenerator: @unchecked Sendable {
    let handle: ct_generator

    public init(seed: UInt64) throws {
        var out: ct_generator?
        try check(ct_generator_new(seed, &out), "RandomGenerator(seed:)")
        handle = out!
    }

    deinit { ct_generator_free(handle) }

    /// The full generator state as a uint8 tensor (saved in checkpoints for exact resume).
    public func state() throws -> Tensor {
        var out: ct_tensor?
        try check(ct_generator_get_state(handle, &out), "RandomGenerator.state")
        return Tensor(handle: out!)
    }

    public func setState(_ state: Tensor) throws {
        try check(ct_generator_set_state(handle, state.handle), "RandomGenerator.setState")
    }
}

extension RandomGenerator {
    /// The generator layers draw their initial weights from when none is passed to them; nil (the
    /// default) means libtorch's global one, as in PyTorch. Bind one around a model's construction,
    /// `try RandomGenerator.initialising(seed: s) { try makeModel(config) }`, so the weights
    /// depend on its seed only, not on what other threads or tasks draw from the global generator
    /// meanwhile. A generator seeded with s draws the same numbers as the global one after
    /// `Runtime.seed(s)` (both are libtorch's CPU generator).
    @TaskLocal public static var initialisation: RandomGenerator?

    /// Runs `build` (a model's construction) with its layers initialised from a new generator
    /// seeded with `seed`.
    public static func initialising<T>(seed: UInt64, _ build: () throws -> T) throws -> T {
        try $initialisation.withValue(try RandomGenerator(seed: seed), operation: build)
    }
}
