import Foundation

/// Options of an animated GIF.
public struct GIFOptions: Sendable, Equatable {
    /// Time each frame is shown, in hundredths of a second (GIF's unit). 5 = 20 frames/s.
    public var delayCentiseconds: Int
    /// Nearest-neighbour enlargement by this integer factor: 64x32 frames are tiny on screen.
    public var scale: Int
    /// Loop forever (NETSCAPE2.0 extension) or play once.
    public var loopForever: Bool

    public init(delayCentiseconds: Int = 5, scale: Int = 1, loopForever: Bool = true) {
        self.delayCentiseconds = delayCentiseconds
        self.scale = scale
        self.loopForever = loopForever
    }
}

/// Animated GIF encoder (GIF89a), pure Swift: a palette of up to 256 colours per frame (see
/// `ColourQuantizer`), LZW-compressed, frames quantised in parallel.
public enum GIF {
    /// Encodes `frames` (all the same size) as an animated GIF.
    public static func encode(_ frames: [RGBImage], options: GIFOptions = GIFOptions()) throws -> Data {
        guard let first = frames.first else {
            throw DataError.invalid("GIF", "no frames to encode", fix: "pass at least one frame")
        }
        if let odd = frames.firstIndex(where: { $0.width != first.width || $0.height != first.height }) {
            throw DataError.invalid("GIF", "frame \(odd) is \(frames[odd].width)x\(frames[odd].height) but frame 0 is \(first.width)x\(first.height)",
                                    fix: "resize all frames to one size before encoding")
        }
        guard options.scale >= 1, options.scale <= 64 else {
            throw DataError.invalid("GIF", "scale \(options.scale) is out of range", fix: "use an integer scale from 1 to 64")
        }
        guard (0...65535).contains(options.delayCentiseconds) else {
            throw DataError.invalid("GIF", "delay \(options.delayCentiseconds) cs is out of range", fix: "use 0...65535 hundredths of a second")
        }
        let width = first.width * options.scale, height = first.height * options.scale
        guard width <= 65535, height <= 65535 else {
            throw DataError.invalid("GIF", "\(width)x\(height) is larger than GIF allows (65535)", fix: "use a smaller scale")
        }

        // Each frame (quantise, enlarge, compress) is independent: do them on all cores.
        let encodedFrames = Parallel.map(frames.count) { i in
            encodeFrame(frames[i], scale: options.scale, delay: options.delayCentiseconds)
        }

        var out = Data()
        out.append(contentsOf: Array("GIF89a".utf8))
        out.appendLittleEndian16(width)
        out.appendLittleEndian16(height)
        out.append(contentsOf: [0x70, 0, 0])  // no global colour table (each frame has its own), 8-bit colour resolution
        if options.loopForever {
            out.append(contentsOf: [0x21, 0xFF, 0x0B])
            out.append(contentsOf: Array("NETSCAPE2.0".utf8))
            out.append(contentsOf: [0x03, 0x01, 0x00, 0x00, 0x00])  // loop count 0 = forever
        }
        for frame in encodedFrames { out.append(frame) }
        out.append(0x3B)
        return out
    }

    /// Encodes and writes atomically (temporary file + rename).
    public static func write(_ frames: [RGBImage], to url: URL, options: GIFOptions = GIFOptions()) throws {
        try FileSystem.writeAtomically(encode(frames, options: options), to: url)
    }

    /// Graphic control extension + image descriptor + local colour table + LZW data of one frame.
    private static func encodeFrame(_ image: RGBImage, scale: Int, delay: Int) -> Data {
        let quantized = ColourQuantizer().quantize(rgb: image.rgb8(), pixelCount: image.planeSize)
        var indices = quantized.indices
        let width = image.width * scale, height = image.height * scale
        if scale > 1 {
            indices = [UInt8](repeating: 0, count: width * height)
            for y in 0..<height {
                for x in 0..<width { indices[y * width + x] = quantized.indices[(y / scale) * image.width + x / scale] }
            }
        }
        // The colour table holds 2^bits entries; LZW codes start one bit wider (at least 2 bits).
        var bits = 1
        while (1 << bits) < quantized.palette.count { bits += 1 }
        var out = Data()
        out.append(contentsOf: [0x21, 0xF9, 0x04, 0x04])  // graphic control: disposal 1 (keep), no transparency
        out.appendLittleEndian16(delay)
        out.append(contentsOf: [0x00, 0x00])
        out.append(0x2C)                                  // image descriptor at (0, 0), full size
        out.appendLittleEndian16(0)
        out.appendLittleEndian16(0)
        out.appendLittleEndian16(width)
        out.appendLittleEndian16(height)
        out.append(UInt8(0x80 | (bits - 1)))              // local colour table of 2^bits entries
        for i in 0..<(1 << bits) {
            let colour = i < quantized.palette.count ? quantized.palette[i] : SIMD3<UInt8>(0, 0, 0)
            out.append(contentsOf: [colour.x, colour.y, colour.z])
        }
        let minimumCodeSize = max(2, bits)
        out.append(UInt8(minimumCodeSize))
        let compressed = LZWEncoder(minimumCodeSize: minimumCodeSize).encode(indices)
        // Data sub-blocks of at most 255 bytes, then a zero-length block.
        var offset = 0
        while offset < compressed.count {
            let length = min(255, compressed.count - offset)
            out.append(UInt8(length))
            out.append(contentsOf: compressed[offset..<(offset + length)])
            offset += length
        }
        out.append(0)
        return out
    }
}

