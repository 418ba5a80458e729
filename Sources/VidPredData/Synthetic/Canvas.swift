/// A supersampled drawing surface: shapes are drawn with hard edges at `factor` times the output
/// resolution, then averaged down (`downsampled()`), which antialiases them. Coordinates passed to
/// the drawing functions are in output pixels; pixel centres are at +0.5.
struct Canvas {
    let factor: Int
    var image: RGBImage   // at the supersampled size, planar RGB

    init(width: Int, height: Int, factor: Int, fill: SIMD3<Float>) {
        self.factor = factor
        image = RGBImage(width: width * factor, height: height * factor, fill: fill)
    }

    init(background: RGBImage, factor: Int) {
        self.factor = factor
        image = background
    }

    /// Light direction for shading (screen x right, y down, z towards the viewer).
    static let light: SIMD3<Double> = {
        let l = SIMD3<Double>(-0.45, -0.55, 0.7)
        return l / (l * l).sum().squareRoot()
    }()

    /// Fills a capsule (a segment with round ends) whose radius goes from `ra` at `a` to `rb` at
    /// `b`. With `shaded`, it is lit like a cylinder (round ends like spheres): ambient plus a
    /// diffuse term from `Canvas.light`.
    mutating func capsule(_ a: SIMD2<Double>, _ b: SIMD2<Double>, _ ra: Double, _ rb: Double,
                          colour: SIMD3<Double>, shaded: Bool = true) {
        let f = Double(factor)
        let pa = a * f, pb = b * f, ra = ra * f, rb = rb * f
        let axis = pb - pa
        let lengthSquared = max((axis * axis).sum(), 1e-12)
        let reach = max(ra, rb)
        let x0 = max(0, Int((min(pa.x, pb.x) - reach).rounded(.down)))
        let x1 = min(image.width - 1, Int((max(pa.x, pb.x) + reach).rounded(.up)))
        let y0 = max(0, Int((min(pa.y, pb.y) - reach).rounded(.down)))
        let y1 = min(image.height - 1, Int((max(pa.y, pb.y) + reach).rounded(.up)))
        guard x0 <= x1, y0 <= y1 else { return }
        for y in y0...y1 {
            for x in x0...x1 {
                let p = SIMD2<Double>(Double(x) + 0.5, Double(y) + 0.5)
                let t = min(max(((p - pa) * axis).sum() / lengthSquared, 0), 1)
                let closest = pa + axis * t
                let offset = p - closest
                let distanceSquared = (offset * offset).sum()
                let r = ra + (rb - ra) * t
                guard distanceSquared < r * r else { continue }
                var c = colour
                if shaded {
                    let n2 = offset / r
                    let normal = SIMD3<Double>(n2.x, n2.y, max(0, 1 - (n2 * n2).sum()).squareRoot())
                    c = colour * (0.55 + 0.55 * max(0, (normal * Canvas.light).sum()))
                }
                set(x, y, c)
            }
        }
    }

    /// Fills a convex quadrilateral grown by `radius` (rounded corners): the torso.
    mutating func roundedQuad(_ corners: [SIMD2<Double>], radius: Double, axis: (SIMD2<Double>, SIMD2<Double>),
                              halfWidth: Double, colour: SIMD3<Double>) {
        let f = Double(factor)
        let q = corners.map { $0 * f }, r = radius * f
        let a = axis.0 * f, b = axis.1 * f, w = max(halfWidth * f, 1e-6)
        let xs = q.map(\.x), ys = q.map(\.y)
        let x0 = max(0, Int(((xs.min() ?? 0) - r).rounded(.down))), x1 = min(image.width - 1, Int(((xs.max() ?? 0) + r).rounded(.up)))
        let y0 = max(0, Int(((ys.min() ?? 0) - r).rounded(.down))), y1 = min(image.height - 1, Int(((ys.max() ?? 0) + r).rounded(.up)))
        guard x0 <= x1, y0 <= y1 else { return }
        let spine = b - a, spineLength = max((spine * spine).sum(), 1e-12)
        for y in y0...y1 {
            for x in x0...x1 {
                let p = SIMD2<Double>(Double(x) + 0.5, Double(y) + 0.5)
                guard Canvas.inside(p, q) || Canvas.distanceToEdges(p, q) < r else { continue }
                // Shade like a cylinder around the spine.
                let t = min(max(((p - a) * spine).sum() / spineLength, 0), 1)
                let offset = (p - (a + spine * t)) / (w + r)
                let u = SIMD2<Double>(min(max(offset.x, -1), 1), min(max(offset.y, -1), 1))
                let normal = SIMD3<Double>(u.x, u.y * 0.3, max(0.05, 1 - (u * u).sum()).squareRoot())
                set(x, y, colour * (0.6 + 0.5 * max(0, (normal * Canvas.light).sum())))
            }
        }
    }

