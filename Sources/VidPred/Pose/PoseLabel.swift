import Foundation
import VidPredData

/// Draws BODY_25 points as the Everybody Dance Now dataset's pose labels look (the lab's
/// `train_label` images): on white, each limb a line in the colour of its first point, blended at
/// 60% over the background, then each point a filled disc in its colour, heels left out. At
/// 1024x512 the dataset's limbs are about 4.5 pixels wide and its discs 3 in radius; other sizes scale them by the width. A label
/// of another size is drawn at the reference width and resized as the dataset resized its labels
/// (PIL's antialiased bilinear), so small labels get the same soft strokes.
public enum PoseLabel {
    /// Point colours (RGB), measured on the dataset's three full-size labels at OpenPose's points
    /// (`edn-video/keypoints`); the points those frames do not show (left wrist, eyes, left ear,
    /// heels) continue the neighbouring colours.
    public static let colours: [(UInt8, UInt8, UInt8)] = [
        (0, 0, 200), (0, 0, 255), (0, 51, 255), (0, 110, 255), (0, 163, 255), (0, 190, 255), (0, 233, 255), (0, 255, 255),
        (0, 0, 255), (0, 255, 176), (0, 255, 86), (0, 255, 0), (130, 28, 28), (255, 85, 0), (255, 170, 0), (255, 0, 255),
        (170, 0, 255), (235, 121, 235), (170, 0, 255), (255, 213, 0), (255, 255, 0), (255, 213, 0), (85, 255, 0), (170, 255, 0),
        (85, 255, 0),
    ]
    static let referenceWidth = 1024.0, limbWidth = 4.5, discRadius = 3.0, limbOpacity = 0.6
    /// Thumb, index and pinky strokes (OpenPose's hand colours for those fingers), thinner than limbs.
    static let fingerColours: [(UInt8, UInt8, UInt8)] = [(255, 0, 0), (153, 255, 0), (255, 0, 255)]
    static let fingerWidth = 2.0
    /// The dataset's labels draw no heels (BODY_25 points 21 and 24).
    static let undrawn: Set<Int> = [21, 24]

    /// The label of a frame: its pose drawn, or a blank (white) label when no person was found.
    public static func label(_ points: [Keypoint]?, hands: [[Keypoint]] = [], sourceWidth: Int, sourceHeight: Int, width: Int, height: Int) -> RGBImage {
        guard let points else { return RGBImage(width: width, height: height, fill: SIMD3(repeating: 1)) }
        return draw(points, hands: hands, sourceWidth: sourceWidth, sourceHeight: sourceHeight, width: width, height: height)
    }

    /// The label of `points` (in pixels of a `sourceWidth` x `sourceHeight` frame) at `width` x `height`.
    ///   - hands: per hand, its wrist, thumb, index and pinky points: drawn as thin strokes from the
    ///     wrist, as the dataset draws its finger skeletons.
    public static func draw(_ points: [Keypoint], hands: [[Keypoint]] = [], sourceWidth: Int, sourceHeight: Int, width: Int, height: Int) -> RGBImage {
        // Draw at the reference width (or the output's, when larger), then resize.
        let scale = max(1, referenceWidth / Double(width))
        let (w, h) = (Int((Double(width) * scale).rounded()), Int((Double(height) * scale).rounded()))
        var canvas = RGBImage(width: w, height: h, fill: SIMD3(repeating: 1))
        let (sx, sy) = (Double(w) / Double(sourceWidth), Double(h) / Double(sourceHeight))
        let size = Double(w) / referenceWidth
        let placed = points.map { Keypoint(x: $0.x * sx, y: $0.y * sy, confidence: $0.confidence) }
        for (a, b) in Body25.limbs where a < placed.count && b < placed.count && placed[a].confidence > 0 && placed[b].confidence > 0
            && !undrawn.contains(b) {
            stroke(&canvas, from: placed[a], to: placed[b], width: limbWidth * size, colour: colours[a], opacity: limbOpacity)
        }
        for hand in hands where hand.count == 4 && hand[0].confidence > 0 {
            let wrist = Keypoint(x: hand[0].x * sx, y: hand[0].y * sy, confidence: 1)
            for (finger, colour) in zip(hand.dropFirst(), fingerColours) where finger.confidence > 0 {
                stroke(&canvas, from: wrist, to: Keypoint(x: finger.x * sx, y: finger.y * sy, confidence: 1), width: fingerWidth * size,
                       colour: colour, opacity: 1)
            }
        }
        for (i, p) in placed.enumerated() where p.confidence > 0 && i < colours.count && !undrawn.contains(i) {
            stroke(&canvas, from: p, to: p, width: 2 * discRadius * size, colour: colours[i], opacity: 1)
        }
        return (w, h) == (width, height) ? canvas : canvas.resized(width: width, height: height)
    }

