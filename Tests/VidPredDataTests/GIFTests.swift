import Foundation
import Testing
@testable import VidPredData

/// A minimal GIF reader for the tests (local colour tables, no interlace): checks our LZW encoder
/// independently of external tools.
private struct TestGIFReader {
    struct Frame { var width: Int; var height: Int; var delay: Int; var rgb: [UInt8] }
    var width = 0, height = 0, loops = false
    var frames: [Frame] = []

    init(_ data: Data) throws {
        let b = [UInt8](data)
        guard b.count > 13, String(decoding: b[0..<6], as: UTF8.self) == "GIF89a" else { throw CocoaError(.fileReadCorruptFile) }
        func u16(_ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 }
        width = u16(6); height = u16(8)
        var i = 13 + ((b[10] & 0x80) != 0 ? 3 << (Int(b[10] & 7) + 1) : 0)
        var delay = 0
        while i < b.count {
            switch b[i] {
            case 0x21:
                if b[i + 1] == 0xF9 { delay = u16(i + 4) }
                if b[i + 1] == 0xFF, String(decoding: b[(i + 3)..<(i + 14)], as: UTF8.self) == "NETSCAPE2.0" { loops = true }
                i += 2
                while b[i] != 0 { i += Int(b[i]) + 1 }
                i += 1
            case 0x2C:
                let w = u16(i + 5), h = u16(i + 7), flags = b[i + 9]
                i += 10
                var palette: [UInt8] = []
                if flags & 0x80 != 0 {
                    let n = 3 << (Int(flags & 7) + 1)
                    palette = Array(b[i..<(i + n)]); i += n
                }
                let minCode = Int(b[i]); i += 1
                var bytes: [UInt8] = []
                while b[i] != 0 { bytes += b[(i + 1)...(i + Int(b[i]))]; i += Int(b[i]) + 1 }
                i += 1
                let indices = TestGIFReader.lzwDecode(bytes, minCode: minCode, count: w * h)
                frames.append(Frame(width: w, height: h, delay: delay,
                                    rgb: indices.flatMap { palette[(3 * Int($0))..<(3 * Int($0) + 3)] }))
            case 0x3B: return
            default: throw CocoaError(.fileReadCorruptFile)
            }
        }
    }

    static func lzwDecode(_ data: [UInt8], minCode: Int, count: Int) -> [UInt8] {
        let clear = 1 << minCode, end = clear + 1
        var table: [[UInt8]] = (0..<clear).map { [UInt8($0)] } + [[], []]
        var size = minCode + 1, bitPos = 0, previous: [UInt8]? = nil
        var out: [UInt8] = []
        while bitPos + size <= data.count * 8 {
            var code = 0
            for k in 0..<size where data[(bitPos + k) / 8] & (1 << ((bitPos + k) % 8)) != 0 { code |= 1 << k }
            bitPos += size
            if code == clear { table = Array(table[0..<(clear + 2)]); size = minCode + 1; previous = nil; continue }
            if code == end { break }
            var entry: [UInt8]
            if code < table.count { entry = table[code] } else if let p = previous { entry = p + [p[0]] } else { break }
            out += entry
            if let p = previous, table.count < 4096 {
                table.append(p + [entry[0]])
                if table.count == (1 << size) && size < 12 { size += 1 }
            }
            previous = entry
        }
        return Array(out.prefix(count))
    }
}

@Suite("GIF and contact sheets")
struct GIFTests {
    /// Frames with few colours (quantisation is lossless) but long runs and many LZW codes.
    static func fewColourFrames(count: Int, width: Int, height: Int) -> [RGBImage] {
        (0..<count).map { t in
            var image = RGBImage(width: width, height: height)
            for y in 0..<height {
                for x in 0..<width {
                    let v = ((x + t) / 3 + y * 7 + (x * y) % 5) % 200
                    image.setPixel(x: x, y: y, SIMD3(Float(v % 7) / 6, Float(v % 11) / 10, Float(v % 3) / 2))
                }
            }
            return image
        }
    }

    @Test("few-colour frames decode back exactly (LZW round trip, incl. table resets), size and delay right")
    func losslessRoundTrip() throws {
        let frames = Self.fewColourFrames(count: 3, width: 97, height: 61) // 5917 px: enough codes to fill the table
        let data = try GIF.encode(frames, options: GIFOptions(delayCentiseconds: 7))
        let gif = try TestGIFReader(data)
        #expect(gif.width == 97 && gif.height == 61 && gif.loops)
        #expect(gif.frames.count == 3)
        for (frame, original) in zip(gif.frames, frames) {
            #expect(frame.delay == 7)
            #expect(frame.rgb == original.rgb8())
        }
    }

