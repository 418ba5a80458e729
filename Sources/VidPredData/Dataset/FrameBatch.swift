/// A batch of frame windows and their labels, flat in (B, T, 3, H, W) order (batch-major, then
/// time, channel, row, column): the memory layout of a contiguous tensor of that shape, so the
/// model code can copy `frames` and `labels` straight into tensors.
public struct FrameBatch: Sendable, Equatable {
    public let batchSize: Int
    public let time: Int
    public let channels: Int
    public let height: Int
    public let width: Int
    public var frames: [Float]
    public var labels: [Float]

    /// [B, T, 3, H, W].
    public var shape: [Int] { [batchSize, time, channels, height, width] }

    public init(batchSize: Int, time: Int, height: Int, width: Int, frames: [Float], labels: [Float]) {
        let count = batchSize * time * 3 * height * width
        precondition(frames.count == count && labels.count == count,
                     "FrameBatch(\(batchSize), \(time), 3, \(height), \(width)) needs \(count) samples, got \(frames.count) / \(labels.count)")
        self.batchSize = batchSize
        self.time = time
        self.channels = 3
        self.height = height
        self.width = width
        self.frames = frames
        self.labels = labels
    }

    /// Gathers `windows` of `length` frames from the training videos.
    public init(windows: [FrameWindow], length: Int, videos: [LabVideo]) {
        precondition(!windows.isEmpty, "FrameBatch needs at least one window")
        let first = videos[windows[0].video].frames
        var frames: [Float] = [], labels: [Float] = []
        frames.reserveCapacity(windows.count * length * first.frameSize)
        labels.reserveCapacity(windows.count * length * first.frameSize)
        for window in windows {
            let video = videos[window.video]
            frames += video.frames.samples(from: window.start, count: length)
            labels += video.labels.samples(from: window.start, count: length)
        }
        self.init(batchSize: windows.count, time: length, height: first.height, width: first.width, frames: frames, labels: labels)
    }

    /// A whole video as one item (B = 1): frames and labels must have the same length (a val
    /// video; for a test video pass its ground truth as `frames`).
    public init(frames: FrameSequence, labels: FrameSequence) {
        precondition(frames.count == labels.count && frames.height == labels.height && frames.width == labels.width,
                     "FrameBatch: \(frames.count) frames but \(labels.count) labels")
        self.init(batchSize: 1, time: frames.count, height: frames.height, width: frames.width,
                  frames: frames.pixels, labels: labels.pixels)
    }
}
