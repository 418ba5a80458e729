import Foundation
import Torch
import VidPredData

/// One continuous run of frames and their pose labels, held as tensors of shape (N, 3, H, W) with
/// values in [0, 1]. Training windows and validation videos are slices of these.
public struct VideoTensors {
    public let frames: Tensor
    public let labels: Tensor

    public init(frames: Tensor, labels: Tensor) throws {
        guard frames.shape == labels.shape, frames.rank == 4, frames.shape[1] == 3 else {
            throw TorchError("frames \(frames.shape) and labels \(labels.shape) must both be (N, 3, H, W)")
        }
        self.frames = frames
        self.labels = labels
    }

    /// From flat planar (N, 3, H, W) float arrays.
    public init(frames: [Float], labels: [Float], count: Int, height: Int, width: Int) throws {
        let shape = [count, 3, height, width]
        try self.init(frames: Tensor(frames, shape: shape), labels: Tensor(labels, shape: shape))
    }

    public var count: Int { frames.shape[0] }
    public var height: Int { frames.shape[2] }
    public var width: Int { frames.shape[3] }

    /// The first `length` frames (all when 0 or larger than the video).
    public func prefix(_ length: Int) throws -> VideoTensors {
        guard length > 0, length < count else { return self }
        return try VideoTensors(frames: frames.narrow(dim: 0, start: 0, length: length),
                                labels: labels.narrow(dim: 0, start: 0, length: length))
    }
}

/// What a run trains and validates on: training videos (windows never cross from one into the
/// next) and validation videos, as tensors.
public struct TrainingData {
    public let train: [VideoTensors]
    public let validation: [VideoTensors]
    /// The dataset on disk these tensors came from (recorded in the run's manifest); nil for
    /// data made in memory.
    public let source: DataRecord?

    public init(train: [VideoTensors], validation: [VideoTensors], source: DataRecord? = nil) {
        self.train = train
        self.validation = validation
        self.source = source
    }

    /// Converts a loaded dataset (decoded once, kept in memory: the lab's 23k frames at 32x64 take
    /// 1.1 GB as float32, edn-s4 49 MB).
    public init(dataset: LabDataset, source: DataRecord? = nil) throws {
        func tensors(_ video: LabVideo) throws -> VideoTensors {
            try VideoTensors(frames: video.frames.pixels, labels: video.labels.pixels, count: video.frames.count,
                             height: video.frames.height, width: video.frames.width)
        }
        train = try dataset.train.map(tensors)
        validation = try dataset.val.map(tensors)
        self.source = source
    }

    /// Loads the train and val splits of a dataset at the run's frame size, and records it.
    public static func load(root: URL, config: TrainConfig) throws -> TrainingData {
        try load(DataRecord.of(root), config: config)
    }

    /// Loads the dataset a record names (already fingerprinted, e.g. checked against a run's record).
    public static func load(_ record: DataRecord, config: TrainConfig) throws -> TrainingData {
        let dataset = try LabDataset.load(root: record.url, options: LabDatasetOptions(
            height: config.height, width: config.width, splits: [.train, .val], trainVideoLength: config.trainVideoLength))
        return try TrainingData(dataset: dataset, source: record)
    }

    public var trainFrameCount: Int { train.reduce(0) { $0 + $1.count } }

    /// The training videos copied to `device` once, so batches and reference frames are cut
    /// there without a copy per step (the lab's 23k frames take 1.1 GB as float32); the
    /// validation videos stay where they are (scored on the CPU).
    public func trainingVideos(on device: Device) throws -> TrainingData {
        guard device != .cpu else { return self }
        return TrainingData(train: try train.map { try VideoTensors(frames: $0.frames.to(device), labels: $0.labels.to(device)) },
                            validation: validation, source: source)
    }

    /// A batch (B, T, 3, H, W) of frames and labels for the given windows. `otherLabels(i)` may
    /// give window i's labels from another tensor the shape of its video's labels (nil: its own).
    public func batch(_ windows: [FrameWindow], length: Int, otherLabels: (Int) -> Tensor? = { _ in nil }) throws -> (frames: Tensor, labels: Tensor) {
        var frames: [Tensor] = [], labels: [Tensor] = []
        for (i, w) in windows.enumerated() {
            let video = train[w.video]
            frames.append(try video.frames.narrow(dim: 0, start: w.start, length: length))
            labels.append(try (otherLabels(i) ?? video.labels).narrow(dim: 0, start: w.start, length: length))
        }
        return (try Tensor.stack(frames, dim: 0), try Tensor.stack(labels, dim: 0))
    }
}

extension VideoTensors {
    /// Where the dancer stands sideways in each frame, as a fraction of the width: the mean column
    /// of its pose label's strokes (the pixels not near white); nil where the label is blank.
    public func dancerColumns() throws -> [Double?] { try Self.dancerColumns(labels: labels) }

    /// `dancerColumns` of pose labels (N, 3, H, W) with values in [0, 1].
    public static func dancerColumns(labels: Tensor) throws -> [Double?] {
        let count = labels.shape[0]
        // 256 frames at a time: a float mask of a whole large video at 256x512 would take gigabytes.
        return try stride(from: 0, to: count, by: 256).flatMap { start -> [Double?] in
            try dancerPlaces(labels.narrow(dim: 0, start: start, length: min(256, count - start))).doubles().map { $0.isNaN ? nil : $0 }
        }
    }

