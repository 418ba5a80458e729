import Foundation

/// One synthetic dance clip: a dancer with their clothes and their dance, in a room, filmed by a
/// fixed camera. Every frame is a pure function of (clip, frame index), so frames can be rendered
/// in any order, on any core, with identical results.
public struct DanceClip: Sendable {
    public let width: Int
    public let height: Int
    public let frameCount: Int
    public let framesPerSecond: Double
    let style: ClipStyle
    let choreography: Choreography
    let supersampling: Int
    let noise: Double
    let noiseSeed: UInt64
    /// The empty room at the supersampled size (drawn once per clip).
    let room: RGBImage

    /// - Parameters:
    ///   - stream: the clip's random stream (its dance and camera noise).
    ///   - look: the stream of the dancer's looks, personal tempo and the room (shared by clips of one dancer).
    init(seed: UInt64, stream: [UInt64], look: [UInt64], frameCount: Int, width: Int, height: Int,
         supersampling: Int, noise: Double, framesPerSecond: Double) {
        var random = SplitMix64(seed: seed, stream: stream[0], stream[1])
        var looks = SplitMix64(seed: seed, stream: look[0], look[1], 1)
        self.width = width
        self.height = height
        self.frameCount = frameCount
        self.framesPerSecond = framesPerSecond
        self.supersampling = supersampling
        self.noise = noise
        style = ClipStyle(random: &looks)
        choreography = Choreography(duration: Double(frameCount) / framesPerSecond, style: style, random: &random)
        noiseSeed = random.next()
        room = DanceClip.drawRoom(style: style, width: width * supersampling, height: height * supersampling, seed: looks.next())
    }

    // MARK: pose

    struct FrameState {
        var joints: DancerFigure.Joints
        var projection: Projection
        var jump: Double
    }

    func state(_ frame: Int) -> FrameState {
        let s = choreography.state(at: Double(frame) / framesPerSecond)
        let joints = DancerFigure.joints(s.articulation, yaw: s.yaw)
        return FrameState(joints: joints, projection: Projection(x: s.x, depth: s.depth, style: style, width: width, height: height),
                          jump: s.articulation.jump)
    }

    /// The 18 OpenPose keypoints of `frame`, in output pixels.
    public func pose(at frame: Int) -> DancePose {
        let s = state(frame)
        let j = s.joints, p = s.projection
        let world: [SIMD3<Double>] = [
            j.nose, (j.shoulders[0] + j.shoulders[1]) / 2,
            j.shoulders[0], j.elbows[0], j.wrists[0],
            j.shoulders[1], j.elbows[1], j.wrists[1],
            j.hips[0], j.knees[0], j.ankles[0],
            j.hips[1], j.knees[1], j.ankles[1],
            j.eyes[0], j.eyes[1], j.ears[0], j.ears[1],
        ]
        // Face points turned away from the camera are hidden (OpenPose would not find them).
        let r = DancerFigure.headRadius
        func seen(_ point: SIMD3<Double>, _ threshold: Double) -> Bool { (point.z - j.head.z) / r > threshold }
        var visible = [Bool](repeating: true, count: 18)
        visible[BodyKeypoint.nose.rawValue] = seen(j.nose, -0.15)
        visible[BodyKeypoint.rightEye.rawValue] = seen(j.eyes[0], -0.15)
        visible[BodyKeypoint.leftEye.rawValue] = seen(j.eyes[1], -0.15)
        visible[BodyKeypoint.rightEar.rawValue] = seen(j.ears[0], -0.45)
        visible[BodyKeypoint.leftEar.rawValue] = seen(j.ears[1], -0.45)
        return DancePose(points: world.map(p.point), visible: visible)
    }

    // MARK: rendering

    /// The room without the dancer, at the output size (no camera noise).
    public func renderBackground() -> RGBImage {
        Canvas(background: room, factor: supersampling).downsampled()
    }

    /// Frame `frame`: the room, the dancer's shadow, the dancer, camera noise.
    public func renderFrame(_ frame: Int) -> RGBImage {
        let s = state(frame)
        var canvas = Canvas(background: room, factor: supersampling)
        let j = s.joints, p = s.projection
        // A soft shadow on the floor under the body, fainter and smaller in the air.
        let feet = p.point(SIMD3((j.ankles[0].x + j.ankles[1].x) / 2, 0, 0))
        let air = min(1, s.jump * 5)
        canvas.darkenEllipse(centre: SIMD2(feet.x, p.floorY), radii: SIMD2(0.2, 0.045) * p.scale * (1 - 0.3 * air),
                             strength: 0.45 * (1 - 0.6 * air))
        drawDancer(&canvas, j, p)
        var image = canvas.downsampled()
        if noise > 0 {
            var random = SplitMix64(seed: noiseSeed, stream: UInt64(frame))
            for i in image.pixels.indices {
                image.pixels[i] = min(max(image.pixels[i] + Float(noise * random.normal()), 0), 1)
            }
        }
        return image
    }

