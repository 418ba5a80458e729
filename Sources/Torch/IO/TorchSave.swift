import Foundation

/// PyTorch's `torch.save` format (the zip form, PyTorch 1.6 and later), read and written without
/// Python: a zip archive `NAME/data.pkl` (the pickled object, tensors as
/// `torch._utils._rebuild_tensor_v2` calls whose storages are persistent ids), `NAME/data/KEY`
/// (each storage's raw little-endian bytes), `NAME/byteorder` and `NAME/version`.
///
/// libtorch's own `torch::pickle_load` cannot read a checkpoint holding a `state_dict()` (it fails
/// on the OrderedDict's `_metadata`), hence this reader. Nothing in the file is executed: only the
/// calls PyTorch uses to rebuild tensors are understood, anything else is refused by name.
public enum TorchSave {
    /// A file's pickled object, with the tensors it refers to readable through `tensor(_:name:)`.
    public struct Archive {
        public let root: PickleValue
        public let source: String
        let reader: ZipArchive.Reader
        let prefix: String

        /// The tensor a `_rebuild_tensor_v2` / `_rebuild_parameter` call in `root` describes.
        public func tensor(_ value: PickleValue, name: String) throws -> Tensor {
            func fail(_ why: String) -> TorchError { TorchError("\(source): \(name) \(why)") }
            guard case .call(let function, let arguments, _) = value else { throw fail("is not a tensor") }
            switch function {
            case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
                guard let data = arguments.first else { throw fail("is a parameter without data") }
                return try tensor(data, name: name)
            case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
                break
            default:
                throw fail("is rebuilt by \(function), which VidPred does not read (only plain dense tensors)")
            }
            guard arguments.count >= 4, case .persistent(let id) = arguments[0], let idParts = id.items, idParts.count >= 5,
                  idParts[0] == .string("storage"), case .global(let storageType) = idParts[1], let key = idParts[2].string,
                  let offset = arguments[1].int, let shape = arguments[2].items?.compactMap(\.int), let strides = arguments[3].items?.compactMap(\.int),
                  shape.count == arguments[2].items?.count, strides.count == shape.count
            else { throw fail("has a storage reference VidPred cannot interpret") }
            guard let dtype = TorchSave.dtypes[storageType] else { throw fail("has storage type \(storageType), which VidPred does not read") }
            guard let storage = reader.entry("\(prefix)data/\(key)") else { throw fail("refers to storage \(key), which the archive lacks") }
            guard shape.count <= 16, shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }), offset >= 0 else {
                throw fail("has an invalid shape \(shape) or strides \(strides)")
            }
            let elements = storage.count / dtype.byteSize
            let count = shape.reduce(1, *)
            if count > 0 {
                let last = zip(shape, strides).reduce(offset) { $0 + ($1.0 - 1) * $1.1 }
                guard last < elements else { throw fail("reaches element \(last) of a storage of \(elements)") }
            }
            let size = dtype.byteSize
            if strides == TorchSave.contiguousStrides(shape) || count <= 1 {
                return try storage.withUnsafeBytes { raw in
                    try Tensor(bytes: UnsafeRawBufferPointer(rebasing: raw[(offset * size)..<((offset + count) * size)]), dtype: dtype, shape: shape)
                }
            }
            // A view with other strides: gather its elements in row-major order.
            var bytes = [UInt8](repeating: 0, count: count * size)
            storage.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                var index = [Int](repeating: 0, count: shape.count)
                for element in 0..<count {
                    let source = zip(index, strides).reduce(offset) { $0 + $1.0 * $1.1 } * size
                    for b in 0..<size { bytes[element * size + b] = raw[source + b] }
                    var axis = shape.count - 1
                    while axis >= 0 {
                        index[axis] += 1
                        if index[axis] < shape[axis] { break }
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
            return try bytes.withUnsafeBytes { try Tensor(bytes: $0, dtype: dtype, shape: shape) }
        }

        /// Every tensor of a dict of name -> tensor (a state dict), in the file's order.
        public func tensors(in dict: PickleValue, what: String) throws -> [(String, Tensor)] {
            guard case .dict(let items) = dict else { throw TorchError("\(source): \(what) is not a dictionary of tensors") }
            return try items.map { key, value in
                guard let name = key.string else { throw TorchError("\(source): \(what) has a key that is not a string") }
                return (name, try tensor(value, name: "\(what)[\(name)]"))
            }
        }
    }

