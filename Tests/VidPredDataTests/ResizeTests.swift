import Foundation
import Testing
@testable import VidPredData

@Suite("Resize (PIL bilinear, antialiased)")
struct ResizeTests {
    /// (source fixture, PIL output fixture, size) made by reference/make_data_fixtures.py.
    static let cases: [(String, String)] = [
        ("resize_source_1024x512.png", "resize_pil_64x32.png"),
        ("resize_source_1024x512.png", "resize_pil_100x50.png"),
        ("resize_source_40x30.png", "resize_small_pil_97x61.png"),
        ("resize_source_40x30.png", "resize_small_pil_13x7.png"),
        ("resize_source_40x30.png", "resize_small_pil_80x9.png"),
    ]

    @Test("8-bit path is bit-exact with PIL's Image.resize(BILINEAR)", arguments: cases)
    func matchesPILExactly(source: String, reference: String) throws {
        let pil = try PNG.read(TestSupport.fixture(reference))
        let ours = try PNG.read(TestSupport.fixture(source), width: pil.width, height: pil.height)
        let worst = zip(ours.pixels, pil.pixels).map { abs($0 - $1) }.max() ?? 0
        #expect(worst == 0, "largest difference \(worst * 255)/255 against \(reference)")
    }

    @Test("float path (RGBImage.resized) matches PIL within 1/255", arguments: cases)
    func floatPathWithinOneStep(source: String, reference: String) throws {
        let pil = try PNG.read(TestSupport.fixture(reference))
        let ours = try PNG.read(TestSupport.fixture(source)).resized(width: pil.width, height: pil.height)
        let worst = zip(ours.pixels, pil.pixels).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= 1.0 / 255 + 1e-6, "largest difference \(worst * 255)/255 against \(reference)")
    }

    @Test("same size is the identity; a flat image stays flat")
    func identityAndFlat() {
        let image = TestSupport.patternImage(width: 9, height: 4)
        #expect(image.resized(width: 9, height: 4) == image)
        let flat = RGBImage(width: 50, height: 20, fill: SIMD3(0.25, 0.5, 0.75)).resized(width: 7, height: 3)
        for c in 0..<3 {
            for v in flat.pixels[(c * 21)..<((c + 1) * 21)] { #expect(abs(v - Float(c + 1) * 0.25) < 1e-6) }
        }
    }

    @Test("nearest upscaling repeats each pixel factor x factor times")
    func upscale() {
        let image = TestSupport.patternImage(width: 3, height: 2)
        let big = image.upscaled(by: 4)
        #expect(big.width == 12 && big.height == 8)
        for y in 0..<8 { for x in 0..<12 { #expect(big.pixel(x: x, y: y) == image.pixel(x: x / 4, y: y / 4)) } }
    }
}
