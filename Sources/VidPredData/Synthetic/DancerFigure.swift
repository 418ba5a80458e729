import Foundation

/// Everything that differs between clips: the dancer's clothes and build, the dance's tempo and
/// amplitude, and the room's colours.
struct ClipStyle: Sendable {
    var skin: SIMD3<Double>
    var hair: SIMD3<Double>
    var shirt: SIMD3<Double>
    var pants: SIMD3<Double>
    var shoes: SIMD3<Double>
    var longSleeves: Bool
    var height: Double          // figure height as a fraction of the image height at mid depth
    var build: Double           // shoulder / limb thickness factor
    var tempo: Double           // beats per second
    var amplitude: Double       // how big the moves are
    var wall: SIMD3<Double>
    var floor: SIMD3<Double>
    var horizon: Double         // where wall meets floor, fraction of the image height
    var panelWidth: Double      // wall panel spacing, fraction of the width
    var light: Double           // horizontal position of the spotlight, fraction of the width

    init(random r: inout SplitMix64) {
        let skins: [SIMD3<Double>] = [[0.96, 0.80, 0.69], [0.87, 0.68, 0.53], [0.70, 0.50, 0.36], [0.48, 0.33, 0.23], [0.33, 0.22, 0.15]]
        let hairs: [SIMD3<Double>] = [[0.08, 0.06, 0.05], [0.25, 0.15, 0.08], [0.55, 0.40, 0.20], [0.85, 0.75, 0.50], [0.55, 0.12, 0.08]]
        let clothes: [SIMD3<Double>] = [
            [0.80, 0.12, 0.12], [0.12, 0.30, 0.75], [0.10, 0.55, 0.25], [0.95, 0.80, 0.15], [0.90, 0.90, 0.88],
            [0.12, 0.12, 0.14], [0.55, 0.20, 0.60], [0.95, 0.50, 0.10], [0.30, 0.45, 0.55], [0.85, 0.40, 0.55],
            [0.35, 0.60, 0.85], [0.45, 0.35, 0.25],
        ]
        let pantsColours: [SIMD3<Double>] = [[0.10, 0.12, 0.25], [0.15, 0.15, 0.16], [0.35, 0.40, 0.55], [0.60, 0.52, 0.38], [0.30, 0.20, 0.15], [0.85, 0.85, 0.82]]
        skin = skins[r.below(skins.count)]
        hair = hairs[r.below(hairs.count)]
        shirt = clothes[r.below(clothes.count)]
        pants = pantsColours[r.below(pantsColours.count)]
        shoes = r.unit() < 0.5 ? SIMD3(0.1, 0.1, 0.1) : SIMD3(0.92, 0.92, 0.9)
        longSleeves = r.unit() < 0.5
        height = r.uniform(0.62, 0.78)
        build = r.uniform(0.85, 1.2)
        tempo = r.uniform(0.55, 1.25)
        amplitude = r.uniform(0.65, 1.15)
        let walls: [SIMD3<Double>] = [[0.80, 0.80, 0.80], [0.84, 0.80, 0.72], [0.70, 0.76, 0.82], [0.78, 0.84, 0.76], [0.62, 0.62, 0.66]]
        let floors: [SIMD3<Double>] = [[0.55, 0.40, 0.26], [0.66, 0.52, 0.36], [0.50, 0.50, 0.52], [0.72, 0.72, 0.70], [0.40, 0.30, 0.22]]
        wall = walls[r.below(walls.count)] * r.uniform(0.92, 1.05)
        floor = floors[r.below(floors.count)] * r.uniform(0.92, 1.05)
        horizon = r.uniform(0.5, 0.62)
        panelWidth = r.uniform(0.12, 0.25)
        light = r.uniform(0.3, 0.7)
    }
}