    /// Multiplies the pixels inside an ellipse by `factor(d)`, d = normalised distance from the
    /// centre (0...1): soft shadows.
    mutating func darkenEllipse(centre: SIMD2<Double>, radii: SIMD2<Double>, strength: Double) {
        let f = Double(factor)
        let c = centre * f, r = radii * f
        let x0 = max(0, Int((c.x - r.x).rounded(.down))), x1 = min(image.width - 1, Int((c.x + r.x).rounded(.up)))
        let y0 = max(0, Int((c.y - r.y).rounded(.down))), y1 = min(image.height - 1, Int((c.y + r.y).rounded(.up)))
        guard x0 <= x1, y0 <= y1, r.x > 0, r.y > 0 else { return }
        let plane = image.planeSize
        for y in y0...y1 {
            for x in x0...x1 {
                let d = (SIMD2<Double>(Double(x) + 0.5, Double(y) + 0.5) - c) / r
                let dd = (d * d).sum()
                guard dd < 1 else { continue }
                let k = Float(1 - strength * (1 - dd))
                let i = y * image.width + x
                image.pixels[i] *= k; image.pixels[plane + i] *= k; image.pixels[2 * plane + i] *= k
            }
        }
    }

    /// Blends a flat capsule over the canvas: new = (1 - opacity) * old + opacity * colour
    /// (OpenPose's limb drawing: addWeighted(canvas, 0.4, limb, 0.6)).
    mutating func blendCapsule(_ a: SIMD2<Double>, _ b: SIMD2<Double>, radius: Double, colour: SIMD3<Double>, opacity: Double) {
        let f = Double(factor)
        let pa = a * f, pb = b * f, r = radius * f
        let axis = pb - pa
        let lengthSquared = max((axis * axis).sum(), 1e-12)
        let x0 = max(0, Int((min(pa.x, pb.x) - r).rounded(.down))), x1 = min(image.width - 1, Int((max(pa.x, pb.x) + r).rounded(.up)))
        let y0 = max(0, Int((min(pa.y, pb.y) - r).rounded(.down))), y1 = min(image.height - 1, Int((max(pa.y, pb.y) + r).rounded(.up)))
        guard x0 <= x1, y0 <= y1 else { return }
        let plane = image.planeSize
        let o = Float(opacity), keep = 1 - Float(opacity)
        let cf = SIMD3<Float>(Float(colour.x), Float(colour.y), Float(colour.z))
        for y in y0...y1 {
            for x in x0...x1 {
                let p = SIMD2<Double>(Double(x) + 0.5, Double(y) + 0.5)
                let t = min(max(((p - pa) * axis).sum() / lengthSquared, 0), 1)
                let offset = p - (pa + axis * t)
                guard (offset * offset).sum() < r * r else { continue }
                let i = y * image.width + x
                image.pixels[i] = keep * image.pixels[i] + o * cf.x
                image.pixels[plane + i] = keep * image.pixels[plane + i] + o * cf.y
                image.pixels[2 * plane + i] = keep * image.pixels[2 * plane + i] + o * cf.z
            }
        }
    }

    @inline(__always)
    mutating func set(_ x: Int, _ y: Int, _ c: SIMD3<Double>) {
        let i = y * image.width + x, plane = image.planeSize
        image.pixels[i] = Float(c.x)
        image.pixels[plane + i] = Float(c.y)
        image.pixels[2 * plane + i] = Float(c.z)
    }

    /// Box-filter average of each factor x factor block: the antialiased output image.
    func downsampled() -> RGBImage {
        let w = image.width / factor, h = image.height / factor
        var out = RGBImage(width: w, height: h)
        let scale = 1 / Float(factor * factor)
        image.pixels.withUnsafeBufferPointer { src in
            out.pixels.withUnsafeMutableBufferPointer { dst in
                for c in 0..<3 {
                    for y in 0..<h {
                        for x in 0..<w {
                            var sum: Float = 0
                            for dy in 0..<factor {
                                let row = (c * image.height + y * factor + dy) * image.width + x * factor
                                for dx in 0..<factor { sum += src[row + dx] }
                            }
                            dst[(c * h + y) * w + x] = min(max(sum * scale, 0), 1)
                        }
                    }
                }
            }
        }
        return out
    }

    static func inside(_ p: SIMD2<Double>, _ polygon: [SIMD2<Double>]) -> Bool {
        var sign = 0.0
        for i in polygon.indices {
            let a = polygon[i], b = polygon[(i + 1) % polygon.count]
            let cross = (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x)
            if cross != 0 {
                if sign == 0 { sign = cross } else if (cross > 0) != (sign > 0) { return false }
            }
        }
        return true
    }

    static func distanceToEdges(_ p: SIMD2<Double>, _ polygon: [SIMD2<Double>]) -> Double {
        var best = Double.infinity
        for i in polygon.indices {
            let a = polygon[i], b = polygon[(i + 1) % polygon.count]
            let ab = b - a
            let t = min(max(((p - a) * ab).sum() / max((ab * ab).sum(), 1e-12), 0), 1)
            let d = p - (a + ab * t)
            best = min(best, (d * d).sum().squareRoot())
        }
        return best
    }
}
