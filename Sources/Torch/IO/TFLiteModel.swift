import Foundation

/// A TFLite model file (a FlatBuffer of TensorFlow Lite's schema), read without TensorFlow: its
/// tensors (shape, type, constant data, sparsity), its operators in execution order and their
/// options. `TFLiteGraph` runs it on libtorch. Field numbers are those of TFLite's `schema.fbs`.
public struct TFLiteModel {
    /// TFLite's TensorType values this reader turns into tensors.
    public enum ElementType: Int, Sendable {
        case float32 = 0, float16 = 1, int32 = 2, uint8 = 3, int64 = 4

        var dtype: DType {
            switch self {
            case .float32: .float32
            case .float16: .float16
            case .int32: .int32
            case .uint8: .uint8
            case .int64: .int64
            }
        }
    }

    /// How a sparse constant is stored (TFLite's SparsityParameters).
    struct Sparsity {
        enum Dimension { case dense(size: Int), compressed(segments: [Int], indices: [Int]) }
        var traversalOrder: [Int]
        var blockMap: [Int]
        var dimensions: [Dimension]
    }

    public struct TensorInfo {
        public var name: String
        public var shape: [Int]
        public var type: ElementType?
        /// Where the constant data lies in the file (nil: computed at run time).
        var data: Range<Int>?
        var sparsity: Sparsity?
    }

    public struct Operator {
        /// The BuiltinOperator code.
        public var code: Int
        public var inputs: [Int]
        public var outputs: [Int]
        var options: FlatBuffer.Table?
    }

    /// BuiltinOperator codes of the operators `TFLiteGraph` runs.
    public enum Code {
        public static let add = 0, concatenation = 2, conv2d = 3, depthwiseConv2d = 4, depthToSpace = 5, dequantize = 6
        public static let logistic = 14, maxPool2d = 17, reshape = 22, resizeBilinear = 23, pad = 34, densify = 124
    }

