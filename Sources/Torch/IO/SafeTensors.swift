import Foundation

/// The safetensors format (what PyTorch's `safetensors` package reads and writes): an 8-byte
/// little-endian header length, a JSON header mapping each name to dtype, shape and byte offsets,
/// then the raw little-endian tensor data.
public enum SafeTensors {
    /// A loaded file: tensors by name, in file order, plus the free-form string metadata.
    public struct File {
        public var tensors: [String: Tensor]
        public var order: [String]
        public var metadata: [String: String]
    }

    public static func encode(_ tensors: [(String, Tensor)], metadata: [String: String] = [:]) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var blobs: [[UInt8]] = []
        var offset = 0
        var seen = Set<String>()
        for (name, tensor) in tensors {
            guard seen.insert(name).inserted else { throw TorchError("safetensors: duplicate tensor name \(name)") }
            let bytes = try tensor.bytes()
            let end: Int = offset + bytes.count
            let entry: [String: Any] = ["dtype": tensor.dtype.safetensorsName, "shape": tensor.shape,
                                        "data_offsets": [offset, end]]
            header[name] = entry
            offset = end
            blobs.append(bytes)
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
        while (json.count % 8) != 0 { json.append(0x20) }
        var data = Data()
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(json)
        for blob in blobs { data.append(contentsOf: blob) }
        return data
    }

    public static func decode(_ data: Data, source: String = "<memory>") throws -> File {
        func fail(_ why: String) -> TorchError {
            TorchError("\(source): not a readable safetensors file (\(why)); re-create it or point to the right file")
        }
        guard data.count >= 8 else { throw fail("only \(data.count) bytes") }
        var length: UInt64 = 0
        for (index, byte) in data.prefix(8).enumerated() {
            length |= UInt64(byte) << UInt64(8 * index)
        }
        guard length <= UInt64(data.count - 8) else { throw fail("header length \(length) exceeds the file size \(data.count)") }
        let headerData = data.subdata(in: 8..<(8 + Int(length)))
        guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
            throw fail("header is not a JSON object")
        }
        let base = 8 + Int(length)
        var tensors: [String: Tensor] = [:]
        var entries: [(String, Int)] = []
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                metadata = (value as? [String: String]) ?? [:]
                continue
            }
            guard let info = value as? [String: Any], let typeName = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2
            else { throw fail("entry \(name) is malformed") }
            guard let dtype = DType(safetensorsName: typeName) else { throw fail("entry \(name) has unsupported dtype \(typeName)") }
            let start = base + offsets[0], end = base + offsets[1]
            guard offsets[0] >= 0, start <= end, end <= data.count else {
                throw fail("entry \(name) points outside the file (truncated?)")
            }
            guard end - start == shape.reduce(1, *) * dtype.byteSize else {
                throw fail("entry \(name): \(end - start) bytes for shape \(shape) of \(dtype)")
            }
            tensors[name] = try data.withUnsafeBytes { raw in
                try Tensor(bytes: UnsafeRawBufferPointer(rebasing: raw[start..<end]), dtype: dtype, shape: shape)
            }
            entries.append((name, offsets[0]))
        }
        return File(tensors: tensors, order: entries.sorted { $0.1 < $1.1 }.map(\.0), metadata: metadata)
    }

    /// Writes atomically (temporary file + rename).
    public static func write(_ tensors: [(String, Tensor)], metadata: [String: String] = [:], to url: URL) throws {
        try AtomicFile.write(try encode(tensors, metadata: metadata), to: url)
    }

    public static func read(_ url: URL) throws -> File {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw TorchError("\(url.path): cannot read (\(error.localizedDescription)); check the path")
        }
        return try decode(data, source: url.path)
    }
}

extension Module {
    /// Saves the state dict (parameters and buffers, dotted names) as safetensors, atomically.
    public func save(to url: URL, metadata: [String: String] = [:]) throws {
        try SafeTensors.write(stateDict(), metadata: metadata, to: url)
    }

    /// Loads weights saved by `save` or by PyTorch (`safetensors.torch.save_file(model.state_dict())`).
    public func load(from url: URL, strict: Bool = true) throws {
        let file = try SafeTensors.read(url)
        do {
            try load(stateDict: file.tensors, strict: strict)
        } catch let error as TorchError {
            throw TorchError("\(url.path): \(error.message)")
        }
    }
}
