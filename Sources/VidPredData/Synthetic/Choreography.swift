import Foundation

/// Angles of one arm or leg (radians). The upper segment hangs straight down at zero; `abduction`
/// raises it sideways, `flexion` forwards. The lower segment (forearm, shin) adds its own bend:
/// `bendOut` sideways (waving), `bendForward` forwards (elbow) or backwards (knee, negative).
struct LimbAngles: Sendable {
    var abduction = 0.0
    var flexion = 0.0
    var bendOut = 0.0
    var bendForward = 0.0

    static func mix(_ a: LimbAngles, _ b: LimbAngles, _ t: Double) -> LimbAngles {
        LimbAngles(abduction: a.abduction + (b.abduction - a.abduction) * t, flexion: a.flexion + (b.flexion - a.flexion) * t,
                   bendOut: a.bendOut + (b.bendOut - a.bendOut) * t, bendForward: a.bendForward + (b.bendForward - a.bendForward) * t)
    }
}

/// The articulation of the body at one instant (everything but where it stands and faces).
struct Articulation: Sendable {
    var jump = 0.0        // feet above the floor, body units (1 = body height)
    var lean = 0.0        // torso roll, + towards the dancer's left
    var bend = 0.0        // torso pitch, + forwards
    var twist = 0.0       // upper body turned relative to the hips
    var headTilt = 0.0
    var rightArm = LimbAngles(abduction: 0.12, bendForward: 0.25)
    var leftArm = LimbAngles(abduction: 0.12, bendForward: 0.25)
    var rightLeg = LimbAngles(abduction: 0.04, bendForward: -0.08)
    var leftLeg = LimbAngles(abduction: 0.04, bendForward: -0.08)

    static func mix(_ a: Articulation, _ b: Articulation, _ t: Double) -> Articulation {
        func m(_ x: Double, _ y: Double) -> Double { x + (y - x) * t }
        return Articulation(jump: m(a.jump, b.jump), lean: m(a.lean, b.lean), bend: m(a.bend, b.bend),
                            twist: m(a.twist, b.twist), headTilt: m(a.headTilt, b.headTilt),
                            rightArm: .mix(a.rightArm, b.rightArm, t), leftArm: .mix(a.leftArm, b.leftArm, t),
                            rightLeg: .mix(a.rightLeg, b.rightLeg, t), leftLeg: .mix(a.leftLeg, b.leftLeg, t))
    }
}

/// The dance vocabulary. Each move is a periodic function of the beat, scaled by an amplitude.
enum DanceMove: CaseIterable, Sendable {
    case idle, walk, armWave, jump, spin, kneeLift, punch, sideStep, point

