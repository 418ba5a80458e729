import Foundation

/// OpenPose's BODY_25 skeleton, the one the lab's labels (and Everybody Dance Now's) are drawn from:
/// its points, its limbs, and how BlazePose's 33 landmarks map onto it.
public enum Body25 {
    public static let names = ["Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "MidHip", "RHip",
                               "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar", "LBigToe",
                               "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel"]

    /// OpenPose's limbs in its drawing order (pairs of point indices).
    public static let limbs: [(Int, Int)] = [(1, 8), (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (8, 9), (9, 10), (10, 11), (8, 12),
                                             (12, 13), (13, 14), (1, 0), (0, 15), (15, 17), (0, 16), (16, 18), (14, 19), (19, 20), (14, 21),
                                             (11, 22), (22, 23), (11, 24)]

    /// Each point's mirror image: the same point on the body's other side (left and right swapped),
    /// the centre line's points themselves.
    public static let mirrored: [Int] = [0, 1, 5, 6, 7, 2, 3, 4, 8, 12, 13, 14, 9, 10, 11, 16, 15, 18, 17, 22, 23, 24, 19, 20, 21]

    /// The BlazePose landmarks whose mean is each BODY_25 point ("right" is the person's right in
    /// both). BlazePose has no small toes: those two points stay missing.
    static let blazePoseSources: [[Int]] = [[0], [11, 12], [12], [14], [16], [11], [13], [15], [23, 24], [24], [26], [28], [23], [25],
                                            [27], [5], [2], [8], [7], [31], [], [29], [32], [], [30]]

    /// BODY_25 points from BlazePose's landmarks; a point whose landmarks are less visible than
    /// `minimumVisibility` is missing (confidence 0), as OpenPose reports a point it did not find.
    public static func fromBlazePose(_ landmarks: [Keypoint], minimumVisibility: Double = 0.5) -> [Keypoint] {
        let points = blazePoseSources.map { sources -> Keypoint in
            guard !sources.isEmpty, sources.allSatisfy({ $0 < landmarks.count }) else { return .missing }
            let points = sources.map { landmarks[$0] }
            let confidence = points.map(\.confidence).min() ?? 0
            guard confidence >= minimumVisibility else { return .missing }
            let n = Double(points.count)
            return Keypoint(x: points.map(\.x).reduce(0, +) / n, y: points.map(\.y).reduce(0, +) / n, confidence: confidence)
        }
        return points
    }


    /// Body height in pixels: neck to the middle of the ankles (nil when one is missing).
    public static func bodyHeight(_ points: [Keypoint]) -> Double? {
        let (neck, right, left) = (points[1], points[11], points[14])
        guard neck.confidence > 0, right.confidence > 0, left.confidence > 0 else { return nil }
        let (x, y) = ((right.x + left.x) / 2, (right.y + left.y) / 2)
        return ((neck.x - x) * (neck.x - x) + (neck.y - y) * (neck.y - y)).squareRoot()
    }

    /// OpenPose's JSON for one frame (`NAME_keypoints.json`): `people[].pose_keypoints_2d`, 25 x
    /// (x, y, confidence) in input pixels, 0 0 0 for a missing point; no people when none was found.
    public static func openPoseJSON(_ people: [[Keypoint]]) throws -> Data {
        let entries: [[String: Any]] = people.map { points in
            ["person_id": [-1], "pose_keypoints_2d": points.flatMap { [$0.x, $0.y, $0.confidence] },
             "face_keypoints_2d": [Double](), "hand_left_keypoints_2d": [Double](), "hand_right_keypoints_2d": [Double](),
             "pose_keypoints_3d": [Double](), "face_keypoints_3d": [Double](), "hand_left_keypoints_3d": [Double](),
             "hand_right_keypoints_3d": [Double]()]
        }
        return try JSONSerialization.data(withJSONObject: ["version": 1.3, "people": entries], options: [.sortedKeys])
    }

    /// Reads OpenPose's JSON back (the first person's points; nil when it holds no people).
    public static func readOpenPoseJSON(_ data: Data, name: String) throws -> [Keypoint]? {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let people = object["people"] as? [[String: Any]] else {
            throw ConfigError("\(name) is not OpenPose JSON (an object with a people list)")
        }
        guard let first = people.first else { return nil }
        guard let values = first["pose_keypoints_2d"] as? [Double], values.count == 75 else {
            throw ConfigError("\(name): pose_keypoints_2d must hold 25 x (x, y, confidence) = 75 numbers")
        }
        return (0..<25).map { Keypoint(x: values[3 * $0], y: values[3 * $0 + 1], confidence: values[3 * $0 + 2]) }
    }
}