    @Test("LZW handles noise (table full, clear codes) and tiny palettes")
    func lzwEdgeCases() {
        var state: UInt64 = 12345
        let noise: [UInt8] = (0..<20000).map { _ in state = state &* 6364136223846793005 &+ 1442695040888963407; return UInt8(state >> 56) }
        for (data, minCode) in [(noise, 8), (noise.map { $0 & 3 }, 2), ([UInt8](repeating: 1, count: 5000), 2), ([0], 2)] {
            let encoded = LZWEncoder(minimumCodeSize: minCode).encode(data)
            #expect(TestGIFReader.lzwDecode(encoded, minCode: minCode, count: data.count) == data)
        }
    }

    @Test("many-colour frames are quantised faithfully (PSNR > 35 dB on a real-looking frame)")
    func quantisationQuality() throws {
        let frame = try PNG.read(TestSupport.fixture("resize_pil_100x50.png"))
        let smooth = TestSupport.patternImage(width: 64, height: 32).resized(width: 64, height: 32)
        for image in [frame, smooth] {
            let gif = try TestGIFReader(GIF.encode([image]))
            let decoded = try #require(gif.frames.first).rgb
            let original = image.rgb8()
            var squaredError = 0.0
            for (a, b) in zip(decoded, original) {
                let d = Double(a) - Double(b)
                squaredError += d * d
            }
            let mse = squaredError / Double(original.count)
            let psnr: Double = mse == 0 ? 99 : 10 * log10(255 * 255 / mse)
            print("GIF quantisation PSNR \(psnr) dB"); #expect(psnr > 35, "PSNR \(psnr) dB")
        }
    }

    @Test("upscaling repeats pixels; ffprobe (or PIL) reads frame count and size")
    func externalDecoderAgrees() throws {
        let folder = try TestSupport.scratchFolder()
        defer { TestSupport.cleanUp(folder) }
        let frames = (0..<12).map { TestSupport.patternImage(width: 64, height: 32, seed: $0) }
        let url = folder.appendingPathComponent("prediction.gif")
        try GIF.write(frames, to: url, options: GIFOptions(delayCentiseconds: 4, scale: 3))
        let ours = try TestGIFReader(Data(contentsOf: url))
        #expect(ours.frames.count == 12 && ours.width == 192 && ours.height == 96)

        if let ffprobe = TestSupport.executable("ffprobe") {
            let result = try TestSupport.run(ffprobe, ["-v", "error", "-count_frames", "-select_streams", "v:0",
                                                       "-show_entries", "stream=width,height,nb_read_frames", "-of", "csv=p=0", url.path])
            #expect(result.status == 0, "ffprobe failed: \(result.error)")
            #expect(result.output.trimmingCharacters(in: .whitespacesAndNewlines) == "192,96,12")
        } else if let python = TestSupport.repositoryRoot?.appendingPathComponent(".deps/pyenv/bin/python"),
                  FileManager.default.isExecutableFile(atPath: python.path) {
            let script = "from PIL import Image; im = Image.open('\(url.path)'); print(im.size[0], im.size[1], im.n_frames)"
            let result = try TestSupport.run(python, ["-c", script])
            #expect(result.output.trimmingCharacters(in: .whitespacesAndNewlines) == "192 96 12", "\(result.error)")
        } else {
            // A check that cannot run must not pass: scripts/setup.sh installs both readers.
            Issue.record("cannot run the external GIF check: neither ffprobe nor .deps/pyenv/bin/python (Pillow) is installed (run scripts/setup.sh)")
        }
    }

    @Test("frames of different sizes are refused")
    func mixedSizes() {
        let error = expectDataError(.invalidArgument) {
            _ = try GIF.encode([RGBImage(width: 4, height: 4), RGBImage(width: 5, height: 4)])
        }
        #expect(error?.text.contains("frame 1 is 5x4") == true)
    }

    @Test("contact sheet lays frames out in a grid with spacing and scale")
    func contactSheet() throws {
        let a = RGBImage(width: 4, height: 2, fill: SIMD3(1, 0, 0))
        let b = RGBImage(width: 4, height: 2, fill: SIMD3(0, 0, 1))
        let sheet = try ContactSheet.make(rows: [[a, b, a], [b]], spacing: 1, scale: 2)
        #expect(sheet.width == 3 * 8 + 4 && sheet.height == 2 * 4 + 3)
        #expect(sheet.pixel(x: 0, y: 0) == SIMD3(1, 1, 1))             // spacing
        #expect(sheet.pixel(x: 1, y: 1) == SIMD3(1, 0, 0))             // row 0, column 0
        #expect(sheet.pixel(x: 10, y: 4) == SIMD3(0, 0, 1))            // row 0, column 1
        #expect(sheet.pixel(x: 1, y: 6) == SIMD3(0, 0, 1))             // row 1, column 0
        #expect(sheet.pixel(x: 10, y: 6) == SIMD3(1, 1, 1))            // row 1 has one frame only
        let folder = try TestSupport.scratchFolder()
        defer { TestSupport.cleanUp(folder) }
        try ContactSheet.write(rows: [[a, b]], to: folder.appendingPathComponent("sheet.png"))
        #expect(try PNG.read(folder.appendingPathComponent("sheet.png")).width == 2 * 4 + 3 * 2)
    }
}