    /// Labels with each body colour replaced by its mirror point's (`Body25.mirrored`): flipped
    /// left to right afterwards, they are the label the dataset's renderer draws for the mirrored
    /// dancer (a right arm in the left arm's colours would be a pose no real label shows). Planar
    /// float pixels in [0, 1], any number of frames. Each pixel is read as white blended with one
    /// label colour c at coverage a (the colour that explains it best), and a * (c' - c) is added
    /// for c's mirror colour c'; soft edges keep their coverage, and white stays white.
    public static func mirroredColours(_ planar: [Float], height: Int, width: Int) -> [Float] {
        // Colours as (1 - c): how far each is from white. The first point with a colour decides
        // its mirror (two points share some colours); finger colours are not sided.
        var seen = Set<[UInt8]>(), palette: [(from: SIMD3<Float>, change: SIMD3<Float>)] = []
        func rgb(_ c: (UInt8, UInt8, UInt8)) -> SIMD3<Float> { SIMD3(Float(c.0), Float(c.1), Float(c.2)) / 255 }
        for (point, colour) in colours.enumerated() where seen.insert([colour.0, colour.1, colour.2]).inserted {
            palette.append((1 - rgb(colour), rgb(colours[Body25.mirrored[point]]) - rgb(colour)))
        }
        let plane = height * width
        var out = planar
        out.withUnsafeMutableBufferPointer { out in
            for frame in 0..<(planar.count / (3 * plane)) {
                let base = frame * 3 * plane
                for i in 0..<plane {
                    let p = SIMD3(out[base + i], out[base + plane + i], out[base + 2 * plane + i])
                    let d = 1 - p
                    guard d.max() > 0.02 else { continue }
                    var best = (error: Float.infinity, coverage: Float(0), change: SIMD3<Float>(repeating: 0))
                    for (e, change) in palette {
                        let a = min(1, max(0, (d * e).sum() / (e * e).sum()))
                        let r = d - a * e, error = (r * r).sum()
                        if error < best.error { best = (error, a, change) }
                    }
                    let q = pointwiseMin(pointwiseMax(p + best.coverage * best.change, SIMD3(repeating: 0)), SIMD3(repeating: 1))
                    out[base + i] = q.x; out[base + plane + i] = q.y; out[base + 2 * plane + i] = q.z
                }
            }
        }
        return out
    }

    /// A segment with round ends (a disc when both ends are the same point), its edge antialiased
    /// by the pixel's distance, blended at `opacity` over what is there.
    static func stroke(_ image: inout RGBImage, from a: Keypoint, to b: Keypoint, width: Double, colour: (UInt8, UInt8, UInt8), opacity: Double) {
        let radius = width / 2
        let (x0, x1) = (max(0, Int((min(a.x, b.x) - radius - 1).rounded(.down))), min(image.width - 1, Int((max(a.x, b.x) + radius + 1).rounded(.up))))
        let (y0, y1) = (max(0, Int((min(a.y, b.y) - radius - 1).rounded(.down))), min(image.height - 1, Int((max(a.y, b.y) + radius + 1).rounded(.up))))
        guard x0 <= x1, y0 <= y1 else { return }
        let (dx, dy) = (b.x - a.x, b.y - a.y), length2 = dx * dx + dy * dy
        let rgb = [Float(colour.0) / 255, Float(colour.1) / 255, Float(colour.2) / 255]
        let plane = image.width * image.height
        for y in y0...y1 {
            for x in x0...x1 {
                let (px, py) = (Double(x) + 0.5, Double(y) + 0.5)
                let t = length2 > 0 ? min(1, max(0, ((px - a.x) * dx + (py - a.y) * dy) / length2)) : 0
                let (ex, ey) = (px - a.x - t * dx, py - a.y - t * dy)
                let coverage = min(1, max(0, radius + 0.5 - (ex * ex + ey * ey).squareRoot()))
                guard coverage > 0 else { continue }
                let alpha = Float(coverage * opacity), index = y * image.width + x
                for c in 0..<3 { image.pixels[c * plane + index] += (rgb[c] - image.pixels[c * plane + index]) * alpha }
            }
        }
    }
}
