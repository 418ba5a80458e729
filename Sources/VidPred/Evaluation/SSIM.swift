import Foundation

/// Structural similarity (Wang et al. 2004) as scikit-image's
/// `structural_similarity(x, y, data_range=1, channel_axis=0, gaussian_weights=True, sigma=1.5,
/// use_sample_covariance=False)` computes it: local means, variances and covariance under an
/// 11x11 Gaussian window (sigma 1.5, normalised), C1 = (0.01 R)^2, C2 = (0.03 R)^2, the SSIM map
/// averaged over the positions where the window lies wholly inside the image, then over channels.
///
/// scikit-image filters with reflected borders and then crops 5 pixels on every side, which keeps
/// exactly the positions whose window never touches the border: a "valid" filter, computed here
/// directly. `reference/make_metric_fixtures.py` computes the same in NumPy (the fixtures).
public enum SSIM {
    public static let windowSize = 11
    public static let sigma = 1.5
    public static let k1 = 0.01
    public static let k2 = 0.03

    /// The 1-D Gaussian taps (the 2-D window is their outer product), summing to 1.
    public static let taps: [Double] = {
        let radius = windowSize / 2
        let raw = (-radius...radius).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let total = raw.reduce(0, +)
        return raw.map { $0 / total }
    }()

    /// Mean SSIM of two planar (C, H, W) images (C = samples / (H * W)), averaged over channels.
    /// Returns nan when the image is smaller than the window (11x11) in either direction.
    public static func ssim(_ x: [Float], _ y: [Float], height: Int, width: Int, range: Double = 1) -> Double {
        precondition(x.count == y.count && height > 0 && width > 0 && x.count % (height * width) == 0,
                     "SSIM: images of \(x.count) and \(y.count) samples do not match \(height)x\(width)")
        guard height >= windowSize, width >= windowSize else { return .nan }
        let plane = height * width
        let channels = x.count / plane
        var total = 0.0
        x.withUnsafeBufferPointer { xs in
            y.withUnsafeBufferPointer { ys in
                for c in 0..<channels {
                    total += channelSSIM(UnsafeBufferPointer(rebasing: xs[(c * plane)..<((c + 1) * plane)]),
                                         UnsafeBufferPointer(rebasing: ys[(c * plane)..<((c + 1) * plane)]),
                                         height: height, width: width, range: range)
                }
            }
        }
        return total / Double(channels)
    }

    /// Mean of the SSIM map of one channel.
    static func channelSSIM(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>,
                            height: Int, width: Int, range: Double) -> Double {
        let r = windowSize / 2
        let outWidth = width - 2 * r, outHeight = height - 2 * r
        let c1 = (k1 * range) * (k1 * range), c2 = (k2 * range) * (k2 * range)
        // Horizontal pass: five maps (x, y, x^2, y^2, xy) filtered along rows, (H, outWidth) each.
        var rows = [Double](repeating: 0, count: 5 * height * outWidth)
        let stride = height * outWidth
        taps.withUnsafeBufferPointer { w in
            rows.withUnsafeMutableBufferPointer { out in
                for row in 0..<height {
                    let base = row * width
                    for col in 0..<outWidth {
                        var sx = 0.0, sy = 0.0, sxx = 0.0, syy = 0.0, sxy = 0.0
                        for k in 0..<windowSize {
                            let a = Double(x[base + col + k]), b = Double(y[base + col + k]), wk = w[k]
                            sx += wk * a; sy += wk * b
                            sxx += wk * a * a; syy += wk * b * b; sxy += wk * a * b
                        }
                        let i = row * outWidth + col
                        out[i] = sx; out[stride + i] = sy; out[2 * stride + i] = sxx
                        out[3 * stride + i] = syy; out[4 * stride + i] = sxy
                    }
                }
            }
        }
        // Vertical pass and the SSIM formula at each valid position.
        var sum = 0.0
        taps.withUnsafeBufferPointer { w in
            rows.withUnsafeBufferPointer { m in
                for row in 0..<outHeight {
                    for col in 0..<outWidth {
                        var ux = 0.0, uy = 0.0, uxx = 0.0, uyy = 0.0, uxy = 0.0
                        for k in 0..<windowSize {
                            let i = (row + k) * outWidth + col, wk = w[k]
                            ux += wk * m[i]; uy += wk * m[stride + i]; uxx += wk * m[2 * stride + i]
                            uyy += wk * m[3 * stride + i]; uxy += wk * m[4 * stride + i]
                        }
                        let vx = uxx - ux * ux, vy = uyy - uy * uy, vxy = uxy - ux * uy
                        sum += ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
                    }
                }
            }
        }
        return sum / Double(outWidth * outHeight)
    }
}
