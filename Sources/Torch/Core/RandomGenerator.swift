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
