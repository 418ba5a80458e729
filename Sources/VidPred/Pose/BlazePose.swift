import Foundation
import Torch

/// A point of a pose in image pixels, with a confidence in [0, 1] (0: not found).
public struct Keypoint: Sendable, Equatable, Codable {
    public var x: Double
    public var y: Double
    public var confidence: Double

    public init(x: Double, y: Double, confidence: Double) { self.x = x; self.y = y; self.confidence = confidence }
    public static let missing = Keypoint(x: 0, y: 0, confidence: 0)
}

/// MediaPipe's BlazePose on libtorch: a detector finds the person in a letterboxed 224x224 view and
/// gives two alignment points (hip centre and a point a body-half away); the landmark model then
/// reads a rotated square crop around them at 256x256 and gives 33 body landmarks plus two that
/// place the next frame's crop, so a video is tracked from frame to frame and the detector runs
/// again only when the landmark model's pose flag says the person was lost. The constants are those
/// of MediaPipe's pose graphs (pose_detection_cpu, pose_landmark_by_roi_cpu).
public final class BlazePose {
    /// A rotated square region of the image, in pixels.
    public struct Region: Sendable, Equatable {
        public var centerX: Double, centerY: Double, size: Double
        /// Radians; the person's hip-to-shoulder direction is upright in the crop.
        public var rotation: Double
    }

    public struct Pose: Sendable {
        /// MediaPipe's 33 body landmarks in image pixels; confidence is the landmark's visibility.
        public var landmarks: [Keypoint]
        /// The landmark model's pose flag (probability that a person is in the region).
        public var presence: Double
        /// The region the landmarks were read from.
        public var region: Region
    }

    public static let detectorFile = "pose_detection.tflite"
    public static let landmarkFile = "pose_landmark_full.tflite"
    static let detectorSize = 224, landmarkSize = 256
    static let minimumDetectionScore = 0.5, minimumPresence = 0.5

    let detector: TFLiteGraph
    let landmarker: TFLiteGraph
    /// SSD anchor centres, normalised: 28x28 and 14x14 maps with 2 anchors per cell, one 7x7 map
    /// with 6 (strides 8, 16, 32, 32, 32; fixed anchor size 1).
    let anchors: [(x: Double, y: Double)]
    private var tracked: Region?

