import Foundation

/// How to load a dataset in the lab layout.
public struct LabDatasetOptions: Sendable, Equatable {
    /// Frames and labels are resized to height x width (PIL bilinear, antialiased) when their
    /// files have another size, then scaled to [0, 1]. The lab: 32 x 64.
    public var height: Int
    public var width: Int
    /// Splits to load; a split that is not requested may be missing on disk.
    public var splits: [LabSplit]
    /// Only used to reject training videos shorter than one window (lab: train_vi_len = 16).
    public var trainVideoLength: Int
    /// Decode on all cores.
    public var parallel: Bool

    public init(height: Int = 32, width: Int = 64, splits: [LabSplit] = LabSplit.allCases,
                trainVideoLength: Int = 16, parallel: Bool = true) {
        self.height = height
        self.width = width
        self.splits = splits
        self.trainVideoLength = trainVideoLength
        self.parallel = parallel
    }
}

/// One video of a split, decoded.
public struct LabVideo: Sendable {
    public let split: LabSplit
    /// The video's subfolder name ("0" for test video 0), or "" when the split folder holds the
    /// frames directly (the lab's train and val).
    public let name: String
    /// The frames of *_img. For a test video: only the given first frame(s).
    public let frames: FrameSequence
    /// One pose label per frame of the video (for a test video: the whole video's labels).
    public let labels: FrameSequence
    /// test_gt, when present (test videos only): the real frames, for local scoring.
    public let groundTruth: FrameSequence?

    /// Number of frames in the video (= number of labels).
    public var length: Int { labels.count }

    /// The frames a prediction is compared with: the frames themselves for train/val, test_gt for
    /// test videos (nil when absent).
    public var referenceFrames: FrameSequence? { split == .test ? groundTruth : frames }

    /// "train", "val/2", "test/0": how reports and errors refer to the video.
    public var displayName: String { name.isEmpty ? split.rawValue : "\(split.rawValue)/\(name)" }
}

/// A dataset in the lab layout (docs/lab.md), decoded into memory.
///
/// Everything is decoded once and kept in memory: training reads every frame every epoch, and the
/// data is small (edn-s4's 1,000 training frames + labels at 32x64: 1,000 x 2 x 6,144 floats =
/// 49 MB; even the lab's 23,410 would be 1.15 GB).
///
/// Measured (release build, 2-core machine shared with other jobs), decoding all of edn-s4
/// (1,000 train + 630 val + 1 test frames, their labels, 630 test_gt: 4,521 PNGs of 64x32):
///   one thread: 0.30 s (about 14,700 PNGs/s; ~70 us per PNG, mostly zlib/libpng setup);
///   DispatchQueue.concurrentPerform over both cores: 0.21 s when the cores are free, no gain
///   when other jobs keep them busy.
/// So loading is a fraction of a second: no background prefetching during training (not worth
/// its complexity); `parallel` (default on) decodes folders across cores. Full-size lab frames
/// are another matter: a 1024x512 PNG takes about 4.3 ms to decode and resize to 64x32, so the
/// lab's 46,820 PNGs would take ~3 minutes on one core; resize such data once (write the 64x32
/// PNGs, e.g. with `PNG.read(_:width:height:)` + `PNG.write`) rather than at every start.
public struct LabDataset: Sendable {
    public let root: URL
    public let options: LabDatasetOptions
    public let train: [LabVideo]
    public let val: [LabVideo]
    public let test: [LabVideo]

    /// Loads the requested splits, or throws the first problem found (naming the file and the fix).
    /// Nothing is written.
    public static func load(root: URL, options: LabDatasetOptions = LabDatasetOptions()) throws -> LabDataset {
        guard options.height > 0, options.width > 0 else {
            throw DataError.invalid("frame size", "\(options.width)x\(options.height) is not a valid size", fix: "use a positive width and height")
        }
        guard options.trainVideoLength >= 1 else {
            throw DataError.invalid("train_vi_len", "\(options.trainVideoLength) must be at least 1", fix: "use 16 (the lab) or another positive length")
        }
        let layout = LabLayout.scan(root: root, splits: options.splits, trainVideoLength: options.trainVideoLength)
        if let problem = layout.problems.first { throw problem }
        let target = ImageSize(width: options.width, height: options.height)
        var videos: [LabVideo] = []
        for files in layout.videos {
            let frames = try FrameDecoding.loadSequence(files.frames, target: target, parallel: options.parallel)
            let labels = try FrameDecoding.loadSequence(files.labels, target: target, parallel: options.parallel)
            let truth = try files.groundTruth.map { try FrameDecoding.loadSequence($0, target: target, parallel: options.parallel) }
            videos.append(LabVideo(split: files.split, name: files.name, frames: frames, labels: labels, groundTruth: truth))
        }
        return LabDataset(root: root, options: options,
                          train: videos.filter { $0.split == .train },
                          val: videos.filter { $0.split == .val },
                          test: videos.filter { $0.split == .test })
    }

    /// Total number of training frames over all training videos.
    public var trainFrameCount: Int { train.reduce(0) { $0 + $1.length } }

    /// Training windows over this dataset's training videos.
    public func trainingWindows(_ options: TrainingWindowOptions = TrainingWindowOptions()) throws -> TrainingWindows {
        try TrainingWindows(videoLengths: train.map(\.length), options: options)
    }
}
