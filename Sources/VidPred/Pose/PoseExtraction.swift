import Foundation
import Torch
import VidPredData

/// The poses of a sequence of frames (a video, or a folder of images in order): BlazePose tracked
/// from frame to frame, mapped to BODY_25 and smoothed over time with MediaPipe's landmark filter
/// (a One Euro filter: little smoothing when a point moves fast, more when it is nearly still, so
/// jitter goes without lag). Frames without a person give nil, and restart the filter.
public final class PoseExtraction {
    public struct Options: Sendable {
        /// Frames per second of the input (the filter's time step).
        public var framesPerSecond = 30.0
        public var smoothing = true
        public var minimumVisibility = 0.5
        public init() {}
    }

    let pose: BlazePose
    let options: Options
    private var filters: [OneEuroFilter] = []

    public init(models: URL, options: Options = Options()) throws {
        pose = try BlazePose(models: models)
        self.options = options
    }

    /// The hands of the last frame with a person: for the person's right and left hand, the wrist,
    /// thumb, index and pinky tips BlazePose gives (missing when not visible), in its pixels.
    public private(set) var hands: [[Keypoint]] = []

    /// The BODY_25 points of the next frame, in its pixels; nil when it shows no person.
    public func next(_ frame: RGBImage) throws -> [Keypoint]? {
        let image = try Tensor(frame.pixels, shape: [3, frame.height, frame.width])
        guard let found = try pose.estimate(image) else {
            filters = []
            hands = []
            return nil
        }
        hands = [[16, 22, 20, 18], [15, 21, 19, 17]].map { side in
            side.map { found.landmarks[$0].confidence >= options.minimumVisibility ? found.landmarks[$0] : .missing }
        }
        var points = Body25.fromBlazePose(found.landmarks, minimumVisibility: options.minimumVisibility)
        guard options.smoothing else { return points }
        if filters.count != 2 * points.count { filters = Array(repeating: OneEuroFilter(), count: 2 * points.count) }
        // In units of the person's size, as MediaPipe filters normalised landmarks.
        let scale = max(found.region.size, 1), dt = 1 / options.framesPerSecond
        for i in points.indices where points[i].confidence > 0 {
            points[i].x = filters[2 * i].filter(points[i].x / scale, dt: dt) * scale
            points[i].y = filters[2 * i + 1].filter(points[i].y / scale, dt: dt) * scale
        }
        return points
    }

    /// Starts a new sequence (tracking and smoothing forget the previous one).
    public func reset() {
        pose.reset()
        filters = []
    }
}

/// The One Euro filter (Casiez et al. 2012) with MediaPipe's pose-landmark settings: cutoff
/// 0.05 Hz when still, rising by 80 per unit of speed; the speed itself low-passed at 1 Hz.
struct OneEuroFilter {
    var minimumCutoff = 0.05, beta = 80.0, derivativeCutoff = 1.0
    private var value: Double?
    private var derivative = 0.0

    mutating func filter(_ x: Double, dt: Double) -> Double {
        guard let previous = value else { value = x; return x }
        func alpha(_ cutoff: Double) -> Double { 1 / (1 + 1 / (2 * Double.pi * cutoff * dt)) }
        derivative += alpha(derivativeCutoff) * ((x - previous) / dt - derivative)
        let smoothed = previous + alpha(minimumCutoff + beta * abs(derivative)) * (x - previous)
        value = smoothed
        return smoothed
    }
}

/// Pose labels for a whole input: what `vidpred poses` and `make-data video` without `--labels` do.
public enum PoseLabels {
    public struct Summary: Sendable {
        public var frames: Int
        /// Names of the frames without a person (blank labels, no people in their JSON).
        public var missing: [String]
        public var seconds: Double
    }

    /// For every frame of `input` (a video or a folder of PNGs), in order: `NAME.png`, the label at
    /// `size` (default: the frame's), and with `json` `NAME_keypoints.json`, each written atomically.
    /// `onFrame` gets the count so far.
    public static func extract(from input: URL, into folder: URL, size: (width: Int, height: Int)?, json: Bool,
                               models: URL, options: PoseExtraction.Options, framesPerSecond: Double? = nil,
                               onFrame: (Int, Int?, Int) -> Void = { _, _, _ in }) throws -> Summary {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let extraction = try PoseExtraction(models: models, options: options)
        let frames = try FrameStream(input, framesPerSecond: framesPerSecond)
        let start = Date()
        var count = 0, missing: [String] = []
        while let (name, frame) = try frames.next() {
            let points = try extraction.next(frame)
            if points == nil { missing.append(name) }
            let (w, h) = size ?? (frame.width, frame.height)
            let label = PoseLabel.label(points, hands: extraction.hands, sourceWidth: frame.width, sourceHeight: frame.height, width: w, height: h)
            try AtomicFile.write(try PNG.encode(label), to: folder.appendingPathComponent("\(name).png"))
            if json { try AtomicFile.write(try Body25.openPoseJSON(points.map { [$0] } ?? []), to: folder.appendingPathComponent("\(name)_keypoints.json")) }
            count += 1
            onFrame(count, frames.total, missing.count)
        }
        return Summary(frames: count, missing: missing, seconds: Date().timeIntervalSince(start))
    }
}
