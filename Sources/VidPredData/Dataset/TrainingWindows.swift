/// How training items (windows of consecutive frames) are cut from the training videos.
/// Defaults are the lab's template: non-overlapping windows of 16 in file order, unshuffled.
public struct TrainingWindowOptions: Sendable, Equatable, Codable {
    /// Frames per window (lab: `train_vi_len` = 16).
    public var length: Int
    /// Distance between window starts. nil: `length` (non-overlapping, the lab). Smaller values
    /// give overlapping windows (more, correlated items per epoch).
    public var stride: Int?
    /// Shuffle the window order each epoch (seeded by `seed` and the epoch). Lab: false.
    public var shuffle: Bool
    public var seed: UInt64
    /// Fraction of the training frames used (lab: `partial` = 1.0): the first
    /// int(frames * partial) frames in file order, as the template's Dataset_Dance did.
    public var partial: Double
    /// The lab's `fast_train`: use `fastPartial` of the data during the first `fastTrainEpochs`
    /// epochs, then `partial`.
    public var fastTrain: Bool
    public var fastPartial: Double
    /// Number of epochs (counted from 0) that use `fastPartial`. Lab: `fast_train_epoch` = 5.
    /// Note: the template switched fast_train off only after building the loader of the epoch
    /// whose (0-based) index exceeded fast_train_epoch, so it actually used fast_partial for
    /// fast_train_epoch + 2 epochs (0...6); set 7 here to reproduce that exactly.
    public var fastTrainEpochs: Int

    public init(length: Int = 16, stride: Int? = nil, shuffle: Bool = false, seed: UInt64 = 0,
                partial: Double = 1.0, fastTrain: Bool = false, fastPartial: Double = 0.4, fastTrainEpochs: Int = 5) {
        self.length = length
        self.stride = stride
        self.shuffle = shuffle
        self.seed = seed
        self.partial = partial
        self.fastTrain = fastTrain
        self.fastPartial = fastPartial
        self.fastTrainEpochs = fastTrainEpochs
    }
}

/// Where a window starts: video index (into `LabDataset.train`) and first frame in that video.
public struct FrameWindow: Sendable, Hashable, Codable {
    public let video: Int
    public let start: Int
    public init(video: Int, start: Int) { self.video = video; self.start = start }
}

/// The training windows of each epoch. Windows never cross from one training video into the next.
public struct TrainingWindows: Sendable {
    public let videoLengths: [Int]
    public let options: TrainingWindowOptions

    public init(videoLengths: [Int], options: TrainingWindowOptions = TrainingWindowOptions()) throws {
        guard options.length >= 1 else {
            throw DataError.invalid("train_vi_len", "\(options.length) must be at least 1", fix: "use 16 (the lab) or another positive length")
        }
        if let stride = options.stride, stride < 1 {
            throw DataError.invalid("window stride", "\(stride) must be at least 1", fix: "use 1...train_vi_len, or leave it unset for the lab's non-overlapping windows")
        }
        for (name, value) in [("partial", options.partial), ("fast_partial", options.fastPartial)] where !(value > 0 && value <= 1) {
            throw DataError.invalid(name, "\(value) must be in (0, 1]", fix: "use a fraction such as 1.0 or 0.4")
        }
        guard videoLengths.contains(where: { $0 >= options.length }) else {
            throw DataError(.tooShort, path: "training data",
                            problem: "training data: no video has \(options.length) frames (lengths: \(DataError.listFew(videoLengths.map(String.init))))",
                            fix: "add training frames or lower train_vi_len")
        }
        self.videoLengths = videoLengths
        self.options = options
    }

    /// The fraction of the data used in `epoch` (0-based).
    public func fraction(forEpoch epoch: Int) -> Double {
        options.fastTrain && epoch < options.fastTrainEpochs ? options.fastPartial : options.partial
    }

    /// The windows of `epoch` (0-based), in the order they are to be trained on.
    public func windows(forEpoch epoch: Int) -> [FrameWindow] {
        let total = videoLengths.reduce(0, +)
        // Python's int(len * partial): truncation, as in the template.
        var budget = Int(Double(total) * fraction(forEpoch: epoch))
        let step = options.stride ?? options.length
        var windows: [FrameWindow] = []
        for (video, length) in videoLengths.enumerated() {
            let usable = min(length, budget)
            budget -= usable
            var start = 0
            while start + options.length <= usable {
                windows.append(FrameWindow(video: video, start: start))
                start += step
            }
            if budget <= 0 { break }
        }
        if options.shuffle {
            var generator = SplitMix64(seed: options.seed, stream: UInt64(max(epoch, 0)))
            generator.shuffle(&windows)
        }
        return windows
    }

    /// The windows of `epoch` grouped into batches; the lab drops the last incomplete batch.
    public func batches(forEpoch epoch: Int, batchSize: Int, dropLast: Bool = true) -> [[FrameWindow]] {
        precondition(batchSize >= 1, "batch size must be at least 1")
        let all = windows(forEpoch: epoch)
        var batches: [[FrameWindow]] = []
        var start = 0
        while start < all.count {
            let end = min(start + batchSize, all.count)
            if end - start == batchSize || !dropLast { batches.append(Array(all[start..<end])) }
            start = end
        }
        return batches
    }
}