    /// The storage classes PyTorch pickles, by element type.
    static let dtypes: [String: DType] = [
        "torch.FloatStorage": .float32, "torch.DoubleStorage": .float64, "torch.HalfStorage": .float16,
        "torch.BFloat16Storage": .bfloat16, "torch.LongStorage": .int64, "torch.IntStorage": .int32,
        "torch.ByteStorage": .uint8, "torch.BoolStorage": .bool,
    ]

    /// Row-major strides of `shape`, in elements.
    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        for axis in stride(from: shape.count - 2, through: 0, by: -1) { strides[axis] = strides[axis + 1] * shape[axis + 1] }
        return strides
    }

    /// True when the file starts like a zip archive (what `torch.save` writes).
    public static func isArchive(_ url: URL) -> Bool {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 4)) == Data([0x50, 0x4B, 0x03, 0x04])
    }

    public static func read(_ url: URL) throws -> Archive {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TorchError("cannot read \(url.path): \(error.localizedDescription)")
        }
        return try decode(data, source: url.path)
    }

    /// The archive in `data`; `source` names it in errors.
    public static func decode(_ data: Data, source: String) throws -> Archive {
        let reader = try ZipArchive.Reader(data, source: source)
        guard let pickleName = reader.names.first(where: { $0 == "data.pkl" || $0.hasSuffix("/data.pkl") }) else {
            throw TorchError("\(source): a zip archive without data.pkl, so not a file written by torch.save")
        }
        let prefix = String(pickleName.dropLast("data.pkl".count))
        if let order = reader.entry(prefix + "byteorder"), String(decoding: order, as: UTF8.self) != "little" {
            throw TorchError("\(source) was saved on a big-endian machine; load and save it again on a little-endian one")
        }
        let root = try Pickle.read(reader.entry(pickleName)!, source: source + " (" + pickleName + ")")
        return Archive(root: root, source: source, reader: reader, prefix: prefix)
    }

    /// Builds a file: `tensor(_:)` turns each tensor into the value to place in the object (and
    /// keeps its bytes as a storage), `write(_:to:)` writes the object and the storages.
    public final class Writer {
        private var storages: [Data] = []

        public init() {}

        /// The pickled form of `tensor` (a contiguous copy with its own storage).
        public func tensor(_ tensor: Tensor) throws -> PickleValue {
            guard let storageType = TorchSave.dtypes.first(where: { $0.value == tensor.dtype })?.key else {
                throw TorchError("torch.save: tensors of type \(tensor.dtype) cannot be written")
            }
            let key = String(storages.count)
            storages.append(Data(try tensor.bytes()))
            let shape = tensor.shape, strides = TorchSave.contiguousStrides(shape)
            let storage = PickleValue.persistent(.tuple([.string("storage"), .global(storageType), .string(key), .string("cpu"),
                                                         .int(tensor.count)]))
            return .call(function: "torch._utils._rebuild_tensor_v2",
                         arguments: [storage, .int(0), .tuple(shape.map { .int($0) }), .tuple(strides.map { .int($0) }),
                                     .bool(false), Pickle.orderedDict([])], state: nil)
        }

        /// Writes atomically; `name` is the archive's top folder (PyTorch uses the file's stem).
        public func write(_ root: PickleValue, to url: URL, name: String = "archive") throws {
            var entries: [(name: String, data: Data)] = [("\(name)/data.pkl", Pickle.write(root)), ("\(name)/byteorder", Data("little".utf8))]
            for (key, storage) in storages.enumerated() { entries.append(("\(name)/data/\(key)", storage)) }
            entries.append(("\(name)/version", Data("3\n".utf8)))
            try AtomicFile.write(ZipArchive.write(entries), to: url)
        }
    }
}