    /// Articulation at `time` seconds into the move; `beat` in beats per second.
    func articulation(time: Double, beat: Double, amplitude a: Double, side: Double) -> Articulation {
        let p = 2 * Double.pi * beat * time
        var pose = Articulation()
        // A gentle knee bounce on the beat underlies every move.
        let bounce = 0.5 * (1 - cos(p))
        pose.rightLeg.bendForward = -0.08 - 0.22 * a * bounce
        pose.leftLeg.bendForward = pose.rightLeg.bendForward
        pose.rightLeg.flexion = 0.11 * a * bounce
        pose.leftLeg.flexion = pose.rightLeg.flexion
        switch self {
        case .idle:
            pose.lean = 0.07 * a * sin(p / 2)
            pose.headTilt = 0.1 * a * sin(p / 2 + 1)
            pose.rightArm = LimbAngles(abduction: 0.15 + 0.08 * a * sin(p / 2), flexion: 0.15 * a * sin(p / 2), bendForward: 0.3)
            pose.leftArm = LimbAngles(abduction: 0.15 - 0.08 * a * sin(p / 2), flexion: -0.15 * a * sin(p / 2), bendForward: 0.3)
        case .walk:
            // One stride per beat: legs swing in antiphase, the knee bends while the leg swings
            // forward, arms swing against the legs.
            let swing = 0.42 * a
            pose.rightLeg = LimbAngles(abduction: 0.03, flexion: swing * sin(p), bendForward: -0.1 - 0.75 * a * max(0, cos(p)))
            pose.leftLeg = LimbAngles(abduction: 0.03, flexion: -swing * sin(p), bendForward: -0.1 - 0.75 * a * max(0, -cos(p)))
            pose.rightArm = LimbAngles(abduction: 0.1, flexion: -0.45 * a * sin(p), bendForward: 0.35 + 0.3 * max(0, -sin(p)))
            pose.leftArm = LimbAngles(abduction: 0.1, flexion: 0.45 * a * sin(p), bendForward: 0.35 + 0.3 * max(0, sin(p)))
            pose.bend = 0.05
        case .armWave:
            let wave = sin(p)
            pose.rightArm = LimbAngles(abduction: 1.75 + 0.55 * a * wave, flexion: 0.2, bendOut: 0.7 * a * sin(p + 1.2))
            pose.leftArm = LimbAngles(abduction: 1.75 - 0.55 * a * side * wave, flexion: 0.2, bendOut: 0.7 * a * sin(p + 1.2 + .pi * (1 - side) / 2))
            pose.lean = 0.14 * a * wave
            pose.headTilt = -0.12 * a * wave
        case .jump:
            // Crouch, take off, fly with arms up and knees tucked, land: one jump per beat.
            let u = (beat * time).truncatingRemainder(dividingBy: 1)
            let flight = max(0, sin(Double.pi * (u - 0.3) / 0.45)) * (u > 0.3 && u < 0.75 ? 1 : 0)
            let crouch = u < 0.3 ? sin(Double.pi * u / 0.3) : (u > 0.75 ? sin(Double.pi * (u - 0.75) / 0.25) : 0)
            pose.jump = 0.2 * a * flight
            let knee = -0.1 - 1.1 * crouch - 0.7 * flight
            pose.rightLeg = LimbAngles(abduction: 0.06, flexion: 0.55 * crouch + 0.45 * flight, bendForward: knee)
            pose.leftLeg = pose.rightLeg
            pose.bend = 0.3 * crouch
            // Arms rise and fall over the whole jump (a full cosine), not just the flight, so the
            // hands do not whip up at take-off.
            let raise = 0.5 - 0.5 * cos(2 * Double.pi * u)
            let arms = LimbAngles(abduction: 0.3 + 2.1 * a * raise, flexion: -0.4 * crouch + 0.3 * raise, bendForward: 0.2)
            pose.rightArm = arms
            pose.leftArm = arms
        case .spin:
            pose.rightArm = LimbAngles(abduction: 1.35 + 0.2 * sin(p), flexion: 0.1, bendOut: 0.3, bendForward: 0.2)
            pose.leftArm = LimbAngles(abduction: 1.35 - 0.2 * sin(p), flexion: 0.1, bendOut: 0.3, bendForward: 0.2)
            pose.rightLeg.abduction = 0.08 + 0.05 * sin(2 * p)
            pose.leftLeg.abduction = 0.08 - 0.05 * sin(2 * p)
            pose.headTilt = 0.1 * sin(p)
        case .kneeLift:
            let r = max(0, sin(p)), l = max(0, -sin(p))
            pose.rightLeg = LimbAngles(abduction: 0.05, flexion: 1.35 * a * r, bendForward: -0.1 - 1.7 * a * r)
            pose.leftLeg = LimbAngles(abduction: 0.05, flexion: 1.35 * a * l, bendForward: -0.1 - 1.7 * a * l)
            pose.rightArm = LimbAngles(abduction: 0.25, flexion: 0.9 * a * l - 0.2, bendForward: 1.5)
            pose.leftArm = LimbAngles(abduction: 0.25, flexion: 0.9 * a * r - 0.2, bendForward: 1.5)
            pose.bend = 0.08
        case .punch:
            let r = max(0, sin(p)), l = max(0, -sin(p))
            pose.rightArm = LimbAngles(abduction: 0.35 + 0.9 * a * r * (side > 0 ? 1 : 0.2), flexion: 0.4 + 1.1 * a * r, bendForward: 1.9 - 1.8 * r)
            pose.leftArm = LimbAngles(abduction: 0.35 + 0.9 * a * l * (side > 0 ? 1 : 0.2), flexion: 0.4 + 1.1 * a * l, bendForward: 1.9 - 1.8 * l)
            pose.twist = 0.35 * a * sin(p)
            pose.rightLeg.abduction = 0.16
            pose.leftLeg.abduction = 0.16
        case .sideStep:
            let step = sin(p)
            pose.rightLeg = LimbAngles(abduction: 0.1 + 0.3 * a * max(0, step), flexion: 0.1 * bounce, bendForward: -0.15 - 0.3 * bounce)
            pose.leftLeg = LimbAngles(abduction: 0.1 + 0.3 * a * max(0, -step), flexion: 0.1 * bounce, bendForward: -0.15 - 0.3 * bounce)
            pose.lean = -0.12 * a * step
            let clap = 0.5 * (1 + cos(2 * p))
            pose.rightArm = LimbAngles(abduction: 0.25 + 0.9 * a * clap, flexion: 0.9 - 0.5 * clap, bendForward: 1.0 - 0.6 * clap)
            pose.leftArm = LimbAngles(abduction: 0.25 + 0.9 * a * clap, flexion: 0.9 - 0.5 * clap, bendForward: 1.0 - 0.6 * clap)
        case .point:
            // Disco: the pointing arm goes up-out and down-across on alternate beats, the other
            // hand rests on the hip, the hips sway.
            let up = 0.5 * (1 + sin(p / 2))
            let pointing = LimbAngles(abduction: -0.35 + 2.75 * up, flexion: 0.35 + 0.3 * (1 - up), bendForward: 0.15)
            let onHip = LimbAngles(abduction: 0.7, flexion: -0.15, bendOut: -1.9, bendForward: 0.2)
            if side > 0 { pose.leftArm = pointing; pose.rightArm = onHip } else { pose.rightArm = pointing; pose.leftArm = onHip }
            pose.lean = 0.16 * a * sin(p)
            pose.rightLeg.abduction = 0.12
            pose.leftLeg.abduction = 0.12
        }
        return pose
    }
}

