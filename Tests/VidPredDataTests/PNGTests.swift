import Foundation
import Testing
@testable import VidPredData

/// The fixture formulas of reference/make_data_fixtures.py (keep in sync).
private enum Formula {
    static let width = 7, height = 5
    static func rgb8(_ x: Int, _ y: Int, _ c: Int) -> Int { (x * 37 + y * 91 + c * 53 + 11) % 256 }
    static func grey8(_ x: Int, _ y: Int) -> Int { (x * 37 + y * 91 + 11) % 256 }
    static func rgb16(_ x: Int, _ y: Int, _ c: Int) -> Int { (x * 9001 + y * 4099 + c * 12345 + 7) % 65536 }
    static func grey16(_ x: Int, _ y: Int) -> Int { (x * 9001 + y * 4099 + 7) % 65536 }
    static func grey4(_ x: Int, _ y: Int) -> Int { (x + y * 3) % 16 }
    static func paletteColour(_ i: Int) -> [Int] { [(i * 71 + 5) % 256, (i * 113 + 77) % 256, (i * 29 + 200) % 256] }
    static func paletteIndex(_ x: Int, _ y: Int) -> Int { (x * 5 + y * 3) % 23 }

    /// Expected 8-bit RGB of each 8-bit-or-less fixture.
    static func expected8(_ fixture: String, _ x: Int, _ y: Int, _ c: Int) -> Int {
        switch fixture {
        case "png_grey8", "png_greyalpha8": return grey8(x, y)
        case "png_rgb8", "png_rgba8": return rgb8(x, y, c)
        case "png_palette8", "png_palette_trns": return paletteColour(paletteIndex(x, y))[c]
        case "png_grey4": return grey4(x, y) * 17
        default: fatalError("no formula for \(fixture)")
        }
    }
}

@Suite("PNG codec")
struct PNGTests {
    static let eightBitFixtures = ["png_grey8", "png_greyalpha8", "png_rgb8", "png_rgba8", "png_palette8", "png_palette_trns", "png_grey4"]

    @Test("decodes every 8-bit (and lower) colour type exactly; alpha is dropped, not composited", arguments: eightBitFixtures)
    func decodesColourTypes(fixture: String) throws {
        let image = try PNG.read(TestSupport.fixture("\(fixture).png"))
        #expect(image.width == Formula.width && image.height == Formula.height)
        for y in 0..<Formula.height {
            for x in 0..<Formula.width {
                for c in 0..<3 {
                    let expected = Float(Formula.expected8(fixture, x, y, c)) / 255
                    #expect(image[c, y, x] == expected, "\(fixture) (\(x),\(y)) channel \(c)")
                }
            }
        }
    }

    @Test("16-bit RGB and grey keep full precision (value / 65535)")
    func decodes16BitExactly() throws {
        let rgb = try PNG.read(TestSupport.fixture("png_rgb16.png"))
        let grey = try PNG.read(TestSupport.fixture("png_grey16.png"))
        for y in 0..<Formula.height {
            for x in 0..<Formula.width {
                for c in 0..<3 {
                    #expect(rgb[c, y, x] == Float(Formula.rgb16(x, y, c)) / 65535)
                    #expect(grey[c, y, x] == Float(Formula.grey16(x, y)) / 65535)
                }
            }
        }
    }

    @Test("16-bit RGBA is read through 8 bits, alpha dropped, colours within one 8-bit step")
    func decodes16BitAlpha() throws {
        let image = try PNG.read(TestSupport.fixture("png_rgba16.png"))
        for y in 0..<Formula.height {
            for x in 0..<Formula.width {
                for c in 0..<3 {
                    let expected = Double(Formula.rgb16(x, y, c)) / 257
                    #expect(abs(Double(image[c, y, x]) * 255 - expected) <= 1.0)
                }
            }
        }
    }

