import Foundation
import Torch
import VidPredData

/// Random changes to training clips that keep a clip's frames, pose labels and given frame
/// consistent, so that one training video shows the model places, sizes, directions and lighting
/// it never had (issue 19: in the test videos the dancer walks where the training clip never
/// went, and leaves the frame). Each clip's change is drawn from the run's seed and the
/// iteration, so a resumed run and every rank of a job draw the same ones.
public struct Augmentation: Equatable, Sendable {
    /// Probability that a clip is mirrored left to right; its labels then have their left and
    /// right colours swapped (`PoseLabel.mirroredColours`), as the dataset draws a mirrored dancer.
    public var flip: Double
    /// Zoom: a scale drawn log-uniformly from [1 / (1 + zoom), 1 + zoom]; above 1 it is a crop,
    /// which can cut the body at the frame's edge.
    public var zoom: Double
    /// Translation by up to this fraction of the height, and of the width unless `shiftX` is set.
    /// What moves in from outside repeats the border pixels.
    public var shift: Double
    /// Horizontal translation by up to this fraction of the width, when it should go further than
    /// the vertical one: dancers cross the whole stage, while a training clip may keep to one part
    /// of it and the floor stays at one height (torchvision's `RandomAffine(translate=(x, y))`).
    public var shiftX: Double?
    /// The frames' colours only (not the labels'): brightness +-jitter, contrast and saturation
    /// times [1 - jitter, 1 + jitter].
    public var jitter: Double

    public init(flip: Double = 0, zoom: Double = 0, shift: Double = 0, shiftX: Double? = nil, jitter: Double = 0) {
        self.flip = flip; self.zoom = zoom; self.shift = shift; self.shiftX = shiftX; self.jitter = jitter
    }

    /// The horizontal shift's range, a fraction of the width.
    var horizontalShift: Double { shiftX ?? shift }
    public var isActive: Bool { moves || jitter > 0 }
    var moves: Bool { flip > 0 || zoom > 0 || shift > 0 || horizontalShift > 0 }

    /// The change of one clip.
    public struct ClipChange: Equatable, Sendable {
        public var mirrored = false
        public var scale = 1.0
        /// Translation as a fraction of the width and the height.
        public var dx = 0.0, dy = 0.0
        public var brightness = 0.0, contrast = 1.0, saturation = 1.0
    }

    /// The changes of `count` clips (a global batch), drawn from `seed`.
    public func changes(count: Int, seed: UInt64) -> [ClipChange] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            var c = ClipChange()
            // Every draw happens whatever the settings, so that turning one on changes no other's values.
            let (flipDraw, zoomDraw, dxDraw, dyDraw) = (rng.unit(), rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1))
            let (b, k, s) = (rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1))
            c.mirrored = flipDraw < flip
            c.scale = exp(zoomDraw * log(1 + zoom))
            (c.dx, c.dy) = (dxDraw * horizontalShift, dyDraw * shift)
            (c.brightness, c.contrast, c.saturation) = (b * jitter, 1 + k * jitter, 1 + s * jitter)
            return c
        }
    }

    /// Where each output pixel of clip `c` reads its input, as grid_sample's grid (x, y in [-1, 1]):
    /// input = (output - shift) / scale, x negated when mirrored (a flip maps pixel centres onto
    /// pixel centres, so it resamples nothing).
    static func grid(_ changes: [ClipChange], height: Int, width: Int) -> [Float] {
        var grid: [Float] = []
        grid.reserveCapacity(changes.count * height * width * 2)
        for c in changes {
            let m = c.mirrored ? -1.0 : 1.0
            for i in 0..<height {
                let y = (Double(2 * i + 1) / Double(height) - 1 - 2 * c.dy) / c.scale
                for j in 0..<width {
                    let x = (Double(2 * j + 1) / Double(width) - 1 - 2 * c.dx) / c.scale
                    grid.append(Float(m * x)); grid.append(Float(y))
                }
            }
        }
        return grid
    }
}

/// Builds augmented training batches: holds each training video's labels with mirrored colours
/// (made once, where the videos are) and applies the clips' changes with one grid sample per tensor.
struct ClipAugmenter {
    let augmentation: Augmentation
    /// Per training video, its labels with left and right colours swapped (empty without flips).
    let mirroredLabels: [Tensor]

    init(_ augmentation: Augmentation, data: TrainingData) throws {
        self.augmentation = augmentation
        mirroredLabels = augmentation.flip > 0 ? try data.train.map { video in
            let mirrored = PoseLabel.mirroredColours(try video.labels.to(.cpu).contiguous().floats(), height: video.height, width: video.width)
            return try Tensor(mirrored, shape: video.labels.shape).to(video.labels.device)
        } : []
    }

    /// A batch (B, T, 3, H, W) of frames and labels for the windows, each clip changed.
    func batch(_ windows: [FrameWindow], changes: [Augmentation.ClipChange], data: TrainingData, length: Int) throws -> (frames: Tensor, labels: Tensor) {
        let (frames, labels) = try data.batch(windows, length: length) { changes[$0].mirrored ? mirroredLabels[windows[$0].video] : nil }
        return (try changeFrames(frames, changes), try move(labels, changes))
    }

    /// Frames (B, 3, H, W) or (B, T, 3, H, W): moved, then their colours changed.
    func changeFrames(_ x: Tensor, _ changes: [Augmentation.ClipChange]) throws -> Tensor {
        let moved = try move(x, changes)
        guard augmentation.jitter > 0 else { return moved }
        let perClip = [changes.count] + Array(repeating: 1, count: x.rank - 1)
        func values(_ f: (Augmentation.ClipChange) -> Double) throws -> Tensor {
            try Tensor(changes.map { Float(f($0)) }, shape: perClip).to(x.device)
        }
        let grey = try moved.mean(dims: [x.rank - 3], keepDims: true)
        let saturated = try grey + (moved - grey) * values(\.saturation)
        return try ((saturated - 0.5) * values(\.contrast) + 0.5 + values(\.brightness)).clamped(0, 1)
    }

    /// Moves (B, ..., H, W) images by each clip's mirror, zoom and shift.
    func move(_ x: Tensor, _ changes: [Augmentation.ClipChange]) throws -> Tensor {
        guard augmentation.moves else { return x }
        let s = x.shape, (height, width) = (s[s.count - 2], s[s.count - 1])
        let grid = try Tensor(Augmentation.grid(changes, height: height, width: width), shape: [s[0], height, width, 2]).to(x.device)
        let planes = try x.reshaped([s[0], s.dropFirst().dropLast(2).reduce(1, *), height, width])
        return try Functional.gridSample(planes, grid: grid, padding: .border).reshaped(s)
    }
}
