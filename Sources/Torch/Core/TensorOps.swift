import CTorch

// Elementwise arithmetic with broadcasting, reductions and shape operations. Operators throw:
// write `try a + b * c` (one `try` covers the expression).

private enum Unary: Int32 {
    case neg = 0, exp, log, sqrt, abs, sigmoid, tanh, relu, square, isFinite, sign, round, floor
}

private enum Binary: Int32 {
    case add = 0, sub, mul, div, pow, maximum, minimum, eq, gt, lt
}

extension Tensor {
    private func unary(_ op: Unary, _ name: StaticString) throws -> Tensor {
        try Tensor.make(name) { ct_unary(op.rawValue, handle, $0) }
    }

    private func binary(_ op: Binary, _ other: Tensor, _ name: StaticString) throws -> Tensor {
        try Tensor.make(name) { ct_binary(op.rawValue, handle, other.handle, $0) }
    }

    private func binary(_ op: Binary, _ scalar: Double, _ name: StaticString) throws -> Tensor {
        try Tensor.make(name) { ct_binary_scalar(op.rawValue, handle, scalar, $0) }
    }

    // MARK: operators

    public static func + (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(.add, b, "add") }
    public static func - (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(.sub, b, "sub") }
    public static func * (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(.mul, b, "mul") }
    public static func / (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(.div, b, "div") }
    public static func + (a: Tensor, b: Double) throws -> Tensor { try a.binary(.add, b, "add") }
    public static func - (a: Tensor, b: Double) throws -> Tensor { try a.binary(.sub, b, "sub") }
    public static func * (a: Tensor, b: Double) throws -> Tensor { try a.binary(.mul, b, "mul") }
    public static func / (a: Tensor, b: Double) throws -> Tensor { try a.binary(.div, b, "div") }
    // No `Double op Tensor` overloads: they make the type checker try Tensor for every integer
    // literal expression in client code. Use `rsub` for `a - t`.
    public func rsub(_ a: Double) throws -> Tensor { try Tensor.make("rsub") { ct_rsub_scalar(a, handle, $0) } }
    public static prefix func - (a: Tensor) throws -> Tensor { try a.unary(.neg, "neg") }

    public func pow(_ exponent: Double) throws -> Tensor { try binary(.pow, exponent, "pow") }
    public func pow(_ exponent: Tensor) throws -> Tensor { try binary(.pow, exponent, "pow") }
    public func maximum(_ other: Tensor) throws -> Tensor { try binary(.maximum, other, "maximum") }
    public func minimum(_ other: Tensor) throws -> Tensor { try binary(.minimum, other, "minimum") }
    public func greater(_ value: Double) throws -> Tensor { try binary(.gt, value, "greater") }
    public func less(_ value: Double) throws -> Tensor { try binary(.lt, value, "less") }

    // MARK: elementwise functions

    public func exp() throws -> Tensor { try unary(.exp, "exp") }
    public func log() throws -> Tensor { try unary(.log, "log") }
    public func sqrt() throws -> Tensor { try unary(.sqrt, "sqrt") }
    public func abs() throws -> Tensor { try unary(.abs, "abs") }
    public func square() throws -> Tensor { try unary(.square, "square") }
    public func sigmoid() throws -> Tensor { try unary(.sigmoid, "sigmoid") }
    public func tanh() throws -> Tensor { try unary(.tanh, "tanh") }
    public func relu() throws -> Tensor { try unary(.relu, "relu") }
    public func sign() throws -> Tensor { try unary(.sign, "sign") }
    public func rounded() throws -> Tensor { try unary(.round, "round") }
    public func floor() throws -> Tensor { try unary(.floor, "floor") }
    public func isFinite() throws -> Tensor { try unary(.isFinite, "isFinite") }

    public func leakyRelu(_ slope: Double = 0.01) throws -> Tensor {
        try Tensor.make("leakyRelu") { ct_leaky_relu(handle, slope, $0) }
    }

    public func clamped(_ low: Double, _ high: Double) throws -> Tensor {
        try Tensor.make("clamped") { ct_clamp(handle, low, high, $0) }
    }

    /// Replaces NaN and infinities (the lab replaced non-finite outputs by a constant).
    public func nanToNum(_ nan: Double = 0, posinf: Double, neginf: Double) throws -> Tensor {
        try Tensor.make("nanToNum") { ct_nan_to_num(handle, nan, posinf, neginf, $0) }
    }

    public static func select(_ condition: Tensor, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        try Tensor.make("where") { ct_where(condition.handle, a.handle, b.handle, $0) }
    }

    /// True when every element is finite (no NaN, no infinity).
    public func allFinite() throws -> Bool {
        var flag: Int32 = 0
        try check(ct_all_finite(handle, &flag), "allFinite")
        return flag != 0
    }

    // MARK: reductions

    public func sum() throws -> Tensor { try Tensor.make("sum") { ct_sum(handle, $0) } }
    public func mean() throws -> Tensor { try Tensor.make("mean") { ct_mean(handle, $0) } }
    public func max() throws -> Tensor { try Tensor.make("max") { ct_max(handle, $0) } }
    public func min() throws -> Tensor { try Tensor.make("min") { ct_min(handle, $0) } }

