import CTorch

/// An n-dimensional array owned by libtorch. The Swift object owns one handle and frees it in
/// `deinit`; several handles may share storage (views), exactly as PyTorch tensors do.
///
/// Every operation can fail (shape mismatch, bad index...) and throws a `TorchError` carrying
/// libtorch's message, shapes included.
public final class Tensor: @unchecked Sendable {
    // @unchecked: the handle is immutable and libtorch's reference counts are atomic; in-place
    // mutation from several threads at once is not supported, as in PyTorch.
    let handle: ct_tensor

    init(handle: ct_tensor) { self.handle = handle }

    deinit { ct_free(handle) }

    /// Wraps the result of a shim call that writes one tensor.
    @inline(__always)
    static func make(_ operation: StaticString, _ call: (UnsafeMutablePointer<ct_tensor?>) -> Int32) throws -> Tensor {
        var out: ct_tensor?
        try check(call(&out), operation)
        guard let handle = out else { throw TorchError("\(operation): libtorch returned no tensor") }
        return Tensor(handle: handle)
    }

    // MARK: - metadata

    public var shape: [Int] {
        var ndim: Int64 = 0
        _ = ct_ndim(handle, &ndim)
        var sizes = [Int64](repeating: 0, count: Int(ndim))
        _ = ct_sizes(handle, &sizes, ndim)
        return sizes.map(Int.init)
    }

    public var rank: Int { shape.count }

    public var count: Int {
        var n: Int64 = 0
        _ = ct_numel(handle, &n)
        return Int(n)
    }

    public var dtype: DType {
        var code: Int32 = 0
        _ = ct_dtype(handle, &code)
        return DType(rawValue: code) ?? .float32
    }

    public var device: Device {
        var type: Int32 = 0, index: Int32 = 0
        _ = ct_device(handle, &type, &index)
        return type == 1 ? .cuda(Int(index)) : .cpu
    }

    public var requiresGrad: Bool {
        var flag: Int32 = 0
        _ = ct_requires_grad(handle, &flag)
        return flag != 0
    }

    /// Marks this tensor as a leaf whose gradient autograd should compute. Returns self.
    @discardableResult
    public func requiringGrad(_ flag: Bool = true) throws -> Tensor {
        try check(ct_set_requires_grad(handle, flag ? 1 : 0), "requiringGrad")
        return self
    }

    public var isContiguous: Bool {
        var flag: Int32 = 0
        _ = ct_is_contiguous(handle, &flag)
        return flag != 0
    }

    // MARK: - creation

    /// A float32 tensor holding `values` with the given shape (row-major).
    public convenience init(_ values: [Float], shape: [Int]) throws {
        try Self.checkCount(values.count, shape)
        let sizes = shape.map(Int64.init)
        var out: ct_tensor?
        try values.withUnsafeBytes { buffer in
            try check(ct_from_data(buffer.baseAddress, sizes, Int32(sizes.count), DType.float32.rawValue, &out), "Tensor(_:shape:)")
        }
        self.init(handle: out!)
    }

    /// A float64 tensor (finite-difference checks and other precise numerics).
    public convenience init(float64 values: [Double], shape: [Int]) throws {
        try Self.checkCount(values.count, shape)
        let sizes = shape.map(Int64.init)
        var out: ct_tensor?
        try values.withUnsafeBytes { buffer in
            try check(ct_from_data(buffer.baseAddress, sizes, Int32(sizes.count), DType.float64.rawValue, &out), "Tensor(float64:shape:)")
        }
        self.init(handle: out!)
    }

    /// A 1-D float32 tensor.
    public convenience init(_ values: [Float]) throws { try self.init(values, shape: [values.count]) }

    /// An int64 tensor (indices).
    public convenience init(indices values: [Int], shape: [Int]? = nil) throws {
        let shape = shape ?? [values.count]
        try Self.checkCount(values.count, shape)
        let data = values.map(Int64.init)
        let sizes = shape.map(Int64.init)
        var out: ct_tensor?
        try data.withUnsafeBytes { buffer in
            try check(ct_from_data(buffer.baseAddress, sizes, Int32(sizes.count), DType.int64.rawValue, &out), "Tensor(indices:)")
        }
        self.init(handle: out!)
    }