    @Test("write then read is exact for 8-bit data of every colour type", arguments: eightBitFixtures)
    func roundTripIsExact(fixture: String) throws {
        let folder = try TestSupport.scratchFolder()
        defer { TestSupport.cleanUp(folder) }
        let original = try PNG.read(TestSupport.fixture("\(fixture).png"))
        let url = folder.appendingPathComponent("copy.png")
        try writePNG(original, to: url)
        #expect(try PNG.read(url) == original)
        // Grey fixtures also survive a grey write.
        if fixture.hasPrefix("png_grey") {
            let greyData = try PNG.encode(original, grey: true)
            #expect(try PNG.decode(greyData, name: "grey") == original)
        }
        // Nothing but the file itself is left in the folder (the temporary file was renamed).
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["copy.png"])
    }

    @Test("encoding rounds rint(x * 255) and clips out-of-range values")
    func encodingRoundsAndClips() throws {
        var image = RGBImage(width: 4, height: 1)
        let values: [Float] = [-0.3, 0.5 / 255, 1.5 / 255, 2.0, .nan]
        for x in 0..<4 { image[0, 0, x] = values[x] }
        image[1, 0, 0] = values[4]
        let decoded = try PNG.decode(PNG.encode(image), name: "memory")
        #expect(decoded[0, 0, 0] == 0)
        #expect(decoded[0, 0, 1] == 0)            // rint(0.5) = 0 (ties to even)
        #expect(decoded[0, 0, 2] == 2.0 / 255)    // rint(1.5) = 2
        #expect(decoded[0, 0, 3] == 1)
        #expect(decoded[1, 0, 0] == 0)            // NaN -> 0
    }

    @Test("a larger pattern image survives encode/decode")
    func patternRoundTrip() throws {
        let image = TestSupport.patternImage(width: 64, height: 32)
        #expect(try PNG.decode(PNG.encode(image), name: "pattern") == image)
    }

    @Test("a non-PNG file is named, with what it starts with and the fix")
    func notAPNG() throws {
        let folder = try TestSupport.scratchFolder()
        defer { TestSupport.cleanUp(folder) }
        let url = folder.appendingPathComponent("frame000012.png")
        try Data("GIF89a\u{1}\u{0}".utf8).write(to: url)
        let error = expectDataError(.notPNG) { _ = try PNG.read(url) }
        #expect(error?.text.contains("frame000012.png: not a PNG file (starts with 'GIF8')") == true, "\(error?.text ?? "")")
        #expect(error?.text.contains("convert it to PNG") == true)
    }

    @Test("an empty file is reported as such")
    func emptyFile() throws {
        let folder = try TestSupport.scratchFolder()
        defer { TestSupport.cleanUp(folder) }
        let url = folder.appendingPathComponent("frame000001.png")
        try Data().write(to: url)
        let error = expectDataError(.notPNG) { _ = try PNG.read(url) }
        #expect(error?.text.contains("frame000001.png") == true)
        #expect(error?.text.contains("empty") == true)
    }

    @Test("a truncated PNG gives libpng's reason and names the file")
    func truncatedPNG() throws {
        let folder = try TestSupport.scratchFolder()
        defer { TestSupport.cleanUp(folder) }
        let full = try Data(contentsOf: TestSupport.fixture("resize_pil_64x32.png"))
        let url = folder.appendingPathComponent("frame000003.png")
        try full.prefix(full.count / 2).write(to: url)
        let error = expectDataError(.corruptPNG) { _ = try PNG.read(url) }
        #expect(error?.text.contains("frame000003.png: truncated or corrupt PNG (libpng: ") == true, "\(error?.text ?? "")")
    }

    @Test("a PNG with a damaged chunk (bad CRC) is rejected")
    func corruptCRC() throws {
        let folder = try TestSupport.scratchFolder()
        defer { TestSupport.cleanUp(folder) }
        var bytes = [UInt8](try Data(contentsOf: TestSupport.fixture("png_rgb8.png")))
        bytes[bytes.count - 20] ^= 0xFF   // inside the IDAT data: its CRC no longer matches
        let url = folder.appendingPathComponent("frame000004.png")
        try Data(bytes).write(to: url)
        let error = expectDataError(.corruptPNG) { _ = try PNG.read(url) }
        #expect(error?.text.contains("frame000004.png") == true)
    }

    /// The headers that crashed `data check` and training (arithmetic overflow in the size
    /// check), and sizes the file's bytes cannot hold: refused before any buffer is allocated.
    @Test("a header declaring a huge size is refused without allocating", arguments: [
        (UInt32.max, UInt32.max), (3_221_225_472, 3_221_225_472), (1 << 31, 2), (8192, 8192), (1 << 20, 1 << 10),
    ])
    func hugeDeclaredSize(width: UInt32, height: UInt32) throws {
        var bytes = [UInt8](try Data(contentsOf: TestSupport.fixture("png_rgb8.png")))
        for (offset, value) in [(16, width), (20, height)] {
            for k in 0..<4 { bytes[offset + k] = UInt8(truncatingIfNeeded: value >> (24 - 8 * UInt32(k))) }
        }
        // Fix IHDR's CRC so the size itself is what gets checked.
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes[12..<29] {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        for k in 0..<4 { bytes[29 + k] = UInt8(truncatingIfNeeded: ~crc >> (24 - 8 * UInt32(k))) }
        let error = expectDataError(.corruptPNG) { _ = try PNG.decode(Data(bytes), name: "frame000005.png") }
        #expect(error?.text.contains("frame000005.png") == true && error?.text.contains("\(width)x\(height)") == true, "\(error?.text ?? "")")
    }

    @Test("writing into an unwritable place names the path and leaves nothing behind")
    func unwritableOutput() throws {
        let folder = try TestSupport.scratchFolder()
        defer { TestSupport.cleanUp(folder) }
        let blocker = folder.appendingPathComponent("not-a-folder")
        try Data("x".utf8).write(to: blocker)
        let target = blocker.appendingPathComponent("frame.png")
        let error = expectDataError(.notWritable) { try writePNG(TestSupport.patternImage(width: 4, height: 4), to: target) }
        #expect(error?.text.contains("not-a-folder") == true, "\(error?.text ?? "")")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["not-a-folder"])
    }
}
