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

    /// The BODY_25 points of the next frame, in its pixels; nil when it shows no person.
    public func next(_ frame: RGBImage) throws -> [Keypoint]? {
        let image = try Tensor(frame.pixels, shape: [3, frame.height, frame.width])
        guard let found = try pose.estimate(image) else {
            filters = []
            return nil
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