    /// A tensor made from raw little-endian bytes of `dtype` (used by safetensors loading).
    public convenience init(bytes: UnsafeRawBufferPointer, dtype: DType, shape: [Int]) throws {
        let expected = shape.reduce(1, *) * dtype.byteSize
        guard bytes.count == expected else {
            throw TorchError("Tensor(bytes:): \(bytes.count) bytes given for shape \(shape) of \(dtype) (\(expected) expected)")
        }
        let sizes = shape.map(Int64.init)
        var out: ct_tensor?
        if expected == 0 {
            try check(ct_zeros(sizes, Int32(sizes.count), dtype.rawValue, 0, 0, &out), "Tensor(bytes:)")
        } else {
            try check(ct_from_data(bytes.baseAddress, sizes, Int32(sizes.count), dtype.rawValue, &out), "Tensor(bytes:)")
        }
        self.init(handle: out!)
    }

    /// A 0-dimensional tensor.
    public static func scalar(_ value: Double, dtype: DType = .float32) throws -> Tensor {
        try make("scalar") { ct_scalar_tensor(value, dtype.rawValue, $0) }
    }

    public static func zeros(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        let s = shape.map(Int64.init), d = device.code
        return try make("zeros") { ct_zeros(s, Int32(s.count), dtype.rawValue, d.0, d.1, $0) }
    }

    public static func ones(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        let s = shape.map(Int64.init), d = device.code
        return try make("ones") { ct_ones(s, Int32(s.count), dtype.rawValue, d.0, d.1, $0) }
    }

    public static func full(_ shape: [Int], _ value: Double, dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        let s = shape.map(Int64.init), d = device.code
        return try make("full") { ct_full(s, Int32(s.count), value, dtype.rawValue, d.0, d.1, $0) }
    }

    // Random draws with a generator (always a CPU generator here) happen on the CPU and are then
    // moved: a seed gives the same numbers on every device, so a GPU run can be checked against
    // a CPU run of the same seed. The noise of a step is small next to the step's work.

    /// Standard normal samples; with a generator the draw is reproducible.
    public static func randn(_ shape: [Int], generator: RandomGenerator? = nil, dtype: DType = .float32,
                             device: Device = .cpu) throws -> Tensor {
        let s = shape.map(Int64.init), d = (generator == nil ? device : .cpu).code
        let drawn = try make("randn") { ct_randn(s, Int32(s.count), generator?.handle, dtype.rawValue, d.0, d.1, $0) }
        return generator == nil || device == .cpu ? drawn : try drawn.to(device)
    }

    /// Uniform samples in [0, 1).
    public static func rand(_ shape: [Int], generator: RandomGenerator? = nil, dtype: DType = .float32,
                            device: Device = .cpu) throws -> Tensor {
        let s = shape.map(Int64.init), d = (generator == nil ? device : .cpu).code
        let drawn = try make("rand") { ct_rand(s, Int32(s.count), generator?.handle, dtype.rawValue, d.0, d.1, $0) }
        return generator == nil || device == .cpu ? drawn : try drawn.to(device)
    }

    /// Standard normal samples with this tensor's shape, dtype and device.
    public func randnLike(generator: RandomGenerator? = nil) throws -> Tensor {
        guard generator != nil, device != .cpu else { return try Tensor.make("randnLike") { ct_randn_like(handle, generator?.handle, $0) } }
        return try Tensor.randn(shape, generator: generator, dtype: dtype, device: device)
    }

    public static func arange(_ n: Int, dtype: DType = .int64) throws -> Tensor {
        try make("arange") { ct_arange(Int64(n), dtype.rawValue, $0) }
    }

    private static func checkCount(_ count: Int, _ shape: [Int]) throws {
        let expected = shape.reduce(1, *)
        guard count == expected else {
            throw TorchError("Tensor: \(count) values do not fill shape \(shape) (\(expected) needed)")
        }
    }

    // MARK: - reading back

    /// The elements as Float, in row-major order (any dtype/device is converted).
    public func floats() throws -> [Float] {
        let n = count
        var result = [Float](repeating: 0, count: n)
        try result.withUnsafeMutableBytes { buffer in
            try check(ct_copy_to(handle, DType.float32.rawValue, buffer.baseAddress, buffer.count), "floats")
        }
        return result
    }

    /// The elements as Double, in row-major order.
    public func doubles() throws -> [Double] {
        var result = [Double](repeating: 0, count: count)
        try result.withUnsafeMutableBytes { buffer in
            try check(ct_copy_to(handle, DType.float64.rawValue, buffer.baseAddress, buffer.count), "doubles")
        }
        return result
    }

    /// The elements as Int (for index and counter tensors).
    public func ints() throws -> [Int] {
        var result = [Int64](repeating: 0, count: count)
        try result.withUnsafeMutableBytes { buffer in
            try check(ct_copy_to(handle, DType.int64.rawValue, buffer.baseAddress, buffer.count), "ints")
        }
        return result.map(Int.init)
    }