/// The dancer's skeleton in 3-D (body units: 1 = standing height) and its projection to the image.
///
/// Body frame: x = the dancer's left, y = up, z = forwards. The camera looks along -z, so at yaw 0
/// the dancer faces it and their left appears on the image's right. Angles come from an
/// `Articulation`; forward kinematics gives every joint, then the whole body is turned by the
/// yaw, put on the floor (the lowest foot touches it, plus the jump height) and projected
/// orthographically at a scale that grows as the dancer comes closer.
struct DancerFigure {
    // Segment lengths and radii (body units).
    static let spine = 0.30, neckLength = 0.085, headRadius = 0.062
    static let shoulderHalf = 0.1, hipHalf = 0.06
    static let upperArm = 0.155, forearm = 0.15, thigh = 0.235, shin = 0.235, foot = 0.07

    /// Joints in world space (after yaw and placement), body units, y up.
    struct Joints {
        var pelvis = SIMD3<Double>.zero, neck = SIMD3<Double>.zero, head = SIMD3<Double>.zero
        var shoulders = [SIMD3<Double>](repeating: .zero, count: 2)   // [right, left]
        var elbows = [SIMD3<Double>](repeating: .zero, count: 2)
        var wrists = [SIMD3<Double>](repeating: .zero, count: 2)
        var hands = [SIMD3<Double>](repeating: .zero, count: 2)
        var hips = [SIMD3<Double>](repeating: .zero, count: 2)
        var knees = [SIMD3<Double>](repeating: .zero, count: 2)
        var ankles = [SIMD3<Double>](repeating: .zero, count: 2)
        var toes = [SIMD3<Double>](repeating: .zero, count: 2)
        var nose = SIMD3<Double>.zero
        var eyes = [SIMD3<Double>](repeating: .zero, count: 2)
        var ears = [SIMD3<Double>](repeating: .zero, count: 2)
        /// The face's forward direction (world).
        var facing = SIMD3<Double>(0, 0, 1)
    }

    static func joints(_ a: Articulation, yaw: Double) -> Joints {
        var j = Joints()
        let sides: [Double] = [-1, 1]   // right, left
        // Upper body: rolled (lean), pitched (bend) and twisted around the pelvis.
        let upper = { (v: SIMD3<Double>) -> SIMD3<Double> in
            rotateY(rotateZ(rotateX(v, a.bend), -a.lean), a.twist)
        }
        j.neck = upper(SIMD3(0, spine, 0))
        j.head = j.neck + upper(rotateZ(SIMD3(0, neckLength + headRadius * 0.9, 0), -a.headTilt))
        for s in 0..<2 {
            let side = sides[s]
            j.shoulders[s] = j.neck + upper(SIMD3(side * shoulderHalf, -0.025, 0))
            let arm = s == 0 ? a.rightArm : a.leftArm
            let upperDirection = upper(limbDirection(side: side, abduction: arm.abduction, flexion: arm.flexion))
            let lowerDirection = upper(limbDirection(side: side, abduction: arm.abduction + arm.bendOut, flexion: arm.flexion + arm.bendForward))
            j.elbows[s] = j.shoulders[s] + upperDirection * upperArm
            j.wrists[s] = j.elbows[s] + lowerDirection * forearm
            j.hands[s] = j.wrists[s] + lowerDirection * 0.04

            j.hips[s] = SIMD3(side * hipHalf, 0, 0)
            let leg = s == 0 ? a.rightLeg : a.leftLeg
            let thighDirection = limbDirection(side: side, abduction: leg.abduction, flexion: leg.flexion)
            let shinDirection = limbDirection(side: side, abduction: leg.abduction, flexion: leg.flexion + leg.bendForward)
            j.knees[s] = j.hips[s] + thighDirection * thigh
            j.ankles[s] = j.knees[s] + shinDirection * shin
            // The foot points forwards, a little outwards, and stays roughly level.
            j.toes[s] = j.ankles[s] + SIMD3(side * 0.015, -0.02, foot)
        }
        let forward = upper(SIMD3(0, 0, 1))
        let right = upper(SIMD3(-1, 0, 0))
        let up = upper(rotateZ(SIMD3(0, 1, 0), -a.headTilt))
        let r = headRadius
        j.facing = forward
        j.nose = j.head + forward * (0.95 * r) - up * (0.15 * r)
        for s in 0..<2 {
            let outward = right * (s == 0 ? 1 : -1)
            j.eyes[s] = j.head + forward * (0.78 * r) + outward * (0.36 * r) + up * (0.18 * r)
            j.ears[s] = j.head + outward * (0.97 * r) - forward * (0.1 * r)
        }
        // Turn the whole body, then stand it on the floor.
        j.apply { rotateY($0, yaw) }
        j.facing = rotateY(j.facing, yaw)
        let lowest = min(j.ankles[0].y - 0.03, j.ankles[1].y - 0.03, j.toes[0].y - 0.015, j.toes[1].y - 0.015)
        let lift = SIMD3<Double>(0, a.jump - lowest, 0)
        j.apply { $0 + lift }
        return j
    }