/// One segment of a clip's choreography: a move over a time span, plus where the dancer goes and
/// which way they face during it.
struct DanceSegment: Sendable {
    var move: DanceMove
    var start: Double          // seconds from the clip start
    var duration: Double
    var beat: Double           // beats per second
    var amplitude: Double
    var side: Double           // +1 / -1: mirror some moves
    var startX: Double         // horizontal position, fraction of the image width
    var endX: Double
    var startYaw: Double       // facing angle (0 = camera, +pi/2 = image right)
    var endYaw: Double
    var turnTime: Double       // seconds to go from startYaw to endYaw
}

/// A clip's whole choreography: a random sequence of segments, deterministic for a seed.
struct Choreography: Sendable {
    static let transition = 0.45   // seconds of cross-fade between consecutive moves
    var segments: [DanceSegment] = []
    var depthPhase: Double
    var depthSpeed: Double
    var depthCentre: Double

    init(duration: Double, style: ClipStyle, random: inout SplitMix64) {
        depthPhase = random.uniform(0, 2 * .pi)
        depthSpeed = random.uniform(0.08, 0.2)
        depthCentre = random.uniform(0.35, 0.65)
        var time = 0.0
        var x = random.uniform(0.3, 0.7)
        var yaw = random.uniform(-0.4, 0.4)
        var previous: DanceMove? = nil
        var sinceWalk = 0
        while time < duration + 1 {
            var move = DanceMove.allCases[random.below(DanceMove.allCases.count)]
            if move == previous { move = DanceMove.allCases[random.below(DanceMove.allCases.count)] }
            // Travel regularly: a dancer who never changes place makes position trivial to predict.
            if sinceWalk >= 3 { move = .walk }
            sinceWalk = move == .walk ? 0 : sinceWalk + 1
            let doubleSpin = move == .spin && random.unit() < 0.3
            let length = move == .spin ? (doubleSpin ? random.uniform(2.4, 3.4) : random.uniform(1.2, 2.2)) : random.uniform(1.6, 4.0)
            var segment = DanceSegment(move: move, start: time, duration: length,
                                       beat: style.tempo * random.uniform(0.8, 1.25) * (move == .jump ? 0.75 : 1),
                                       amplitude: style.amplitude * random.uniform(0.75, 1.2),
                                       side: random.unit() < 0.5 ? -1 : 1,
                                       startX: x, endX: x, startYaw: yaw, endYaw: yaw, turnTime: 0.6)
            switch move {
            case .walk:
                // Walk towards the side with more room, about 0.1 image widths per stride.
                let direction: Double = x < 0.5 ? 1 : -1
                let distance = min(length * segment.beat * 0.1 * segment.amplitude, direction > 0 ? 0.85 - x : x - 0.15)
                segment.endX = x + direction * max(0, distance)
                segment.endYaw = closestAngle(direction * random.uniform(1.0, 1.45), to: yaw)
            case .sideStep:
                // Side steps travel a little.
                let direction: Double = x < 0.5 ? 1 : -1
                segment.endX = x + direction * min(random.uniform(0.03, 0.08), direction > 0 ? 0.85 - x : x - 0.15)
                segment.endYaw = closestAngle(random.uniform(-0.4, 0.4), to: yaw)
            case .spin:
                segment.endYaw = yaw + segment.side * 2 * .pi * (doubleSpin ? 2 : 1)
                segment.turnTime = length
            default:
                // Mostly facing the camera, sometimes three-quarter or side view, rarely the back.
                let r = random.unit()
                let target = r < 0.55 ? random.uniform(-0.45, 0.45) : (r < 0.85 ? random.uniform(0.8, 1.3) * (random.unit() < 0.5 ? -1 : 1) : Double.pi)
                segment.endYaw = closestAngle(target, to: yaw)
            }
            segments.append(segment)
            x = segment.endX
            yaw = segment.endYaw
            time += length
            previous = move
        }
    }