    /// The raw bytes of the elements in `dtype` (row-major, little-endian), for serialisation.
    public func bytes(as dtype: DType? = nil) throws -> [UInt8] {
        let type = dtype ?? self.dtype
        var result = [UInt8](repeating: 0, count: count * type.byteSize)
        try result.withUnsafeMutableBytes { buffer in
            try check(ct_copy_to(handle, type.rawValue, buffer.baseAddress, buffer.count), "bytes")
        }
        return result
    }

    /// The single value of a one-element tensor.
    public func item() throws -> Double {
        var value: Double = 0
        try check(ct_item(handle, &value), "item")
        return value
    }

    public func float() throws -> Float { Float(try item()) }

    // MARK: - conversion and copies

    public func to(_ dtype: DType) throws -> Tensor {
        let d = device.code
        return try Tensor.make("to(dtype)") { ct_to(handle, dtype.rawValue, d.0, d.1, $0) }
    }

    public func to(_ device: Device) throws -> Tensor {
        let d = device.code, t = dtype
        return try Tensor.make("to(device)") { ct_to(handle, t.rawValue, d.0, d.1, $0) }
    }

    public func contiguous() throws -> Tensor { try Tensor.make("contiguous") { ct_contiguous(handle, $0) } }

    /// The same values stored channels-last (NHWC in memory), which oneDNN convolutions prefer.
    public func channelsLast() throws -> Tensor { try Tensor.make("channelsLast") { ct_channels_last(handle, $0) } }

    /// Whether the storage is laid out channels-last (NHWC order).
    public var isChannelsLast: Bool {
        var flag: Int32 = 0
        _ = ct_is_channels_last(handle, &flag)
        return flag != 0
    }

    /// Re-lays this tensor's storage channels-last in place (parameters keep their identity).
    public func setChannelsLast() throws { try check(ct_set_channels_last_(handle), "setChannelsLast") }

    /// Moves this tensor to `device`: the same Swift object (a module's parameter) then holds
    /// the moved tensor, with its gradient flag and memory layout; a gradient it had is dropped,
    /// and an optimizer made before the move still holds the old tensor (move first).
    public func move(to device: Device) throws {
        let d = device.code
        try check(ct_move_(handle, d.0, d.1), "move(to:)")
    }

    public func clone() throws -> Tensor { try Tensor.make("clone") { ct_clone(handle, $0) } }

    /// The same values, cut from the autograd graph.
    public func detached() throws -> Tensor { try Tensor.make("detached") { ct_detach(handle, $0) } }

    /// Another handle on the same tensor (same storage, same autograd identity).
    public func sharing() throws -> Tensor { try Tensor.make("sharing") { ct_shallow_clone(handle, $0) } }

    /// Copies `source` into this tensor in place without recording gradients (loading weights).
    public func copyIn(_ source: Tensor) throws {
        try check(ct_copy_(handle, source.handle), "copyIn")
    }

    public func fill(_ value: Double) throws { try check(ct_fill_(handle, value), "fill") }

    /// Fills in place with uniform samples in [low, high) (PyTorch's default layer initialisation).
    public func uniformFill(_ low: Double, _ high: Double, generator: RandomGenerator? = nil) throws {
        try check(ct_uniform_(handle, low, high, generator?.handle), "uniformFill")
    }

    // MARK: - autograd

    /// Back-propagates from this scalar, accumulating `.grad` in every leaf that requires it.
    public func backward() throws { try check(ct_backward(handle), "backward") }

    /// The accumulated gradient, or nil before any backward pass.
    public var grad: Tensor? {
        var out: ct_tensor?
        guard ct_grad(handle, &out) == 0, let h = out else { return nil }
        return Tensor(handle: h)
    }

    /// Drops the accumulated gradient (PyTorch's `zero_grad(set_to_none=True)`).
    public func clearGrad() throws { try check(ct_zero_grad(handle), "clearGrad") }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        "Tensor(shape: \(shape), dtype: \(dtype), device: \(device))"
    }
}

/// Gradients of `outputs` (summed) with respect to `inputs`, without touching `.grad`. Inputs that
/// do not influence the outputs get nil.
public func gradients(of outputs: [Tensor], withRespectTo inputs: [Tensor]) throws -> [Tensor?] {
    var results = [ct_tensor?](repeating: nil, count: inputs.count)
    let outHandles: [ct_tensor?] = outputs.map { $0.handle }
    let inHandles: [ct_tensor?] = inputs.map { $0.handle }
    try check(ct_autograd_grad(outHandles, Int32(outputs.count), inHandles, Int32(inputs.count), &results), "gradients")
    return results.map { $0.map { Tensor(handle: $0) } }
}