    /// A limb hanging down, raised `abduction` sideways then `flexion` forwards.
    static func limbDirection(side: Double, abduction: Double, flexion: Double) -> SIMD3<Double> {
        rotateX(SIMD3(side * sin(abduction), -cos(abduction), 0), flexion)
    }

    /// Rotation about x taking -y towards +z (forwards) for positive angles.
    static func rotateX(_ v: SIMD3<Double>, _ angle: Double) -> SIMD3<Double> {
        let c = cos(angle), s = sin(angle)
        return SIMD3(v.x, v.y * c + v.z * s, -v.y * s + v.z * c)
    }

    /// Rotation about z (roll), positive = counter-clockwise seen from the camera.
    static func rotateZ(_ v: SIMD3<Double>, _ angle: Double) -> SIMD3<Double> {
        let c = cos(angle), s = sin(angle)
        return SIMD3(v.x * c - v.y * s, v.x * s + v.y * c, v.z)
    }

    /// Rotation about the vertical axis: positive turns the dancer's front (+z) towards +x.
    static func rotateY(_ v: SIMD3<Double>, _ angle: Double) -> SIMD3<Double> {
        let c = cos(angle), s = sin(angle)
        return SIMD3(v.x * c + v.z * s, v.y, -v.x * s + v.z * c)
    }
}

extension DancerFigure.Joints {
    mutating func apply(_ f: (SIMD3<Double>) -> SIMD3<Double>) {
        pelvis = f(pelvis); neck = f(neck); head = f(head); nose = f(nose)
        for s in 0..<2 {
            shoulders[s] = f(shoulders[s]); elbows[s] = f(elbows[s]); wrists[s] = f(wrists[s]); hands[s] = f(hands[s])
            hips[s] = f(hips[s]); knees[s] = f(knees[s]); ankles[s] = f(ankles[s]); toes[s] = f(toes[s])
            eyes[s] = f(eyes[s]); ears[s] = f(ears[s])
        }
    }
}

/// Maps world points (body units) to image pixels for one frame: the feet's floor position and
/// the scale depend on the dancer's depth in the room.
struct Projection {
    var originX: Double     // pixel x of the body's x = 0
    var floorY: Double      // pixel y of the floor under the dancer
    var scale: Double       // pixels per body unit

    init(x: Double, depth: Double, style: ClipStyle, width: Int, height: Int) {
        let h = Double(height)
        let floorTop = style.horizon * h
        floorY = floorTop + (h * 0.97 - floorTop) * (0.3 + 0.6 * depth)
        scale = h * style.height * (0.85 + 0.3 * depth)
        originX = x * Double(width)
    }

    func point(_ p: SIMD3<Double>) -> SIMD2<Double> {
        SIMD2(originX + p.x * scale, floorY - p.y * scale)
    }
}
