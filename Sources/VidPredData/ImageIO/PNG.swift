import CPNG
import Foundation

/// PNG decoding and encoding through libpng's simplified API (`png_image_*`).
///
/// The simplified API handles errors internally (it catches libpng's longjmp itself and reports a
/// message), which is the only safe way to call libpng from Swift: a longjmp across Swift frames
/// is undefined behaviour.
///
/// Reading accepts every PNG colour type (grey, grey+alpha, RGB, RGBA, palette with or without
/// tRNS, 1...16 bits). Alpha is dropped, not composited: a transparent pixel keeps its colour,
/// like PIL's `convert("RGB")`. 16-bit files keep their precision (samples / 65535) unless they
/// carry colour-space chunks that would make libpng convert them (then they are read as 8-bit).
public enum PNG {
    /// Reads a PNG file into [0, 1] floats.
    public static func read(_ url: URL) throws -> RGBImage {
        try decodeRaw(readFile(url), name: url.path).toRGBImage()
    }

    /// Reads a PNG and resizes it to `width` x `height` when its size differs, exactly like the
    /// lab's loader (PIL bilinear with antialiasing on the 8-bit data, then / 255).
    public static func read(_ url: URL, width: Int, height: Int) throws -> RGBImage {
        try decodeRaw(readFile(url), name: url.path).toRGBImage(width: width, height: height)
    }

    /// Decodes PNG bytes; `name` is used in error messages.
    public static func decode(_ data: Data, name: String) throws -> RGBImage {
        try decodeRaw(data, name: name).toRGBImage()
    }

    /// Encodes 8-bit RGB (or 8-bit grey, from the red channel: use it for images whose channels
    /// are equal). Samples are rounded rint(x * 255) and clipped.
    public static func encode(_ image: RGBImage, grey: Bool = false) throws -> Data {
        var samples: [UInt8]
        if grey {
            samples = (0..<image.planeSize).map { RGBImage.quantize(image.pixels[$0]) }
        } else {
            samples = image.rgb8()
        }
        return try encode8(&samples, width: image.width, height: image.height, grey: grey)
    }

    /// Writes an 8-bit PNG atomically (temporary file + rename).
    public static func write(_ image: RGBImage, to url: URL, grey: Bool = false) throws {
        let data: Data
        do {
            data = try encode(image, grey: grey)
        } catch let error as DataError {
            throw DataError(error.kind, path: url.path, problem: "\(url.path): \(error.problem)", fix: error.fix)
        }
        try FileSystem.writeAtomically(data, to: url)
    }

