/// An RGB image with float samples in [0, 1], stored planar (C, H, W): all red samples row by row,
/// then all green, then all blue. This is the layout a tensor library expects for one frame, so a
/// batch is a plain concatenation of `pixels` arrays.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// 3 * height * width samples, channel-major.
    public var pixels: [Float]

    /// A black image.
    public init(width: Int, height: Int) {
        precondition(width > 0 && height > 0, "RGBImage needs a positive size, got \(width)x\(height)")
        self.width = width
        self.height = height
        self.pixels = [Float](repeating: 0, count: 3 * width * height)
    }

    /// An image filled with one colour.
    public init(width: Int, height: Int, fill: SIMD3<Float>) {
        self.init(width: width, height: height)
        let plane = width * height
        for c in 0..<3 {
            pixels.withUnsafeMutableBufferPointer { buffer in
                for i in 0..<plane { buffer[c * plane + i] = fill[c] }
            }
        }
    }

    /// Wraps existing planar samples; `pixels.count` must be 3 * width * height.
    public init(width: Int, height: Int, pixels: [Float]) {
        precondition(width > 0 && height > 0 && pixels.count == 3 * width * height,
                     "RGBImage(\(width)x\(height)) needs \(3 * width * height) samples, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Samples in one channel plane.
    public var planeSize: Int { width * height }

    /// One sample: channel 0...2 (R, G, B), row y, column x.
    public subscript(channel: Int, y: Int, x: Int) -> Float {
        get { pixels[(channel * height + y) * width + x] }
        set { pixels[(channel * height + y) * width + x] = newValue }
    }

    /// The colour at (x, y).
    public func pixel(x: Int, y: Int) -> SIMD3<Float> {
        let i = y * width + x
        let plane = planeSize
        return SIMD3(pixels[i], pixels[plane + i], pixels[2 * plane + i])
    }

    public mutating func setPixel(x: Int, y: Int, _ colour: SIMD3<Float>) {
        let i = y * width + x
        let plane = planeSize
        pixels[i] = colour.x
        pixels[plane + i] = colour.y
        pixels[2 * plane + i] = colour.z
    }

    /// Bilinear resize with antialiasing, the same filter as PIL's `Image.resize(size, BILINEAR)`
    /// (computed in float, so it matches PIL's 8-bit result within its rounding: 1/255).
    public func resized(width newWidth: Int, height newHeight: Int) -> RGBImage {
        if newWidth == width && newHeight == height { return self }
        return Resampler.resize(self, width: newWidth, height: newHeight)
    }

    /// Nearest-neighbour enlargement by an integer factor (for looking at tiny frames).
    public func upscaled(by factor: Int) -> RGBImage {
        precondition(factor >= 1, "upscale factor must be at least 1")
        if factor == 1 { return self }
        var out = RGBImage(width: width * factor, height: height * factor)
        for c in 0..<3 {
            for y in 0..<out.height {
                let sourceRow = (c * height + y / factor) * width
                let targetRow = (c * out.height + y) * out.width
                for x in 0..<out.width { out.pixels[targetRow + x] = pixels[sourceRow + x / factor] }
            }
        }
        return out
    }

    /// Interleaved 8-bit RGB (R, G, B, R, G, B, ...), each sample rint(x * 255) clipped to 0...255.
    public func rgb8() -> [UInt8] {
        let plane = planeSize
        var bytes = [UInt8](repeating: 0, count: 3 * plane)
        pixels.withUnsafeBufferPointer { source in
            bytes.withUnsafeMutableBufferPointer { target in
                for i in 0..<plane {
                    for c in 0..<3 { target[3 * i + c] = RGBImage.quantize(source[c * plane + i]) }
                }
            }
        }
        return bytes
    }

    /// The images of a video stored back to back as planar (T, 3, H, W) samples (a generated
    /// video, a tensor's floats).
    public static func frames(of samples: [Float], width: Int, height: Int) -> [RGBImage] {
        let size = 3 * width * height
        precondition(size > 0 && samples.count % size == 0, "\(samples.count) samples are not whole \(width)x\(height) frames")
        return stride(from: 0, to: samples.count, by: size).map { RGBImage(width: width, height: height, pixels: Array(samples[$0..<($0 + size)])) }
    }

    /// Builds an image from interleaved 8-bit RGB.
    public init(width: Int, height: Int, rgb8 bytes: [UInt8]) {
        precondition(bytes.count == 3 * width * height, "rgb8 needs \(3 * width * height) bytes, got \(bytes.count)")
        self.init(width: width, height: height)
        let plane = width * height
        pixels.withUnsafeMutableBufferPointer { target in
            bytes.withUnsafeBufferPointer { source in
                for i in 0..<plane {
                    for c in 0..<3 { target[c * plane + i] = Float(source[3 * i + c]) / 255 }
                }
            }
        }
    }

    /// rint(x * 255) clipped to 0...255; NaN becomes 0. The one rounding rule used for every 8-bit
    /// output (PNG, GIF, submission files), so the same prediction always gives the same bytes.
    @inline(__always)
    public static func quantize(_ value: Float) -> UInt8 {
        let scaled = (value * 255).rounded(.toNearestOrEven)
        if !(scaled > 0) { return 0 }
        return scaled >= 255 ? 255 : UInt8(scaled)
    }
}