    /// The segment playing at `time`.
    func segmentIndex(at time: Double) -> Int {
        var low = 0, high = segments.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if segments[mid].start <= time { low = mid } else { high = mid - 1 }
        }
        return low
    }

    /// Where the dancer is (fraction of the width), how deep in the room (0 = back, 1 = front),
    /// which way they face, and their articulation.
    func state(at time: Double) -> (x: Double, depth: Double, yaw: Double, articulation: Articulation) {
        let index = segmentIndex(at: time)
        let segment = segments[index]
        let local = time - segment.start
        let progress = smoothstep(local / segment.duration)
        let x = segment.startX + (segment.endX - segment.startX) * progress
        let yaw = segment.startYaw + (segment.endYaw - segment.startYaw) * smoothstep(local / segment.turnTime)
        var pose = segment.move.articulation(time: local, beat: segment.beat, amplitude: segment.amplitude, side: segment.side)
        // Cross-fade from the previous move so the body never jumps between poses.
        if index > 0 && local < Choreography.transition {
            let before = segments[index - 1]
            let old = before.move.articulation(time: time - before.start, beat: before.beat, amplitude: before.amplitude, side: before.side)
            pose = Articulation.mix(old, pose, smoothstep(local / Choreography.transition))
        }
        let depth = depthCentre + 0.18 * sin(depthPhase + 2 * .pi * depthSpeed * time)
        return (x, depth, yaw, pose)
    }
}

/// 0 below 0, 1 above 1, a smooth S-curve between.
func smoothstep(_ t: Double) -> Double {
    let c = min(max(t, 0), 1)
    return c * c * (3 - 2 * c)
}

/// The angle equal to `angle` modulo 2 pi that is closest to `reference` (turn the short way).
func closestAngle(_ angle: Double, to reference: Double) -> Double {
    let twoPi = 2 * Double.pi
    var a = angle
    while a - reference > .pi { a -= twoPi }
    while a - reference < -.pi { a += twoPi }
    return a
}