    /// The pose label of `frame`, drawn like OpenPose's output: joint dots, then limbs blended
    /// 60 % over them, on white.
    public func renderLabel(_ frame: Int) -> RGBImage {
        let pose = pose(at: frame)
        var canvas = Canvas(width: width, height: height, factor: supersampling, fill: SIMD3(1, 1, 1))
        // OpenPose's stick width is about 1/128 of the frame height at the resolutions it runs
        // at; kept at least ~0.7 px here so the skeleton survives at 32 px.
        let stick = max(0.35, Double(height) / 90)
        let dot = stick * 1.35
        for keypoint in BodyKeypoint.allCases where pose.isVisible(keypoint) {
            canvas.capsule(pose[keypoint], pose[keypoint], dot, dot, colour: OpenPoseStyle.colours[keypoint.rawValue], shaded: false)
        }
        for (i, limb) in OpenPoseStyle.limbs.enumerated() where pose.isVisible(limb.0) && pose.isVisible(limb.1) {
            canvas.blendCapsule(pose[limb.0], pose[limb.1], radius: stick, colour: OpenPoseStyle.colours[i], opacity: 0.6)
        }
        return canvas.downsampled()
    }

    /// Body parts drawn far to near (painter's algorithm on the parts' depth).
    private func drawDancer(_ canvas: inout Canvas, _ j: DancerFigure.Joints, _ p: Projection) {
        let scale = p.scale, build = style.build
        var parts: [(depth: Double, draw: (inout Canvas) -> Void)] = []
        let torsoCorners = [j.shoulders[0], j.shoulders[1], j.hips[1], j.hips[0]]
        let torsoDepth = torsoCorners.reduce(0) { $0 + $1.z } / 4
        let neckBase = (j.shoulders[0] + j.shoulders[1]) / 2
        let pelvis = (j.hips[0] + j.hips[1]) / 2
        let shirt = style.shirt, pants = style.pants, skin = style.skin
        parts.append((torsoDepth, { c in
            let shoulderSpan = ((p.point(j.shoulders[0]) - p.point(j.shoulders[1])) * (p.point(j.shoulders[0]) - p.point(j.shoulders[1]))).sum().squareRoot()
            c.roundedQuad(torsoCorners.map(p.point), radius: 0.045 * build * scale, axis: (p.point(neckBase), p.point(pelvis)),
                          halfWidth: shoulderSpan / 2, colour: shirt)
            // Trousers start at the waist: a band over the bottom of the torso.
            c.capsule(p.point(j.hips[0]), p.point(j.hips[1]), 0.05 * build * scale, 0.05 * build * scale, colour: pants)
        }))
        parts.append((j.neck.z - 0.01, { c in
            c.capsule(p.point(neckBase), p.point(j.head), 0.026 * scale, 0.026 * scale, colour: skin)
        }))
        parts.append((j.head.z, { c in self.drawHead(&c, j, p) }))
        for s in 0..<2 {
            let forearmColour = style.longSleeves ? shirt : skin
            parts.append(((j.shoulders[s].z + j.elbows[s].z) / 2, { c in
                c.capsule(p.point(j.shoulders[s]), p.point(j.elbows[s]), 0.036 * build * scale, 0.03 * build * scale, colour: shirt)
            }))
            parts.append(((j.elbows[s].z + j.wrists[s].z) / 2 + 0.001, { c in
                c.capsule(p.point(j.elbows[s]), p.point(j.wrists[s]), 0.029 * build * scale, 0.024 * build * scale, colour: forearmColour)
                c.capsule(p.point(j.wrists[s]), p.point(j.hands[s]), 0.024 * scale, 0.026 * scale, colour: skin)
            }))
            parts.append(((j.hips[s].z + j.knees[s].z) / 2, { c in
                c.capsule(p.point(j.hips[s]), p.point(j.knees[s]), 0.052 * build * scale, 0.04 * build * scale, colour: pants)
            }))
            parts.append(((j.knees[s].z + j.ankles[s].z) / 2 + 0.001, { c in
                c.capsule(p.point(j.knees[s]), p.point(j.ankles[s]), 0.04 * build * scale, 0.03 * build * scale, colour: pants)
                c.capsule(p.point(j.ankles[s]), p.point(j.toes[s]), 0.028 * scale, 0.024 * scale, colour: self.style.shoes)
            }))
        }
        for part in parts.sorted(by: { $0.depth < $1.depth }) { part.draw(&canvas) }
    }

