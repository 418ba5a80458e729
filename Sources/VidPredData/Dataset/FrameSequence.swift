/// The frames of one video (or its labels), decoded, contiguous in (T, 3, H, W) order so that a
/// window of consecutive frames is one slice of `pixels`.
public struct FrameSequence: Sendable, Equatable {
    public let height: Int
    public let width: Int
    /// count * 3 * height * width samples in [0, 1].
    public private(set) var pixels: [Float]
    /// The source file name of each frame (e.g. "frame000012.png").
    public private(set) var names: [String]

    public var count: Int { names.count }
    /// Samples per frame: 3 * height * width.
    public var frameSize: Int { 3 * height * width }

    public init(height: Int, width: Int) {
        self.height = height
        self.width = width
        self.pixels = []
        self.names = []
    }

    /// Stacks images that all have the given size.
    public init(height: Int, width: Int, frames: [RGBImage], names: [String]) {
        precondition(frames.count == names.count, "FrameSequence: \(frames.count) frames but \(names.count) names")
        self.init(height: height, width: width)
        pixels.reserveCapacity(frames.count * frameSize)
        for (frame, name) in zip(frames, names) { append(frame, name: name) }
    }

    public mutating func append(_ frame: RGBImage, name: String) {
        precondition(frame.width == width && frame.height == height,
                     "FrameSequence is \(width)x\(height), cannot append a \(frame.width)x\(frame.height) frame")
        pixels += frame.pixels
        names.append(name)
    }

    /// Frame i as an image.
    public func frame(_ index: Int) -> RGBImage {
        RGBImage(width: width, height: height, pixels: Array(pixels[(index * frameSize)..<((index + 1) * frameSize)]))
    }

    /// The samples of frames start..<start+length, (length, 3, H, W).
    public func samples(from start: Int, count length: Int) -> ArraySlice<Float> {
        pixels[(start * frameSize)..<((start + length) * frameSize)]
    }
}