    // libpng's PNG_FORMAT_* values are macros built from other macros, which Swift does not import.
    private static let formatGrey = png_uint_32(0)
    private static let formatRGB = png_uint_32(PNG_FORMAT_FLAG_COLOR)
    private static let formatRGBA = png_uint_32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)
    private static let formatLinearRGB = png_uint_32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_LINEAR)

    // MARK: - Decoding

    /// What the file header says, read before libpng so errors can be specific.
    struct Header {
        var width: Int
        var height: Int
        var bitDepth: Int
        var colourType: Int
        var hasTransparency: Bool  // an alpha channel or a tRNS chunk
        var hasColourSpace: Bool   // gAMA, sRGB, iCCP or cHRM: libpng may convert 16-bit data

        var hasAlpha: Bool { colourType == 4 || colourType == 6 || hasTransparency }
    }

    /// Decoded samples before conversion to float: kept as integers so that resizing can follow
    /// PIL's 8-bit arithmetic exactly.
    struct RawImage {
        enum Samples {
            case rgb8([UInt8])    // interleaved R, G, B
            case rgb16([UInt16])  // interleaved R, G, B, full 16-bit precision
        }
        var width: Int
        var height: Int
        var samples: Samples

        func toRGBImage() -> RGBImage {
            switch samples {
            case .rgb8(let bytes):
                return RGBImage(width: width, height: height, rgb8: bytes)
            case .rgb16(let words):
                var image = RGBImage(width: width, height: height)
                let plane = width * height
                for i in 0..<plane {
                    for c in 0..<3 { image.pixels[c * plane + i] = Float(words[3 * i + c]) / 65535 }
                }
                return image
            }
        }

        /// Converts to floats at the requested size, resizing like PIL only when the size differs.
        func toRGBImage(width targetWidth: Int, height targetHeight: Int) -> RGBImage {
            if targetWidth == width && targetHeight == height { return toRGBImage() }
            switch samples {
            case .rgb8(let bytes):
                let resized = Resampler.resizeRGB8(bytes, width: width, height: height,
                                                   toWidth: targetWidth, toHeight: targetHeight)
                return RGBImage(width: targetWidth, height: targetHeight, rgb8: resized)
            case .rgb16:
                return toRGBImage().resized(width: targetWidth, height: targetHeight)
            }
        }
    }

    static func readFile(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            if !FileSystem.exists(url) {
                throw DataError.missing(url, expected: "a PNG file", fix: "check the path")
            }
            throw DataError(.corruptPNG, path: url.path, problem: "\(url.path): cannot read (\(FileSystem.reason(of: error)))",
                            fix: "check the file's permissions")
        }
    }

    private static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Parses the signature, IHDR and the chunk list up to IDAT. Throws `notPNG` for other files.
    static func header(_ data: Data, name: String) throws -> Header {
        let bytes = [UInt8](data.prefix(8))
        guard bytes == signature else {
            throw DataError(.notPNG, path: name,
                            problem: "\(name): not a PNG file (starts with \(describeStart(bytes)))",
                            fix: "remove it or convert it to PNG")
        }
        let corrupt = DataError(.corruptPNG, path: name, problem: "\(name): truncated or corrupt PNG (no valid IHDR chunk)",
                                fix: "re-export or re-extract this frame, or delete it")
        func u32(_ at: Int) -> Int? {
            guard at + 4 <= data.count else { return nil }
            let i = data.startIndex + at
            return Int(data[i]) << 24 | Int(data[i + 1]) << 16 | Int(data[i + 2]) << 8 | Int(data[i + 3])
        }
        guard data.count >= 33, u32(12) == 0x4948_4452, let width = u32(16), let height = u32(20) else { throw corrupt }
        var header = Header(width: width, height: height, bitDepth: Int(data[data.startIndex + 24]),
                            colourType: Int(data[data.startIndex + 25]), hasTransparency: false, hasColourSpace: false)
        // Walk the chunks before the image data: only their names matter here.
        var offset = 33
        while let length = u32(offset), let type = u32(offset + 4) {
            switch type {
            case 0x4944_4154: return header                      // IDAT: image data starts
            case 0x7452_4E53: header.hasTransparency = true      // tRNS
            case 0x6741_4D41, 0x7352_4742, 0x6943_4350, 0x6348_524D: header.hasColourSpace = true  // gAMA sRGB iCCP cHRM
            default: break
            }
            offset += 12 + length
        }
        return header
    }

    private static func describeStart(_ bytes: [UInt8]) -> String {
        if bytes.isEmpty { return "nothing: the file is empty" }
        let start = bytes.prefix(4)
        if start.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            return "'\(String(decoding: start, as: UTF8.self))'"
        }
        return "bytes " + start.map { String(format: "%02X", $0) }.joined(separator: " ")
    }

    static func decodeRaw(_ data: Data, name: String) throws -> RawImage {
        let info = try header(data, name: name)
        // A corrupt or hostile header could ask for an enormous buffer: the size is checked before
        // anything is allocated, without overflow (each side is below 2^32 and 2^26 pixels is
        // 8192x8192), and against what the file can hold: deflate expands at most 1032:1, and a
        // row is at least one filter byte plus a bit per pixel.
        let pixels = info.width.multipliedReportingOverflow(by: info.height)
        guard info.width > 0, info.height > 0, !pixels.overflow, pixels.partialValue <= 1 << 26 else {
            throw DataError(.corruptPNG, path: name, problem: "\(name): implausible PNG size \(info.width)x\(info.height) (at most 8192x8192 pixels are read)",
                            fix: "re-export or re-extract this frame, or delete it")
        }
        guard info.height * (1 + (info.width + 7) / 8) <= 1032 * data.count + 65536 else {
            throw DataError(.corruptPNG, path: name, problem: "\(name): truncated or corrupt PNG (\(data.count) bytes cannot hold a \(info.width)x\(info.height) image)",
                            fix: "re-export or re-extract this frame, or delete it")
        }
        // 16-bit data without colour-space chunks is passed through untouched by libpng's "linear"
        // formats (it assumes 16-bit files are linear), so reading it that way keeps all 16 bits.
        // With alpha, linear output would be premultiplied, and with gAMA/sRGB chunks libpng would
        // convert the gamma: those files are read as 8-bit instead.
        let keep16 = info.bitDepth == 16 && !info.hasAlpha && !info.hasColourSpace
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        return try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) -> RawImage in
            guard let base = buffer.baseAddress else { throw failure(name, "empty file") }
            defer { png_image_free(&image) }
            guard png_image_begin_read_from_memory(&image, base, buffer.count) != 0 else {
                throw failure(name, message(of: &image))
            }
            let width = Int(image.width), height = Int(image.height)
            if keep16 {
                image.format = formatLinearRGB
                var words = [UInt16](repeating: 0, count: 3 * width * height)
                let ok = words.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
                guard ok != 0 else { throw failure(name, message(of: &image)) }
                return RawImage(width: width, height: height, samples: .rgb16(words))
            }
            // 16-bit files read as 8-bit: treat their samples as sRGB like 8-bit ones, so libpng
            // only scales them (no gamma conversion).
            image.flags |= png_uint_32(PNG_IMAGE_FLAG_16BIT_sRGB)
            // With alpha, ask for RGBA and drop A ourselves: asking for RGB would composite.
            let channels = info.hasAlpha ? 4 : 3
            image.format = info.hasAlpha ? formatRGBA : formatRGB
            var bytes = [UInt8](repeating: 0, count: channels * width * height)
            let ok = bytes.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
            guard ok != 0 else { throw failure(name, message(of: &image)) }
            if channels == 4 {
                var rgb = [UInt8](repeating: 0, count: 3 * width * height)
                for i in 0..<(width * height) {
                    rgb[3 * i] = bytes[4 * i]; rgb[3 * i + 1] = bytes[4 * i + 1]; rgb[3 * i + 2] = bytes[4 * i + 2]
                }
                bytes = rgb
            }
            return RawImage(width: width, height: height, samples: .rgb8(bytes))
        }
    }

    private static func failure(_ name: String, _ libpngMessage: String) -> DataError {
        DataError(.corruptPNG, path: name, problem: "\(name): truncated or corrupt PNG (libpng: \(libpngMessage))",
                  fix: "re-export or re-extract this frame, or delete it")
    }

    /// libpng's error text, stored in a fixed char[64] inside png_image.
    private static func message(of image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            let chars = raw.prefix { $0 != 0 }
            let text = String(decoding: chars, as: UTF8.self)
            return text.isEmpty ? "unknown error" : text
        }
    }

    // MARK: - Encoding

    static func encode8(_ samples: inout [UInt8], width: Int, height: Int, grey: Bool) throws -> Data {
        // Room for the worst case (incompressible data: deflate's stored blocks, filter bytes and
        // chunk headers) so one call normally suffices; libpng reports the size it needs otherwise.
        let raw = (grey ? 1 : 3) * width * height + height
        var capacity = raw + raw / 64 + 4096
        for _ in 0..<2 {
            var image = png_image()
            image.version = png_uint_32(PNG_IMAGE_VERSION)
            image.width = png_uint_32(width)
            image.height = png_uint_32(height)
            image.format = grey ? formatGrey : formatRGB
            defer { png_image_free(&image) }
            var output = Data(count: capacity)
            var size = capacity
            let ok = output.withUnsafeMutableBytes { out in
                samples.withUnsafeBytes { src in
                    png_image_write_to_memory(&image, out.baseAddress, &size, 0, src.baseAddress, 0, nil)
                }
            }
            if ok != 0 {
                output.count = size
                return output
            }
            if size <= capacity {
                throw DataError(.notWritable, path: "PNG encoder", problem: "PNG encoding failed (libpng: \(message(of: &image)))",
                                fix: "report this as a bug")
            }
            capacity = size
        }
        throw DataError(.notWritable, path: "PNG encoder", problem: "PNG encoding failed (output size)", fix: "report this as a bug")
    }
}

/// Writes an 8-bit RGB PNG atomically (temporary file + rename). See `PNG.write`.
public func writePNG(_ image: RGBImage, to url: URL) throws {
    try PNG.write(image, to: url)
}

/// Reads a PNG file into [0, 1] floats. See `PNG.read`.
public func readPNG(_ url: URL) throws -> RGBImage {
    try PNG.read(url)
}