    /// A shaded skin sphere with hair on top, or all over when seen from behind.
    private func drawHead(_ canvas: inout Canvas, _ j: DancerFigure.Joints, _ p: Projection) {
        let centre = p.point(j.head), r = DancerFigure.headRadius * p.scale
        canvas.capsule(centre, centre, r, r, colour: style.skin)
        let f = Double(canvas.factor)
        let c = centre * f, rr = r * f
        // The face's direction on screen (y down) and how much it faces the camera.
        let face = SIMD2<Double>(j.facing.x, -j.facing.y)
        let x0 = max(0, Int((c.x - rr).rounded(.down))), x1 = min(canvas.image.width - 1, Int((c.x + rr).rounded(.up)))
        let y0 = max(0, Int((c.y - rr).rounded(.down))), y1 = min(canvas.image.height - 1, Int((c.y + rr).rounded(.up)))
        guard x0 <= x1, y0 <= y1 else { return }
        for y in y0...y1 {
            for x in x0...x1 {
                let d = (SIMD2<Double>(Double(x) + 0.5, Double(y) + 0.5) - c) / rr
                let dd = (d * d).sum()
                guard dd < 1 else { continue }
                // Hair: the top of the head, the side away from the face, everything from behind.
                let hair = d.y < -0.3 + 0.25 * j.facing.z * (1 - abs(d.x)) || (d * face).sum() < -0.25 || j.facing.z < -0.35
                guard hair else { continue }
                let normal = SIMD3<Double>(d.x, d.y, max(0, 1 - dd).squareRoot())
                canvas.set(x, y, style.hair * (0.6 + 0.5 * max(0, (normal * Canvas.light).sum())))
            }
        }
    }

    // MARK: the room

    /// A wall with panels, a baseboard and a soft spotlight, and a plank floor in perspective,
    /// both with a faint fixed texture.
    static func drawRoom(style: ClipStyle, width: Int, height: Int, seed: UInt64) -> RGBImage {
        var image = RGBImage(width: width, height: height)
        let w = Double(width), h = Double(height)
        let horizon = style.horizon
        for y in 0..<height {
            let v = (Double(y) + 0.5) / h
            for x in 0..<width {
                let u = (Double(x) + 0.5) / w
                var colour: SIMD3<Double>
                let texture = 0.03 * (valueNoise(u * 24, v * 12, seed) - 0.5) + 0.015 * (valueNoise(u * 90, v * 45, seed &+ 1) - 0.5)
                if v < horizon - 0.03 {
                    let spot = exp(-((u - style.light) * (u - style.light) / 0.09 + (v - 0.15) * (v - 0.15) / 0.25))
                    let vignette = 0.82 + 0.18 * min(1, v / horizon + 0.3)
                    colour = style.wall * (0.8 + 0.22 * spot) * vignette
                    let panel = (u / style.panelWidth).truncatingRemainder(dividingBy: 1)
                    if panel < 0.015 || panel > 0.985 { colour *= 0.9 }
                } else if v < horizon {
                    colour = style.wall * 0.62
                } else {
                    // Depth across the floor (0 at the wall, 1 at the camera); planks converge
                    // to a vanishing point above the middle of the wall.
                    let depth = (v - horizon) / (1 - horizon)
                    let spread = (u - 0.5) / (0.25 + depth)
                    let plank = Int((spread / 0.09 + 100).rounded(.down))
                    let seam = (spread / 0.09 + 100).truncatingRemainder(dividingBy: 1)
                    let plankShade = 0.94 + 0.1 * hash01(plank, 7, seed)
                    colour = style.floor * plankShade * (0.78 + 0.3 * depth)
                    if seam < 0.04 { colour *= 0.85 }
                    let reflection = exp(-((u - style.light) * (u - style.light) / 0.02)) * 0.12 * (1 - depth)
                    colour += SIMD3(repeating: reflection)
                }
                colour *= 1 + texture
                image.setPixel(x: x, y: y, SIMD3<Float>(Float(colour.x), Float(colour.y), Float(colour.z)))
            }
        }
        return image
    }
}

/// A deterministic hash of two integers to [0, 1).
func hash01(_ x: Int, _ y: Int, _ seed: UInt64) -> Double {
    var g = SplitMix64(seed: seed ^ (UInt64(bitPattern: Int64(x)) &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(bitPattern: Int64(y)) &* 0xC2B2_AE3D_27D4_EB4F))
    return g.unit()
}

/// Smooth value noise in [0, 1): bilinear interpolation of hashed lattice values.
func valueNoise(_ x: Double, _ y: Double, _ seed: UInt64) -> Double {
    let ix = Int(x.rounded(.down)), iy = Int(y.rounded(.down))
    let fx = smoothstep(x - Double(ix)), fy = smoothstep(y - Double(iy))
    let a = hash01(ix, iy, seed), b = hash01(ix + 1, iy, seed)
    let c = hash01(ix, iy + 1, seed), d = hash01(ix + 1, iy + 1, seed)
    return (a + (b - a) * fx) + ((c + (d - c) * fx) - (a + (b - a) * fx)) * fy
}