    /// How far sideways the dancer stands in each frame from `place` (fractions of the width, as
    /// `dancerColumns` gives them); nil where the frame's label or `place` is blank.
    public static func distances(_ columns: [Double?], from place: Double?) -> [Double?] {
        columns.map { column in column.flatMap { c in place.map { abs(c - $0) } } }
    }

    /// The dancer's sideways place in each of a batch of pose labels (N, 3, H, W): (N) float32, the
    /// mean column of the strokes (the pixels whose R + G + B is under 2.75) as a fraction of the
    /// width, NaN for a blank label. What `dancerColumns` reads, and what `align_given` moves the
    /// given frame's features by, inside the network.
    public static func dancerPlaces(_ labels: Tensor) throws -> Tensor {
        let width = labels.shape[3]
        let strokes = try labels.to(.float32).sum(dims: [1]).less(2.75).to(.float32).sum(dims: [1])  // (N, W) stroke pixels per column
        let columns = try Tensor.arange(width, dtype: .float32).to(labels.device)
        // A blank label gives 0 / 0.
        return try (((strokes * columns).sum(dims: [1]) / strokes.sum(dims: [1])) + 0.5) * (1 / Double(width))
    }
}

/// What a training clip treats as its video's given frame (`reference_sampling`).
public enum ReferenceSampling: String, SettingChoice, Codable {
    /// The clip's own first frame (the lab).
    case window
    /// A frame drawn uniformly from the clip's whole training video: a model with a reference
    /// frame then learns to move the dancer away from where the given frame shows them (in a
    /// 630-frame test video the dancer walks across the stage; within a 16-frame window they
    /// barely move).
    case random
}

/// Draws each training clip's given frame as `reference_sampling` and `reference_far` say; built
/// once per run (`reference_far` measures where the dancer stands in every training frame first).
///
/// Why `reference_far`: a dancer who stays near the middle of the stage seldom gives `random` a
/// pair far apart (in edn-s4 half the pairs are within 0.03 of the width, 90% within 0.30), while a
/// video that crosses the stage asks for moves of half the width. Drawn in proportion to the
/// distance, the median pair is 0.24 of the width apart in edn-s4.
struct ReferenceSampler {
    let sampling: ReferenceSampling
    /// The share of clips whose given frame is drawn in proportion to the distance (the rest uniformly).
    let farShare: Double
    /// Per training video, per frame (only when `farShare` > 0).
    private let dancerColumns: [[Double?]]

    init(_ config: TrainConfig, data: TrainingData) throws {
        sampling = config.referenceSampling
        farShare = sampling == .random ? config.referenceFar : 0
        dancerColumns = farShare > 0 ? try data.train.map { try $0.dancerColumns() } : []
    }

    /// The reference frames of a batch and their labels (each (B, 3, H, W)); nil: each clip's first frame.
    func frames(for windows: [FrameWindow], in data: TrainingData, seed: UInt64) throws -> ReferenceFrames? {
        guard sampling == .random else { return nil }
        var rng = SplitMix64(seed: seed)
        let picks = windows.map { w in (video: data.train[w.video], index: index(for: w, count: data.train[w.video].count, rng: &rng)) }
        return ReferenceFrames(frames: try Tensor.stack(picks.map { try $0.video.frames.select(dim: 0, index: $0.index) }, dim: 0),
                               labels: try Tensor.stack(picks.map { try $0.video.labels.select(dim: 0, index: $0.index) }, dim: 0))
    }

    /// The frame of window `w`'s video (of `count` frames) that the clip takes as its given frame.
    func index(for w: FrameWindow, count: Int, rng: inout SplitMix64) -> Int {
        // Without `reference_far` the draws are those of every earlier version (resumed runs draw
        // the same); a coin is tossed only for a share strictly between 0 and 1.
        let far = farShare >= 1 || (farShare > 0 && rng.unit() < farShare)
        guard far else { return Int(rng.next() % UInt64(count)) }
        let columns = dancerColumns[w.video]
        // A frame with no dancer, or a clip starting on one, weighs 0.
        let distances = VideoTensors.distances(columns, from: columns[w.start]).map { $0 ?? 0 }
        let total = distances.reduce(0, +)
        guard total > 0 else { return rng.below(count) }  // nobody moves sideways: uniform
        var left = rng.unit() * total
        for (k, distance) in distances.enumerated() where distance > 0 {
            left -= distance
            if left < 0 { return k }
        }
        return distances.lastIndex { $0 > 0 }!  // rounding left a sliver at the end
    }
}

extension TrainConfig {
    /// The data layer's window options for this run.
    public var windowOptions: TrainingWindowOptions {
        TrainingWindowOptions(length: trainVideoLength, stride: windowStride, shuffle: shuffle, seed: seed,
                              partial: partial, fastTrain: fastTrain, fastPartial: fastPartial,
                              fastTrainEpochs: fastTrainEpoch)
    }
}
