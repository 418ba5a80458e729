import Foundation

/// The safetensors format (what PyTorch's `safetensors` package reads and writes): an 8-byte
/// little-endian header length, a JSON header mapping each name to dtype, shape and byte offsets,
/// then the raw little-endian tensor data.
///
/// Files written here carry the CRC-32C of their data section in the metadata (`crc32c`), and
/// reading checks it, so a damaged file is refused rather than loaded as wrong numbers; files from
/// other writers (no checksum) are read as they are. Every size, shape and offset in a header is
/// checked against the file's size, overflow-safe, before anything is allocated.
public enum SafeTensors {
    /// The metadata key of the data section's checksum.
    public static let checksumKey = "crc32c"
    /// A loaded file: tensors by name, in file order, plus the free-form string metadata.
    public struct File {
        public var tensors: [String: Tensor]
        public var order: [String]
        public var metadata: [String: String]
    }

    public static func encode(_ tensors: [(String, Tensor)], metadata: [String: String] = [:]) throws -> Data {
        var header: [String: Any] = [:]
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
        var crc: UInt32 = 0
        for blob in blobs { crc = blob.withUnsafeBytes { CRC32C.checksum($0, continuing: crc) } }
        var fullMetadata = metadata
        fullMetadata[checksumKey] = String(format: "%08x", crc)
        header["__metadata__"] = fullMetadata
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
        let length = headerLength(data.prefix(8))
        guard length <= UInt64(data.count - 8), length <= 100_000_000 else {
            throw fail("header length \(length) exceeds the file size \(data.count)")
        }
        let base = 8 + Int(length), dataSize = data.count - base
        let headerData = data.subdata(in: data.startIndex + 8..<data.startIndex + base)
        guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
            throw fail("header is not a JSON object")
        }
        var metadata: [String: String] = [:]
        if let value = header["__metadata__"] {
            guard let strings = value as? [String: String] else { throw fail("__metadata__ is not a map of strings") }
            metadata = strings
        }
        var entries: [(name: String, dtype: DType, shape: [Int], start: Int, end: Int)] = []
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any], let typeName = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2
            else { throw fail("entry \(name) is malformed") }
            guard let dtype = DType(safetensorsName: typeName) else { throw fail("entry \(name) has unsupported dtype \(typeName)") }
            guard shape.count <= 16, shape.allSatisfy({ $0 >= 0 }) else { throw fail("entry \(name) has an invalid shape \(shape)") }
            guard offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataSize else {
                throw fail("entry \(name) points outside the file (truncated?)")
            }
            // The element count cannot exceed the bytes present, which also bounds every product below.
            var count = 1
            for size in shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: size)
                guard !overflow, product <= dataSize else { throw fail("entry \(name): shape \(shape) is larger than the file") }
                count = product
            }
            guard offsets[1] - offsets[0] == count * dtype.byteSize else {
                throw fail("entry \(name): \(offsets[1] - offsets[0]) bytes for shape \(shape) of \(dtype)")
            }
            entries.append((name, dtype, shape, base + offsets[0], base + offsets[1]))
        }
        if let expected = metadata[checksumKey] {
            let actual = data.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[base...])) }
            guard expected == String(format: "%08x", actual) else {
                throw fail("its data does not match its checksum: the file is damaged")
            }
        }
        var tensors: [String: Tensor] = [:]
        for entry in entries {
            tensors[entry.name] = try data.withUnsafeBytes { raw in
                try Tensor(bytes: UnsafeRawBufferPointer(rebasing: raw[entry.start..<entry.end]), dtype: entry.dtype, shape: entry.shape)
            }
        }
        return File(tensors: tensors, order: entries.sorted { $0.start < $1.start }.map(\.name), metadata: metadata)
    }

    /// Writes atomically (temporary file + rename).
    public static func write(_ tensors: [(String, Tensor)], metadata: [String: String] = [:], to url: URL) throws {
        try AtomicFile.write(try encode(tensors, metadata: metadata), to: url)
    }

    /// The header's byte count: the file's first 8 bytes, little-endian.
    private static func headerLength(_ prefix: Data) -> UInt64 {
        prefix.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << UInt64(8 * $1.offset) }
    }

    /// The metadata of a file, reading only its header (no checksum check).
    public static func readMetadata(_ url: URL) throws -> [String: String] {
        guard let handle = FileHandle(forReadingAtPath: url.path) else { throw TorchError("\(url.path): cannot read; check the path") }
        defer { try? handle.close() }
        let prefix = try handle.read(upToCount: 8) ?? Data()
        guard prefix.count == 8 else { throw TorchError("\(url.path): not a safetensors file") }
        let length = headerLength(prefix)
        guard length <= 100_000_000, let header = try handle.read(upToCount: Int(length)), header.count == Int(length),
              let json = (try? JSONSerialization.jsonObject(with: header)) as? [String: Any] else {
            throw TorchError("\(url.path): not a readable safetensors header")
        }
        return json["__metadata__"] as? [String: String] ?? [:]
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
        // No model has NaN or infinite weights: such a file is damaged or its run diverged.
        for name in file.order where file.tensors[name]!.dtype.isFloatingPoint {
            guard try file.tensors[name]!.allFinite() else {
                throw TorchError("\(url.path): \(name) holds NaN or infinite values (a damaged file, or a run that diverged); use another checkpoint")
            }
        }
    }
}