    public let tensors: [TensorInfo]
    public let inputs: [Int]
    public let outputs: [Int]
    public let operators: [Operator]
    let buffer: FlatBuffer

    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TorchError("cannot read the TFLite model \(url.path): \(error.localizedDescription)")
        }
        try self.init(bytes: [UInt8](data), source: url.path)
    }

    public init(bytes: [UInt8], source: String) throws {
        let buffer = FlatBuffer(bytes, source: source)
        guard bytes.count >= 8, String(decoding: bytes[4..<8], as: UTF8.self) == "TFL3" else {
            throw buffer.fail("no TFL3 identifier at byte 4")
        }
        let model = try buffer.root()
        let buffers = try model.tables(4).map { try $0.byteRange(0) }
        let codes = try model.tables(1).map { code in
            // builtin_code (field 3) replaced deprecated_builtin_code (field 0, a byte) from code 127 on.
            max(try code.byte(0), try code.int(3))
        }
        let subgraphs = try model.tables(2)
        guard let graph = subgraphs.first else { throw buffer.fail("the model has no subgraph") }
        tensors = try graph.tables(0).map { t in
            let bufferIndex = try t.uint(2)
            let range = bufferIndex < buffers.count ? buffers[bufferIndex] : nil
            return TensorInfo(name: try t.string(3) ?? "", shape: try t.ints(0), type: ElementType(rawValue: try t.byte(1)),
                              data: range.flatMap { $0.isEmpty ? nil : $0 }, sparsity: try t.table(6).map { try Self.sparsity($0) })
        }
        inputs = try graph.ints(1)
        outputs = try graph.ints(2)
        operators = try graph.tables(3).map { op in
            let index = try op.uint(0)
            guard index < codes.count else { throw buffer.fail("an operator names operator code \(index) of \(codes.count)") }
            return Operator(code: codes[index], inputs: try op.ints(1), outputs: try op.ints(2), options: try op.table(4))
        }
        for op in operators {
            guard !op.outputs.isEmpty else { throw buffer.fail("operator \(op.code) has no output") }
            for t in op.inputs + op.outputs where t >= tensors.count || t < -1 || (t < 0 && op.outputs.contains(t)) {
                throw buffer.fail("an operator names tensor \(t) of \(tensors.count)")
            }
        }
        for t in inputs + outputs where !(0..<tensors.count).contains(t) {
            throw buffer.fail("the graph's inputs or outputs name tensor \(t) of \(tensors.count)")
        }
        self.buffer = buffer
    }

    private static func sparsity(_ table: FlatBuffer.Table) throws -> Sparsity {
        let dimensions = try table.tables(2).map { d -> Sparsity.Dimension in
            if try d.byte(0) == 0 { return .dense(size: try d.int(1)) }
            return .compressed(segments: try unionVector(d, type: 2, value: 3), indices: try unionVector(d, type: 4, value: 5))
        }
        return Sparsity(traversalOrder: try table.ints(0), blockMap: try table.ints(1), dimensions: dimensions)
    }

    /// A DimensionMetadata array: the union of Int32Vector, Uint16Vector and Uint8Vector.
    private static func unionVector(_ table: FlatBuffer.Table, type: Int, value: Int) throws -> [Int] {
        guard let vector = try table.table(value) else { return [] }
        switch try table.byte(type) {
        case 1: return try vector.ints(0)
        case 2: return try vector.uint16s(0)
        case 3: return try vector.byteRange(0).map { range in range.map { Int(vector.buffer.bytes[$0]) } } ?? []
        default: throw table.buffer.fail("a sparse dimension has array type \(try table.byte(type))")
        }
    }

    /// Tensor `index`'s constant data as a tensor of its own type (sparse data made dense), or nil.
    public func constant(_ index: Int) throws -> Tensor? {
        let info = tensors[index]
        guard let range = info.data else { return nil }
        guard info.shape.allSatisfy({ $0 >= 0 }), info.shape.reduce(1, { $0 &* $1 }) <= range.count * 64 else {
            throw buffer.fail("constant tensor \(info.name) has shape \(info.shape), too large for its \(range.count) bytes")
        }
        guard let type = info.type else { throw buffer.fail("constant tensor \(info.name) has an element type this reader does not know") }
        let size = type.dtype.byteSize
        var bytes = Array(buffer.bytes[range])
        if let sparsity = info.sparsity { bytes = try dense(bytes, elementSize: size, shape: info.shape, sparsity: sparsity, name: info.name) }
        guard bytes.count == info.shape.reduce(1, *) * size else {
            throw buffer.fail("constant tensor \(info.name) holds \(bytes.count) bytes for shape \(info.shape) of \(type)")
        }
        return try bytes.withUnsafeBytes { try Tensor(bytes: $0, dtype: type.dtype, shape: info.shape) }
    }

    /// TFLite's sparse-to-dense conversion: the stored values in traversal order, each level dense
    /// (every index) or compressed (CSR: the indices of the segment the previous level selects); a
    /// block dimension adds its index to the dimension it blocks, scaled by nothing, while that
    /// dimension's own index is scaled by the block size.
    private func dense(_ values: [UInt8], elementSize: Int, shape: [Int], sparsity: Sparsity, name: String) throws -> [UInt8] {
        let rank = shape.count, levels = sparsity.traversalOrder.count
        guard sparsity.dimensions.count == levels, levels == rank + sparsity.blockMap.count,
              Set(sparsity.traversalOrder) == Set(0..<levels), sparsity.blockMap.allSatisfy({ (0..<rank).contains($0) }),
              shape.allSatisfy({ $0 >= 0 }) else {
            throw buffer.fail("sparse tensor \(name) has inconsistent sparsity levels")
        }
        var blockSize = [Int](repeating: 1, count: rank)
        for (b, dim) in sparsity.blockMap.enumerated() {
            guard dim < rank, let level = sparsity.traversalOrder.firstIndex(of: rank + b), case .dense(let size) = sparsity.dimensions[level] else {
                throw buffer.fail("sparse tensor \(name) has a block dimension without a dense size")
            }
            blockSize[dim] = size
        }
        var strides = [Int](repeating: 1, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * shape[d + 1] }
        var out = [UInt8](repeating: 0, count: shape.reduce(1, *) * elementSize)
        var indices = [Int](repeating: 0, count: levels)
        var next = 0
        func fill(_ level: Int, _ previous: Int) throws {
            if level == levels {
                var flat = 0
                for l in 0..<levels {
                    let t = sparsity.traversalOrder[l]
                    flat &+= t < rank ? indices[l] &* blockSize[t] &* strides[t] : indices[l] &* strides[sparsity.blockMap[t - rank]]
                }
                guard (next + 1) * elementSize <= values.count, flat >= 0, (flat + 1) * elementSize <= out.count else {
                    throw buffer.fail("sparse tensor \(name) has more values or larger indices than its shape \(shape) allows")
                }
                for k in 0..<elementSize { out[flat * elementSize + k] = values[next * elementSize + k] }
                next += 1
                return
            }
            switch sparsity.dimensions[level] {
            case .dense(let size):
                guard size >= 0 else { throw buffer.fail("sparse tensor \(name) has a dense size of \(size)") }
                for i in 0..<size { indices[level] = i; try fill(level + 1, previous * size + i) }
            case .compressed(let segments, let positions):
                guard previous >= 0, previous + 1 < segments.count, segments[previous] >= 0, segments[previous] <= segments[previous + 1] else {
                    throw buffer.fail("sparse tensor \(name) has missing or decreasing segments")
                }
                for i in segments[previous]..<segments[previous + 1] {
                    guard i < positions.count else { throw buffer.fail("sparse tensor \(name) has too few indices") }
                    guard positions[i] >= 0 else { throw buffer.fail("sparse tensor \(name) has a negative index") }
                    indices[level] = positions[i]
                    try fill(level + 1, i)
                }
            }
        }
        try fill(0, 0)
        return out
    }
}
