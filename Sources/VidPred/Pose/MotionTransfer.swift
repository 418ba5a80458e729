import Foundation

/// Everybody Dance Now's pose normalisation, for making one dancer perform another's moves: the
/// source skeleton is scaled by the ratio of the two dancers' body heights (neck to mid-ankle)
/// and moved so that its feet stand where the target's stand. The source's height is the median
/// over its frames, so one odd frame does not change the whole dance. Its feet are those of its
/// first frame that shows both ankles: VidPred generates from a given frame of the target, so the
/// dance must start where the target stands in it (aligned on the median feet instead, a dancer
/// who walks across the stage started half a stage away from the given frame's dancer, and the
/// model kept the dancer where the given frame had them).
public enum MotionTransfer {
    public struct Fit: Sendable, Equatable {
        public var scale: Double
        /// The source's feet (mid-ankle, first frame that shows them) and where they go (the target's mid-ankle).
        public var sourceFeet: (x: Double, y: Double)
        public var targetFeet: (x: Double, y: Double)

        public static func == (a: Fit, b: Fit) -> Bool {
            a.scale == b.scale && a.sourceFeet == b.sourceFeet && a.targetFeet == b.targetFeet
        }

        public func apply(_ p: Keypoint) -> Keypoint {
            guard p.confidence > 0 else { return p }
            return Keypoint(x: (p.x - sourceFeet.x) * scale + targetFeet.x, y: (p.y - sourceFeet.y) * scale + targetFeet.y, confidence: p.confidence)
        }
    }

    /// The fit of `source` (BODY_25 points per frame, nil without a person) to `target`; nil when
    /// either never shows a neck and both ankles.
    public static func fit(source: [[Keypoint]?], target: [Keypoint]) -> Fit? {
        guard let targetHeight = Body25.bodyHeight(target), let targetFeet = feet(target) else { return nil }
        let heights = source.compactMap { $0.flatMap(Body25.bodyHeight) }.sorted()
        guard !heights.isEmpty, heights[heights.count / 2] > 0, let sourceFeet = source.lazy.compactMap({ $0.flatMap(feet) }).first else { return nil }
        return Fit(scale: targetHeight / heights[heights.count / 2], sourceFeet: sourceFeet, targetFeet: targetFeet)
    }

    /// The middle of the ankles.
    static func feet(_ points: [Keypoint]) -> (x: Double, y: Double)? {
        let (right, left) = (points[11], points[14])
        guard right.confidence > 0, left.confidence > 0 else { return nil }
        return ((right.x + left.x) / 2, (right.y + left.y) / 2)
    }
}
