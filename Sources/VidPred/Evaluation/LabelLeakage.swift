/// How much of the pose label's colours shows up in predicted frames (issue 19: faint strokes in
/// the label's colours where the skeleton is drawn).
///
/// Measured by what the model does, not by comparing with the truth (the dancer's blue shirt lies
/// under the label's blue strokes, so errors against the truth correlate with the label's colours
/// whether or not anything leaks): the same video is generated twice, once with its labels and once
/// with their colour channels rotated (R, G, B -> G, B, R: white stays white, every stroke changes
/// colour, the skeleton's shape stays). Over the pixels where the label has a stroke, the change of
/// the output's chroma (RGB minus its grey level) is fitted as k times the change of the label's
/// chroma (least squares): k is the share of the label's colour that reaches the output. 0: the
/// output does not follow the strokes' colours; 0.2: a stroke blended in at 20%.
public enum LabelLeakage {
    /// Labels drawn at 64x32 are soft: a limb 4.5 pixels wide at 1024 covers a quarter of a pixel.
    public static let minimumChroma: Float = 0.05

    /// Labels (planar (3, H, W) frames, any number, concatenated) with their channels rotated.
    public static func rotatedColours(_ labels: [Float], height: Int, width: Int) -> [Float] {
        let plane = height * width
        var out = labels
        for base in stride(from: 0, to: labels.count, by: 3 * plane) {
            for c in 0..<3 {
                let source = base + ((c + 1) % 3) * plane
                out.replaceSubrange((base + c * plane)..<(base + (c + 1) * plane), with: labels[source..<(source + plane)])
            }
        }
        return out
    }

    /// - Parameters: per frame, planar (3, H, W) in [0, 1]: the output with the labels, the output
    ///   with `rotatedColours` labels, and the labels. Frame 0 (given) is skipped; nan when no label
    ///   has a stroke.
    public static func measure(output: [[Float]], outputWithRotatedLabels rotatedOutput: [[Float]], labels: [[Float]],
                               height: Int, width: Int) -> Double {
        let plane = height * width
        func chroma(_ frame: [Float], _ i: Int) -> SIMD3<Float> {
            let c = pointwiseMin(pointwiseMax(SIMD3(frame[i], frame[plane + i], frame[2 * plane + i]), SIMD3(repeating: 0)), SIMD3(repeating: 1))
            return c - SIMD3(repeating: c.sum() / 3)
        }
        var fit = 0.0, norm = 0.0
        for t in 1..<min(output.count, rotatedOutput.count, labels.count) {
            let label = labels[t]
            for i in 0..<plane {
                let original = chroma(label, i)
                let change = SIMD3(original.y, original.z, original.x) - original  // the rotation's change of the label's chroma
                guard (original * original).sum() >= minimumChroma * minimumChroma else { continue }
                fit += Double(((chroma(rotatedOutput[t], i) - chroma(output[t], i)) * change).sum())
                norm += Double((change * change).sum())
            }
        }
        return norm > 0 ? fit / norm : .nan
    }
}
