/// The 18 body keypoints of OpenPose's COCO model, in OpenPose's order (the order of its output
/// arrays and of the label colours).
public enum BodyKeypoint: Int, CaseIterable, Sendable {
    case nose, neck
    case rightShoulder, rightElbow, rightWrist
    case leftShoulder, leftElbow, leftWrist
    case rightHip, rightKnee, rightAnkle
    case leftHip, leftKnee, leftAnkle
    case rightEye, leftEye, rightEar, leftEar
}

/// Where the dancer's keypoints are in one frame, in output-image pixel coordinates: x to the
/// right, y down, pixel (i, j) covering [i, i+1) x [j, j+1). "Right" is the dancer's right (on
/// the image's left when they face the camera), as in OpenPose.
public struct DancePose: Sendable, Equatable {
    public var points: [SIMD2<Double>]
    /// Face keypoints turned away from the camera are not visible (and not drawn in the label),
    /// as OpenPose does not detect them either.
    public var visible: [Bool]

    public subscript(_ keypoint: BodyKeypoint) -> SIMD2<Double> { points[keypoint.rawValue] }
    public func isVisible(_ keypoint: BodyKeypoint) -> Bool { visible[keypoint.rawValue] }

    /// The pixel that contains a keypoint, or nil when it is outside the image.
    public func pixel(_ keypoint: BodyKeypoint, width: Int, height: Int) -> (x: Int, y: Int)? {
        let p = self[keypoint]
        let x = Int(p.x.rounded(.down)), y = Int(p.y.rounded(.down))
        return (0..<width).contains(x) && (0..<height).contains(y) ? (x, y) : nil
    }
}

/// OpenPose's drawing conventions for the COCO-18 model (its `draw_bodypose` / util.py): the 17
/// limbs drawn (pairs of keypoints; the two ear-shoulder pairs of the model are not drawn) and the
/// 18 colours, used for joint i and for limb i.
enum OpenPoseStyle {
    static let limbs: [(BodyKeypoint, BodyKeypoint)] = [
        (.neck, .rightShoulder), (.neck, .leftShoulder),
        (.rightShoulder, .rightElbow), (.rightElbow, .rightWrist),
        (.leftShoulder, .leftElbow), (.leftElbow, .leftWrist),
        (.neck, .rightHip), (.rightHip, .rightKnee), (.rightKnee, .rightAnkle),
        (.neck, .leftHip), (.leftHip, .leftKnee), (.leftKnee, .leftAnkle),
        (.neck, .nose), (.nose, .rightEye), (.rightEye, .rightEar), (.nose, .leftEye), (.leftEye, .leftEar),
    ]

    static let colours: [SIMD3<Double>] = [
        [255, 0, 0], [255, 85, 0], [255, 170, 0], [255, 255, 0], [170, 255, 0], [85, 255, 0],
        [0, 255, 0], [0, 255, 85], [0, 255, 170], [0, 255, 255], [0, 170, 255], [0, 85, 255],
        [0, 0, 255], [85, 0, 255], [170, 0, 255], [255, 0, 255], [255, 0, 170], [255, 0, 85],
    ].map { SIMD3<Double>($0[0], $0[1], $0[2]) / 255 }
}