/// GIF's variant of LZW: variable code width from minimumCodeSize + 1 up to 12 bits, codes packed
/// least-significant bit first, a clear code when the 4096-entry table is full.
struct LZWEncoder {
    let minimumCodeSize: Int

    func encode(_ indices: [UInt8]) -> [UInt8] {
        let clearCode = 1 << minimumCodeSize
        let endCode = clearCode + 1
        var writer = BitWriter()
        var table = CodeTable()
        var codeSize = minimumCodeSize + 1
        var nextCode = clearCode + 2
        writer.write(clearCode, bits: codeSize)
        guard var prefix = indices.first.map(Int.init) else {
            writer.write(endCode, bits: codeSize)
            return writer.finish()
        }
        for index in indices.dropFirst() {
            let symbol = Int(index)
            if let code = table.lookup(prefix: prefix, symbol: symbol) {
                prefix = code
                continue
            }
            writer.write(prefix, bits: codeSize)
            if nextCode < 4096 {
                table.insert(prefix: prefix, symbol: symbol, code: nextCode)
                // The decoder lags one entry behind; it widens its codes after adding entry
                // 2^size - 1, which is exactly when we have just added entry 2^size.
                if nextCode == (1 << codeSize) && codeSize < 12 { codeSize += 1 }
                nextCode += 1
            } else {
                writer.write(clearCode, bits: codeSize)
                table.removeAll()
                codeSize = minimumCodeSize + 1
                nextCode = clearCode + 2
            }
            prefix = symbol
        }
        writer.write(prefix, bits: codeSize)
        writer.write(endCode, bits: codeSize)
        return writer.finish()
    }
}

/// (prefix code, next symbol) -> code, open addressing; at most 4096 entries live at once, so a
/// fixed 8192-slot table that is wiped on each clear code is small and fast.
private struct CodeTable {
    private static let slots = 8192
    private var keys = [Int32](repeating: -1, count: CodeTable.slots)
    private var codes = [UInt16](repeating: 0, count: CodeTable.slots)

    @inline(__always)
    private func slot(for key: Int) -> Int {
        (key &* 2_654_435_761) >> 7 & (CodeTable.slots - 1)
    }

    func lookup(prefix: Int, symbol: Int) -> Int? {
        let key = prefix << 8 | symbol
        var i = slot(for: key)
        while keys[i] != -1 {
            if keys[i] == Int32(key) { return Int(codes[i]) }
            i = (i + 1) & (CodeTable.slots - 1)
        }
        return nil
    }

    mutating func insert(prefix: Int, symbol: Int, code: Int) {
        let key = prefix << 8 | symbol
        var i = slot(for: key)
        while keys[i] != -1 { i = (i + 1) & (CodeTable.slots - 1) }
        keys[i] = Int32(key)
        codes[i] = UInt16(code)
    }

    mutating func removeAll() {
        for i in 0..<CodeTable.slots { keys[i] = -1 }
    }
}

/// Packs codes least-significant bit first into bytes.
private struct BitWriter {
    private var bytes: [UInt8] = []
    private var buffer: UInt32 = 0
    private var count = 0

    mutating func write(_ code: Int, bits: Int) {
        buffer |= UInt32(code) << UInt32(count)
        count += bits
        while count >= 8 {
            bytes.append(UInt8(buffer & 0xFF))
            buffer >>= 8
            count -= 8
        }
    }

    mutating func finish() -> [UInt8] {
        if count > 0 { bytes.append(UInt8(buffer & 0xFF)) }
        buffer = 0
        count = 0
        return bytes
    }
}

extension Data {
    mutating func appendLittleEndian16(_ value: Int) {
        append(UInt8(value & 0xFF))
        append(UInt8((value >> 8) & 0xFF))
    }
}
