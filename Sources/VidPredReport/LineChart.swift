import Foundation

/// A line chart drawn as SVG by our own code: axes with "nice" ticks, axis labels, a title, a
/// legend, linear or logarithmic y. The same SVG is inlined in the HTML report and written as a
/// standalone `.svg` file, so it carries its own white background and fonts.
public struct LineChart: Sendable {
    public enum Scale: Sendable { case linear, log }

    public enum Style: Sendable { case line, points, lineAndPoints }

    /// One named curve (an empty name keeps it out of the legend). Points with a non-finite (or,
    /// on a log axis, non-positive) y break the line.
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var style: Style
        public var dashed: Bool
        /// CSS colour; nil = the palette colour of the series' position.
        public var colour: String?

        public init(_ name: String, points: [(x: Double, y: Double)], style: Style = .line, dashed: Bool = false, colour: String? = nil) {
            self.name = name
            self.points = points
            self.style = style
            self.dashed = dashed
            self.colour = colour
        }

        /// y values at x = 0, 1, 2, ... (or at `start`, `start` + 1, ...).
        public init(_ name: String, values: [Double], start: Double = 0, style: Style = .line, dashed: Bool = false, colour: String? = nil) {
            self.init(name, points: values.enumerated().map { (start + Double($0.offset), $0.element) }, style: style,
                      dashed: dashed, colour: colour)
        }
    }

    /// Colour-blind-safe palette (Okabe-Ito), in series order.
    public static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    public var yScale: Scale
    public var width: Double
    /// Height without the legend: the SVG grows by one line per legend row, so every chart of a
    /// page has the same plot size however many series it shows.
    public var height: Double
    /// Fixed y range (e.g. 0...1 for a ratio); nil = from the data.
    public var yRange: ClosedRange<Double>?

    public init(title: String, xLabel: String, yLabel: String, series: [Series], yScale: Scale = .linear,
                width: Double = 640, height: Double = 360, yRange: ClosedRange<Double>? = nil) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.yScale = yScale
        self.width = width
        self.height = height
        self.yRange = yRange
    }

    /// Whether any series has a point that can be drawn.
    public var hasData: Bool { series.contains { $0.points.contains { usable($0) } } }

    private func usable(_ p: (x: Double, y: Double)) -> Bool {
        p.x.isFinite && p.y.isFinite && (yScale == .linear || p.y > 0)
    }

    // MARK: - layout

    private static let fontSize = 12.0
    private static let charWidth = 6.6  // average glyph width of 12 px sans-serif, for legend layout

    /// Legend entries laid out in rows under the plot: (series index, x, row).
    private func legendLayout(available: Double) -> [(Int, Double, Int)] {
        var result: [(Int, Double, Int)] = []
        var x = 0.0, row = 0
        for (i, s) in series.enumerated() where !s.name.isEmpty {
            let entry = 28 + Double(s.name.count) * Self.charWidth + 16
            if x > 0 && x + entry > available { x = 0; row += 1 }
            result.append((i, x, row))
            x += entry
        }
        return result
    }

    /// The chart as a standalone SVG document (also valid inline in HTML).
    public func svg(id: String? = nil) -> String {
        let left = 70.0, right = 20.0, top = 36.0
        let legend = legendLayout(available: width - left - right)
        let legendRows = (legend.map(\.2).max() ?? -1) + 1
        let bottom = 46.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let totalHeight = height + Double(legendRows) * 18 + (legendRows > 0 ? 8 : 0)
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\"\(id.map { " id=\"\(HTML.escape($0))\"" } ?? "") "
        out += "width=\"\(f(width))\" height=\"\(f(totalHeight))\" viewBox=\"0 0 \(f(width)) \(f(totalHeight))\" "
        out += "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"\(f(Self.fontSize))\" role=\"img\">\n"
        out += "<title>\(HTML.escape(title))</title>\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
        out += "<text x=\"\(f(width / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(HTML.escape(title))</text>\n"

        let drawable = series.flatMap { $0.points.filter(usable) }
        guard !drawable.isEmpty else {
            out += "<text x=\"\(f(width / 2))\" y=\"\(f(totalHeight / 2))\" text-anchor=\"middle\" fill=\"#666\">no data</text>\n</svg>\n"
            return out
        }
        // Counts on x (epochs, frames) get whole-number ticks: "epoch 1.5" means nothing.
        let xValues = drawable.map(\.x)
        // The x axis spans the data exactly (a 630-frame video's axis ends at its last frame, not at 800).
        let xAxis = Axis(values: xValues, scale: .linear, fixed: nil, wholeNumbers: xValues.allSatisfy { $0 == $0.rounded() }, tight: true)
        let yAxis = Axis(values: drawable.map(\.y), scale: yScale, fixed: yRange)
        // A few pixels between the frame and the data, so points on the axis limits stay whole.
        let inset = 6.0
        func px(_ x: Double) -> Double { left + inset + xAxis.fraction(x) * (plotWidth - 2 * inset) }
        func py(_ y: Double) -> Double { top + inset + (1 - yAxis.fraction(y)) * (plotHeight - 2 * inset) }

        // Grid and ticks.
        out += "<g stroke=\"#e4e4e4\" stroke-width=\"1\">\n"
        for t in yAxis.ticks { out += "<line x1=\"\(f(left))\" x2=\"\(f(left + plotWidth))\" y1=\"\(f(py(t)))\" y2=\"\(f(py(t)))\"/>\n" }
        for t in xAxis.ticks { out += "<line y1=\"\(f(top))\" y2=\"\(f(top + plotHeight))\" x1=\"\(f(px(t)))\" x2=\"\(f(px(t)))\"/>\n" }
        out += "</g>\n<g fill=\"#333\">\n"
        for t in yAxis.ticks {
            out += "<text x=\"\(f(left - 6))\" y=\"\(f(py(t) + 4))\" text-anchor=\"end\">\(HTML.escape(yAxis.label(t)))</text>\n"
        }
        for t in xAxis.ticks {
            out += "<text x=\"\(f(px(t)))\" y=\"\(f(top + plotHeight + 16))\" text-anchor=\"middle\">\(HTML.escape(xAxis.label(t)))</text>\n"
        }
        out += "</g>\n"
        out += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" fill=\"none\" stroke=\"#333\"/>\n"
        out += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(top + plotHeight + 34))\" text-anchor=\"middle\">\(HTML.escape(xLabel))</text>\n"
        out += "<text transform=\"translate(16 \(f(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">\(HTML.escape(yLabel))</text>\n"

        // Series, clipped to the plot area.
        let clipID = "clip-" + (id ?? HTML.slug(title))
        out += "<defs><clipPath id=\"\(HTML.escape(clipID))\"><rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\"/></clipPath></defs>\n"
        out += "<g clip-path=\"url(#\(HTML.escape(clipID)))\" fill=\"none\" stroke-width=\"1.8\" stroke-linejoin=\"round\">\n"
        for (i, s) in series.enumerated() {
            let colour = s.colour ?? Self.palette[i % Self.palette.count]
            if s.style != .points {
                // One path with a move-to after every gap.
                var d = "", pen = false
                for p in s.points {
                    guard usable(p) else { pen = false; continue }
                    d += "\(pen ? "L" : "M")\(f(px(p.x))) \(f(py(p.y)))"
                    pen = true
                }
                if !d.isEmpty {
                    out += "<path d=\"\(d)\" stroke=\"\(colour)\"\(s.dashed ? " stroke-dasharray=\"6 4\"" : "")/>\n"
                }
            }
            if s.style != .line {
                for p in s.points where usable(p) {
                    out += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"3\" fill=\"\(colour)\" stroke=\"none\"/>\n"
                }
            }
        }
        out += "</g>\n"

        // Legend under the x-axis label.
        let legendTop = top + plotHeight + 50
        for (i, x, row) in legend {
            let s = series[i]
            let colour = s.colour ?? Self.palette[i % Self.palette.count]
            let y = legendTop + Double(row) * 18
            let x0 = left + x
            if s.style == .points {
                out += "<circle cx=\"\(f(x0 + 11))\" cy=\"\(f(y))\" r=\"4\" fill=\"\(colour)\"/>\n"
            } else {
                out += "<line x1=\"\(f(x0))\" x2=\"\(f(x0 + 22))\" y1=\"\(f(y))\" y2=\"\(f(y))\" stroke=\"\(colour)\" stroke-width=\"2.5\"\(s.dashed ? " stroke-dasharray=\"6 4\"" : "")/>\n"
            }
            out += "<text x=\"\(f(x0 + 28))\" y=\"\(f(y + 4))\">\(HTML.escape(s.name))</text>\n"
        }
        out += "</svg>\n"
        return out
    }

    private func f(_ v: Double) -> String { String(format: "%.1f", v) }
}