    /// Loads the two models from `folder` (scripts/setup.sh puts them in .deps/models).
    public init(models folder: URL) throws {
        for name in [Self.detectorFile, Self.landmarkFile] where !FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path) {
            throw ConfigError("the pose model \(folder.appendingPathComponent(name).path) is missing: run scripts/setup.sh, which extracts it from mediapipe's wheel on PyPI")
        }
        detector = try TFLiteGraph(contentsOf: folder.appendingPathComponent(Self.detectorFile))
        landmarker = try TFLiteGraph(contentsOf: folder.appendingPathComponent(Self.landmarkFile))
        var anchors: [(Double, Double)] = []
        for (cells, perCell) in [(28, 2), (14, 2), (7, 6)] {
            for y in 0..<cells {
                for x in 0..<cells {
                    for _ in 0..<perCell { anchors.append(((Double(x) + 0.5) / Double(cells), (Double(y) + 0.5) / Double(cells))) }
                }
            }
        }
        self.anchors = anchors
    }

    /// Forgets the tracked region (the next frame is detected afresh): call between videos.
    public func reset() { tracked = nil }

    /// The pose in `image` (3, H, W), RGB in [0, 1]; nil when no person is found. With `track`,
    /// the region comes from the previous frame's landmarks when it had a person.
    public func estimate(_ image: Tensor, track: Bool = true) throws -> Pose? {
        let (height, width) = (image.shape[1], image.shape[2])
        if !track { tracked = nil }
        let fromTracking = tracked != nil
        let region: Region
        if let previous = tracked {
            region = previous
        } else {
            guard let found = try detect(image, width: width, height: height) else { return nil }
            region = found
        }
        let crop = try sample(image, grid: Self.regionGrid(region, size: Self.landmarkSize, width: width, height: height))
        let outputs = try landmarker([try crop.permuted([0, 2, 3, 1]).contiguous()])
        let values = try outputs[0].floats().map(Double.init), presence = Double(try outputs[1].floats()[0])
        guard presence >= Self.minimumPresence else {
            tracked = nil
            // Lost while tracking: detect again in this very frame.
            return fromTracking ? try estimate(image, track: false) : nil
        }
        let points = (0..<39).map { i -> Keypoint in
            let (x, y) = Self.toImage(values[5 * i] / Double(Self.landmarkSize), values[5 * i + 1] / Double(Self.landmarkSize), region)
            return Keypoint(x: x, y: y, confidence: Self.sigmoid(values[5 * i + 3]))
        }
        tracked = Self.region(center: points[33], scalePoint: points[34])
        return Pose(landmarks: Array(points.prefix(33)), presence: presence, region: region)
    }

    /// The detector's best person, as the landmark model's region.
    private func detect(_ image: Tensor, width: Int, height: Int) throws -> Region? {
        let size = Double(Self.detectorSize)
        let scale = size / Double(max(width, height))
        let padX = (size - Double(width) * scale) / 2, padY = (size - Double(height) * scale) / 2
        // Letterbox: output pixel (u, v) shows image point ((u + 0.5 - padX) / scale, ...).
        var grid: [Float] = []
        grid.reserveCapacity(Self.detectorSize * Self.detectorSize * 2)
        for v in 0..<Self.detectorSize {
            for u in 0..<Self.detectorSize {
                grid.append(Float((Double(u) + 0.5 - padX) / scale / Double(width) * 2 - 1))
                grid.append(Float((Double(v) + 0.5 - padY) / scale / Double(height) * 2 - 1))
            }
        }
        let view = try sample(image * 2 - 1, grid: Tensor(grid, shape: [1, Self.detectorSize, Self.detectorSize, 2]))  // [-1, 1]; 0 outside
        let outputs = try detector([try view.permuted([0, 2, 3, 1]).contiguous()])
        let boxes = try outputs[0].floats(), scores = try outputs[1].floats()
        guard let best = scores.indices.max(by: { scores[$0] < scores[$1] }),
              Self.sigmoid(Double(min(max(scores[best], -100), 100))) >= Self.minimumDetectionScore else { return nil }
        func point(_ k: Int) -> Keypoint {
            let raw = 12 * best + 4 + 2 * k
            let x = (Double(boxes[raw]) / size + anchors[best].x) * size, y = (Double(boxes[raw + 1]) / size + anchors[best].y) * size
            return Keypoint(x: (x - padX) / scale, y: (y - padY) / scale, confidence: 1)
        }
        return Self.region(center: point(0), scalePoint: point(1))
    }

    /// MediaPipe's alignment: centred on the first point, a square twice the distance to the
    /// second, enlarged 1.25 times, rotated so that the second point is straight above the first.
    static func region(center: Keypoint, scalePoint: Keypoint) -> Region {
        let dx = scalePoint.x - center.x, dy = scalePoint.y - center.y
        var rotation = Double.pi / 2 - atan2(-dy, dx)
        rotation -= 2 * Double.pi * ((rotation + Double.pi) / (2 * Double.pi)).rounded(.down)
        return Region(centerX: center.x, centerY: center.y, size: 2 * (dx * dx + dy * dy).squareRoot() * 1.25, rotation: rotation)
    }

    /// A point of the region's crop, normalised to [0, 1], in image pixels.
    static func toImage(_ nx: Double, _ ny: Double, _ r: Region) -> (Double, Double) {
        let (x, y) = ((nx - 0.5) * r.size, (ny - 0.5) * r.size)
        return (r.centerX + x * cos(r.rotation) - y * sin(r.rotation), r.centerY + x * sin(r.rotation) + y * cos(r.rotation))
    }

    /// grid_sample's grid for a size x size crop of the region.
    static func regionGrid(_ r: Region, size: Int, width: Int, height: Int) throws -> Tensor {
        var grid: [Float] = []
        grid.reserveCapacity(size * size * 2)
        // toImage for every crop pixel, its rotation computed once (a cos and a sin per pixel cost
        // 2% of the extraction).
        let (c, s) = (cos(r.rotation) * r.size / Double(size), sin(r.rotation) * r.size / Double(size))
        let middle = Double(size) / 2
        for v in 0..<size {
            let dy = Double(v) + 0.5 - middle
            for u in 0..<size {
                let dx = Double(u) + 0.5 - middle
                grid.append(Float((r.centerX + dx * c - dy * s) / Double(width) * 2 - 1))
                grid.append(Float((r.centerY + dx * s + dy * c) / Double(height) * 2 - 1))
            }
        }
        return try Tensor(grid, shape: [1, size, size, 2])
    }

    private func sample(_ image: Tensor, grid: Tensor) throws -> Tensor {
        try Functional.gridSample(image.unsqueezed(0), grid: grid)
    }

    static func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
}
