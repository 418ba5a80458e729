/// PIL's resampling for `Image.resize((w, h), Image.BILINEAR)`, reproduced exactly.
///
/// The lab resized 1024x512 frames to 64x32 with PIL, so matching PIL matters: a model trained on
/// frames resized differently sees slightly different data. PIL's "bilinear" is a triangle filter
/// whose support is stretched by the downscale factor (so downscaling averages over all covered
/// source pixels: antialiasing), applied separably, one axis after the other.
/// On 8-bit images PIL uses 22-bit fixed-point weights and rounds to 8 bits after each pass;
/// `resizeRGB8` does the same and matches PIL (Pillow 13, checked by the tests) bit for bit.
/// `resize` (float images) uses the same weights without the intermediate rounding, so it stays
/// within 1/255 of PIL.
enum Resampler {
    /// Triangle filter weights of one output axis: for output index i, `count[i]` weights starting
    /// at source index `start[i]`, stored at `weights[i * maxTaps ..< i * maxTaps + count[i]]`.
    struct Taps {
        var start: [Int]
        var count: [Int]
        var weights: [Double]
        var maxTaps: Int
    }

    /// PIL's `precompute_coeffs` for the bilinear filter (support 1).
    static func taps(inSize: Int, outSize: Int) -> Taps {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1.0)
        let support = 1.0 * filterScale
        let maxTaps = Int(support.rounded(.up)) * 2 + 1
        var taps = Taps(start: [], count: [], weights: [Double](repeating: 0, count: outSize * maxTaps), maxTaps: maxTaps)
        for i in 0..<outSize {
            let center = (Double(i) + 0.5) * scale
            let inverse = 1.0 / filterScale
            // C's (int) cast truncates toward zero; the clamp to 0 makes that a floor here.
            let first = max(Int(center - support + 0.5), 0)
            let last = min(Int(center + support + 0.5), inSize)
            let count = last - first
            var total = 0.0
            for k in 0..<count {
                let w = triangle((Double(k + first) - center + 0.5) * inverse)
                taps.weights[i * maxTaps + k] = w
                total += w
            }
            if total != 0 {
                for k in 0..<count { taps.weights[i * maxTaps + k] /= total }
            }
            taps.start.append(first)
            taps.count.append(count)
        }
        return taps
    }

    @inline(__always)
    static func triangle(_ x: Double) -> Double {
        let a = abs(x)
        return a < 1 ? 1 - a : 0
    }

    // MARK: float images

    static func resize(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        precondition(width > 0 && height > 0, "resize target must be positive, got \(width)x\(height)")
        var planes = image.pixels
        var currentWidth = image.width
        if width != image.width {
            planes = horizontal(planes, rows: 3 * image.height, inWidth: image.width, outWidth: width)
            currentWidth = width
        }
        if height != image.height {
            planes = vertical(planes, planes: 3, inHeight: image.height, outHeight: height, width: currentWidth)
        }
        return RGBImage(width: width, height: height, pixels: planes)
    }

    private static func horizontal(_ input: [Float], rows: Int, inWidth: Int, outWidth: Int) -> [Float] {
        let taps = taps(inSize: inWidth, outSize: outWidth)
        var output = [Float](repeating: 0, count: rows * outWidth)
        // Unchecked buffers in the inner loops: drawing a pose label resizes a 1024-wide canvas per frame.
        input.withUnsafeBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                taps.weights.withUnsafeBufferPointer { weights in
                    for row in 0..<rows {
                        let rowStart = row * inWidth
                        for x in 0..<outWidth {
                            var sum = 0.0
                            let first = rowStart + taps.start[x], base = x * taps.maxTaps
                            for k in 0..<taps.count[x] { sum += Double(src[first + k]) * weights[base + k] }
                            dst[row * outWidth + x] = Float(sum)
                        }
                    }
                }
            }
        }
        return output
    }

    private static func vertical(_ input: [Float], planes: Int, inHeight: Int, outHeight: Int, width: Int) -> [Float] {
        let taps = taps(inSize: inHeight, outSize: outHeight)
        var output = [Float](repeating: 0, count: planes * outHeight * width)
        input.withUnsafeBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                taps.weights.withUnsafeBufferPointer { weights in
                    for p in 0..<planes {
                        for y in 0..<outHeight {
                            let first = taps.start[y], base = y * taps.maxTaps, count = taps.count[y]
                            for x in 0..<width {
                                var sum = 0.0
                                for k in 0..<count { sum += Double(src[(p * inHeight + first + k) * width + x]) * weights[base + k] }
                                dst[(p * outHeight + y) * width + x] = Float(sum)
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    // MARK: 8-bit images, bit-exact with PIL

    /// PIL's fixed-point precision for 8-bit images: 32 - 8 - 2 bits.
    private static let precisionBits = 22

    private static func fixedPoint(_ taps: Taps) -> [Int32] {
        let one = Double(1 << precisionBits)
        return taps.weights.map { w in Int32(w < 0 ? -0.5 + w * one : 0.5 + w * one) }
    }

    @inline(__always)
    private static func clip8(_ sum: Int32) -> UInt8 {
        let v = sum >> Int32(precisionBits)
        return v < 0 ? 0 : (v > 255 ? 255 : UInt8(v))
    }

    /// Resizes interleaved 8-bit RGB exactly as PIL does (same weights, same rounding after each
    /// pass, same pass order).
    static func resizeRGB8(_ input: [UInt8], width: Int, height: Int, toWidth outWidth: Int, toHeight outHeight: Int) -> [UInt8] {
        precondition(input.count == 3 * width * height, "resizeRGB8: \(input.count) bytes for \(width)x\(height)")
        // Pillow 10.3+ runs the vertical pass first when the height shrinks by more than twice as
        // many pixels as the width (older versions always went horizontal first). The order only
        // changes the 8-bit rounding of the intermediate image; for the lab's 1024x512 -> 64x32
        // both orders agree (horizontal first).
        let verticalFirst = (height - outHeight) > 0 && (height - outHeight) > (width - outWidth) * 2
        var data = input
        if verticalFirst {
            if outHeight != height { data = verticalPass8(data, width: width, height: height, outHeight: outHeight) }
            if outWidth != width { data = horizontalPass8(data, width: width, height: outHeight, outWidth: outWidth) }
        } else {
            if outWidth != width { data = horizontalPass8(data, width: width, height: height, outWidth: outWidth) }
            if outHeight != height { data = verticalPass8(data, width: outWidth, height: height, outHeight: outHeight) }
        }
        return data
    }

    private static func horizontalPass8(_ input: [UInt8], width: Int, height: Int, outWidth: Int) -> [UInt8] {
        let taps = taps(inSize: width, outSize: outWidth)
        let k = fixedPoint(taps)
        let half = Int32(1 << (precisionBits - 1))
        var out = [UInt8](repeating: 0, count: 3 * outWidth * height)
        input.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    for x in 0..<outWidth {
                        var s0 = half, s1 = half, s2 = half
                        let first = taps.start[x], base = x * taps.maxTaps
                        for t in 0..<taps.count[x] {
                            let i = 3 * (y * width + first + t), w = k[base + t]
                            s0 &+= Int32(src[i]) &* w
                            s1 &+= Int32(src[i + 1]) &* w
                            s2 &+= Int32(src[i + 2]) &* w
                        }
                        let o = 3 * (y * outWidth + x)
                        dst[o] = clip8(s0); dst[o + 1] = clip8(s1); dst[o + 2] = clip8(s2)
                    }
                }
            }
        }
        return out
    }

    private static func verticalPass8(_ input: [UInt8], width: Int, height: Int, outHeight: Int) -> [UInt8] {
        let taps = taps(inSize: height, outSize: outHeight)
        let k = fixedPoint(taps)
        let half = Int32(1 << (precisionBits - 1))
        var out = [UInt8](repeating: 0, count: 3 * width * outHeight)
        input.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<outHeight {
                    let first = taps.start[y], base = y * taps.maxTaps
                    for x in 0..<width {
                        var s0 = half, s1 = half, s2 = half
                        for t in 0..<taps.count[y] {
                            let i = 3 * ((first + t) * width + x), w = k[base + t]
                            s0 &+= Int32(src[i]) &* w
                            s1 &+= Int32(src[i + 1]) &* w
                            s2 &+= Int32(src[i + 2]) &* w
                        }
                        let o = 3 * (y * width + x)
                        dst[o] = clip8(s0); dst[o + 1] = clip8(s1); dst[o + 2] = clip8(s2)
                    }
                }
            }
        }
        return out
    }
}