/// One axis: its range, where values fall (0...1 along it) and its tick values and labels.
struct Axis {
    let scale: LineChart.Scale
    let low: Double
    let high: Double
    let ticks: [Double]
    private let step: Double

    /// `tight`: the axis ends at the data's extremes, its ticks at the nice steps between them.
    init(values: [Double], scale: LineChart.Scale, fixed: ClosedRange<Double>?, wholeNumbers: Bool = false, tight: Bool = false) {
        self.scale = scale
        var lo = fixed?.lowerBound ?? values.min() ?? 0
        var hi = fixed?.upperBound ?? values.max() ?? 1
        switch scale {
        case .linear:
            if lo == hi { lo -= lo == 0 ? 1 : abs(lo) * 0.1; hi += hi == 0 ? 1 : abs(hi) * 0.1 }
            var step = Axis.niceStep((hi - lo) / 5)
            if wholeNumbers && step < 1 { step = 1 }
            if fixed == nil && !tight {
                lo = (lo / step).rounded(.down) * step
                hi = (hi / step).rounded(.up) * step
            }
            self.step = step
            let first = (lo / step).rounded(.up)
            let last = (hi / step).rounded(.down)
            ticks = first <= last ? stride(from: first, through: last, by: 1).map { $0 * step } : []
        case .log:
            lo = max(lo, Double.leastNormalMagnitude)
            hi = max(hi, lo)
            var lowDecade = floor(log10(lo)), highDecade = ceil(log10(hi))
            if lowDecade == highDecade { lowDecade -= 1; highDecade += 1 }
            if fixed == nil { lo = pow(10, lowDecade); hi = pow(10, highDecade) }
            self.step = 1
            let decades = highDecade - lowDecade
            // Few decades: label 1, 2 and 5 of each; many: every decade (or every other one).
            let mantissas: [Double] = decades <= 2 ? [1, 2, 5] : [1]
            let every = decades > 8 ? 2.0 : 1
            var t: [Double] = []
            for d in stride(from: lowDecade, through: highDecade, by: every) {
                for m in mantissas {
                    let v = m * pow(10, d)
                    if v >= lo * 0.999_999 && v <= hi * 1.000_001 { t.append(v) }
                }
            }
            ticks = t
        }
        low = lo
        high = hi
    }

    /// 1, 2 or 5 times a power of ten, the nearest at or above `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let magnitude = pow(10, floor(log10(raw)))
        let r = raw / magnitude
        let nice: Double = r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10
        return nice * magnitude
    }

    func fraction(_ v: Double) -> Double {
        switch scale {
        case .linear: return high == low ? 0.5 : (v - low) / (high - low)
        case .log: return high == low ? 0.5 : (log10(max(v, Double.leastNormalMagnitude)) - log10(low)) / (log10(high) - log10(low))
        }
    }

    func label(_ v: Double) -> String {
        switch scale {
        case .linear:
            if abs(v) < step * 1e-6 { return "0" }
            if step >= 1 && abs(v) < 1e6 { return String(format: "%.0f", v) }
            if abs(v) >= 1e5 || abs(v) < 1e-3 { return String(format: "%.0e", v) }
            let decimals = max(0, Int(-floor(log10(step))))
            return String(format: "%.\(decimals)f", v)
        case .log:
            if v >= 1e-3 && v < 1e4 {
                let s = String(format: "%g", v)
                return s
            }
            return String(format: "%.0e", v)
        }
    }
}
