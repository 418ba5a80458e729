import CTorch

/// Element types VidPred uses. Raw values are libtorch's ScalarType codes.
public enum DType: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case uint8 = 0, int32 = 3, int64 = 4, float16 = 5, float32 = 6, float64 = 7, bool = 11, bfloat16 = 15

    public var byteSize: Int {
        switch self {
        case .uint8, .bool: return 1
        case .float16, .bfloat16: return 2
        case .int32, .float32: return 4
        case .int64, .float64: return 8
        }
    }

    public var isFloatingPoint: Bool { [.float16, .bfloat16, .float32, .float64].contains(self) }

    public var description: String {
        switch self {
        case .uint8: return "uint8"
        case .int32: return "int32"
        case .int64: return "int64"
        case .float16: return "float16"
        case .float32: return "float32"
        case .float64: return "float64"
        case .bool: return "bool"
        case .bfloat16: return "bfloat16"
        }
    }

    /// The name safetensors uses for this type.
    public var safetensorsName: String {
        switch self {
        case .uint8: return "U8"
        case .int32: return "I32"
        case .int64: return "I64"
        case .float16: return "F16"
        case .float32: return "F32"
        case .float64: return "F64"
        case .bool: return "BOOL"
        case .bfloat16: return "BF16"
        }
    }

    public init?(safetensorsName: String) {
        guard let match = DType.allCases.first(where: { $0.safetensorsName == safetensorsName }) else { return nil }
        self = match
    }
}

/// Where a tensor lives. CUDA is available when libtorch_cuda is loaded (`Runtime.enableCUDA`).
public enum Device: Equatable, Sendable, CustomStringConvertible {
    case cpu
    case cuda(Int)

    var code: (Int32, Int32) {
        switch self {
        case .cpu: return (0, 0)
        case .cuda(let index): return (1, Int32(index))
        }
    }

    public var description: String {
        switch self {
        case .cpu: return "cpu"
        case .cuda(let index): return "cuda:\(index)"
        }
    }

    /// Parses "cpu", "cuda", "cuda:1".
    public init?(parsing text: String) {
        if text == "cpu" { self = .cpu; return }
        if text == "cuda" { self = .cuda(0); return }
        if text.hasPrefix("cuda:"), let index = Int(text.dropFirst(5)) { self = .cuda(index); return }
        return nil
    }
}
