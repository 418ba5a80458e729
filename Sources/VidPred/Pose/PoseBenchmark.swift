import Foundation
import Torch
import VidPredData

/// How well the extracted poses match the dataset's (issue 16's goals), on `edn-video`:
/// - keypoints against OpenPose's on the annotated frames (distances relative to body height);
/// - labels against the dataset's own over the whole clip, by the correlation of slightly blurred
///   skeleton masks, beside the same figure for the dataset's label of the frame 3 frames earlier
///   (the agreement motion alone leaves);
/// - extraction speed.
public enum PoseBenchmark {
    /// OpenPose's points of an annotated frame (`NAME_pose.yml`: 23 BODY_25 points in the README's
    /// order) in pixels of the 1024x512 frame. The files hold pixels of the 1920x1080 source video,
    /// which the dataset stretched to 1024x512 (x * 1024/1920, y * 512/1080): with that mapping
    /// OpenPose's points land on the person and on the dataset's labels.
    public static func openPosePoints(_ url: URL) throws -> [Keypoint] {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch { throw ConfigError("cannot read \(url.path): \(error.localizedDescription)") }
        guard let data = text.components(separatedBy: "data:").last, text.contains("data:") else { throw ConfigError("\(url.path) has no data: matrix") }
        let numbers = data.components(separatedBy: CharacterSet(charactersIn: "[], \n")).compactMap { Double($0) }
        guard numbers.count == 69 else { throw ConfigError("\(url.path): 23 x 3 numbers expected, \(numbers.count) read") }
        let order = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 22, 23, 12, 13, 14, 19, 20, 0, 15, 17, 16, 18]
        var points = [Keypoint](repeating: .missing, count: 25)
        for (i, index) in order.enumerated() where numbers[3 * i + 2] > 0 {
            points[index] = Keypoint(x: numbers[3 * i] * 1024 / 1920, y: numbers[3 * i + 1] * 512 / 1080, confidence: numbers[3 * i + 2])
        }
        return points
    }

    /// Distances between two sets of BODY_25 points, relative to `truth`'s body height, over the
    /// points both have.
    public static func relativeDistances(_ points: [Keypoint], truth: [Keypoint]) -> [Double] {
        guard let height = Body25.bodyHeight(truth), height > 0 else { return [] }
        return zip(points, truth).compactMap { p, t in
            p.confidence > 0 && t.confidence > 0 ? ((p.x - t.x) * (p.x - t.x) + (p.y - t.y) * (p.y - t.y)).squareRoot() / height : nil
        }
    }

    /// The skeleton agreement of two labels: the correlation of their ink masks (pixels whose RGB
    /// sum is under 720/255: the drawing, not the white), each blurred with a Gaussian of 2 pixels.
    public static func agreement(_ a: RGBImage, _ b: RGBImage) -> Double {
        let (x, y) = (blurredMask(a), blurredMask(b))
        let (mx, my) = (x.reduce(0, +) / Double(x.count), y.reduce(0, +) / Double(y.count))
        var (sxy, sxx, syy) = (0.0, 0.0, 0.0)
        for i in x.indices {
            let (dx, dy) = (x[i] - mx, y[i] - my)
            sxy += dx * dy; sxx += dx * dx; syy += dy * dy
        }
        return sxy / max((sxx * syy).squareRoot(), 1e-12)
    }

    static func blurredMask(_ image: RGBImage, sigma: Double = 2) -> [Double] {
        let (w, h) = (image.width, image.height), plane = w * h
        var mask = (0..<plane).map { i -> Double in
            Double(image.pixels[i] + image.pixels[plane + i] + image.pixels[2 * plane + i]) < 720.0 / 255 ? 1 : 0
        }
        let radius = Int((3 * sigma).rounded(.up))
        let kernel = (-radius...radius).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let total = kernel.reduce(0, +)
        for horizontal in [true, false] {
            var out = [Double](repeating: 0, count: plane)
            for y in 0..<h {
                for x in 0..<w {
                    var sum = 0.0
                    for (k, weight) in kernel.enumerated() {
                        let (xx, yy) = horizontal ? (min(max(x + k - radius, 0), w - 1), y) : (x, min(max(y + k - radius, 0), h - 1))
                        sum += weight * mask[yy * w + xx]
                    }
                    out[y * w + x] = sum / total
                }
            }
            mask = out
        }
        return mask
    }
}