    public func sum(dims: [Int], keepDims: Bool = false) throws -> Tensor {
        let d = dims.map(Int64.init)
        return try Tensor.make("sum(dims:)") { ct_sum_dims(handle, d, Int32(d.count), keepDims ? 1 : 0, $0) }
    }

    public func mean(dims: [Int], keepDims: Bool = false) throws -> Tensor {
        let d = dims.map(Int64.init)
        return try Tensor.make("mean(dims:)") { ct_mean_dims(handle, d, Int32(d.count), keepDims ? 1 : 0, $0) }
    }

    // MARK: shape

    /// New shape with the same elements; one dimension may be -1.
    public func reshaped(_ shape: [Int]) throws -> Tensor {
        let s = shape.map(Int64.init)
        return try Tensor.make("reshaped") { ct_reshape(handle, s, Int32(s.count), $0) }
    }

    public func permuted(_ dims: [Int]) throws -> Tensor {
        let d = dims.map(Int64.init)
        return try Tensor.make("permuted") { ct_permute(handle, d, Int32(d.count), $0) }
    }

    public func transposed(_ d0: Int, _ d1: Int) throws -> Tensor {
        try Tensor.make("transposed") { ct_transpose(handle, Int64(d0), Int64(d1), $0) }
    }

    public func unsqueezed(_ dim: Int) throws -> Tensor {
        try Tensor.make("unsqueezed") { ct_unsqueeze(handle, Int64(dim), $0) }
    }

    public func squeezed(_ dim: Int) throws -> Tensor {
        try Tensor.make("squeezed") { ct_squeeze_dim(handle, Int64(dim), $0) }
    }

    public func expanded(_ shape: [Int]) throws -> Tensor {
        let s = shape.map(Int64.init)
        return try Tensor.make("expanded") { ct_expand(handle, s, Int32(s.count), $0) }
    }

    public func flipped(_ dims: [Int]) throws -> Tensor {
        let d = dims.map(Int64.init)
        return try Tensor.make("flipped") { ct_flip(handle, d, Int32(d.count), $0) }
    }

    /// The slice at `index` along `dim`, that dimension removed (e.g. time step t of (B,T,C,H,W)).
    public func select(dim: Int, index: Int) throws -> Tensor {
        try Tensor.make("select") { ct_select(handle, Int64(dim), Int64(index), $0) }
    }

    /// `length` consecutive entries starting at `start` along `dim` (a view).
    public func narrow(dim: Int, start: Int, length: Int) throws -> Tensor {
        try Tensor.make("narrow") { ct_narrow(handle, Int64(dim), Int64(start), Int64(length), $0) }
    }

    /// Entries at `indices` along `dim` (a copy).
    public func indexSelect(dim: Int, indices: [Int]) throws -> Tensor {
        let index = try Tensor(indices: indices)
        return try Tensor.make("indexSelect") { ct_index_select(handle, Int64(dim), index.handle, $0) }
    }

    /// Splits into pieces of the given sizes along `dim`.
    public func split(sizes: [Int], dim: Int) throws -> [Tensor] {
        let s = sizes.map(Int64.init)
        var outs = [ct_tensor?](repeating: nil, count: sizes.count)
        try check(ct_split_sizes(handle, s, Int32(s.count), Int64(dim), &outs), "split")
        return outs.map { Tensor(handle: $0!) }
    }

    /// Splits into `count` equal pieces along `dim` (PyTorch's chunk when the size divides evenly).
    public func chunk(_ count: Int, dim: Int) throws -> [Tensor] {
        let shape = self.shape
        let axis = dim < 0 ? dim + shape.count : dim
        guard axis >= 0, axis < shape.count else { throw TorchError("chunk: dim \(dim) out of range for shape \(shape)") }
        let size = shape[axis]
        let piece = (size + count - 1) / count
        var sizes: [Int] = []
        var left = size
        while left > 0 { sizes.append(Swift.min(piece, left)); left -= piece }
        return try split(sizes: sizes, dim: axis)
    }

    public func matmul(_ other: Tensor) throws -> Tensor {
        try Tensor.make("matmul") { ct_matmul(handle, other.handle, $0) }
    }

    /// Softmax along `dim`, in float32 whatever the input's type (a bf16 softmax loses the small
    /// weights that attention sums over).
    public func softmax(dim: Int) throws -> Tensor {
        try Tensor.make("softmax") { ct_softmax(handle, Int64(dim), $0) }
    }

    public static func cat(_ tensors: [Tensor], dim: Int) throws -> Tensor {
        let handles: [ct_tensor?] = tensors.map { $0.handle }
        return try make("cat") { ct_cat(handles, Int32(handles.count), Int64(dim), $0) }
    }

    public static func stack(_ tensors: [Tensor], dim: Int) throws -> Tensor {
        let handles: [ct_tensor?] = tensors.map { $0.handle }
        return try make("stack") { ct_stack(handles, Int32(handles.count), Int64(dim), $0) }
    }
}
