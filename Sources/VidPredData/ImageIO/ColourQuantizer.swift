/// Reduces an image to at most 256 colours for GIF, as faithfully as possible: these GIFs are how
/// users look at predictions, so banding or wrong colours would misrepresent the model.
///
/// Method: if the frame has few enough distinct colours they are used exactly (lossless).
/// Otherwise median cut over the distinct colours weighted by pixel count (split the box with the
/// widest channel range at its weighted median), then a few k-means (Lloyd) iterations to move
/// each palette entry to the mean of the pixels it represents. No dithering: dither patterns
/// change from frame to frame and flicker in an animation.
struct ColourQuantizer {
    /// Palette colours (8-bit RGB) and, for every pixel, its palette index.
    struct Result {
        var palette: [SIMD3<UInt8>]
        var indices: [UInt8]
    }

    var maxColours = 256
    var refinementSteps = 3

    /// `rgb` is interleaved 8-bit RGB of `pixelCount` pixels.
    func quantize(rgb: [UInt8], pixelCount: Int) -> Result {
        // Distinct colours and their pixel counts, in first-seen order (deterministic).
        var slotOfColour: [UInt32: Int] = [:]
        var colours: [SIMD3<Int32>] = []
        var weights: [Int] = []
        var slotOfPixel = [Int](repeating: 0, count: pixelCount)
        for p in 0..<pixelCount {
            let key = UInt32(rgb[3 * p]) << 16 | UInt32(rgb[3 * p + 1]) << 8 | UInt32(rgb[3 * p + 2])
            if let slot = slotOfColour[key] {
                weights[slot] += 1
                slotOfPixel[p] = slot
            } else {
                slotOfColour[key] = colours.count
                slotOfPixel[p] = colours.count
                colours.append(SIMD3(Int32(rgb[3 * p]), Int32(rgb[3 * p + 1]), Int32(rgb[3 * p + 2])))
                weights.append(1)
            }
        }
        if colours.count <= maxColours {
            let palette = colours.map { SIMD3<UInt8>(truncatingIfNeeded: $0) }
            return Result(palette: palette, indices: slotOfPixel.map { UInt8($0) })
        }
        var centres = medianCut(colours: colours, weights: weights)
        var assignment = nearest(colours: colours, centres: centres)
        for _ in 0..<refinementSteps {
            centres = means(colours: colours, weights: weights, assignment: assignment, previous: centres)
            assignment = nearest(colours: colours, centres: centres)
        }
        let palette = centres.map { c in SIMD3<UInt8>(UInt8(clamping: Int(c.x.rounded())), UInt8(clamping: Int(c.y.rounded())), UInt8(clamping: Int(c.z.rounded()))) }
        // Map with the rounded palette actually written to the file.
        let finalAssignment = nearest(colours: colours, centres: palette.map { SIMD3<Double>(Double($0.x), Double($0.y), Double($0.z)) })
        return Result(palette: palette, indices: slotOfPixel.map { UInt8(finalAssignment[$0]) })
    }

    /// Median cut: returns the weighted mean colour of each final box.
    private func medianCut(colours: [SIMD3<Int32>], weights: [Int]) -> [SIMD3<Double>] {
        struct Box {
            var members: [Int]
            var channel: Int
            var range: Int32
        }
        func box(_ members: [Int]) -> Box {
            let (channel, range) = widestChannel(members, colours)
            return Box(members: members, channel: channel, range: members.count > 1 ? range : 0)
        }
        var boxes = [box(Array(colours.indices))]
        while boxes.count < maxColours {
            // The box with the widest single-channel range (ties: the first) is split next.
            var best = -1, bestRange: Int32 = 0
            for (b, candidate) in boxes.enumerated() where candidate.range > bestRange {
                best = b
                bestRange = candidate.range
            }
            if best < 0 { break }
            let channel = boxes[best].channel
            let sorted = boxes[best].members.sorted { colours[$0][channel] < colours[$1][channel] }
            // Split at the weighted median, keeping both halves non-empty.
            let total = sorted.reduce(0) { $0 + weights[$1] }
            var running = 0, cut = 1
            for (i, member) in sorted.enumerated() {
                running += weights[member]
                if running * 2 >= total { cut = max(1, min(sorted.count - 1, i + 1)); break }
            }
            boxes[best] = box(Array(sorted[..<cut]))
            boxes.append(box(Array(sorted[cut...])))
        }
        return boxes.map { box in
            var sum = SIMD3<Double>(0, 0, 0), total = 0.0
            for m in box.members {
                let w = Double(weights[m])
                sum += SIMD3(Double(colours[m].x), Double(colours[m].y), Double(colours[m].z)) * w
                total += w
            }
            return sum / total
        }
    }

    private func widestChannel(_ members: [Int], _ colours: [SIMD3<Int32>]) -> (Int, Int32) {
        var low = SIMD3<Int32>(repeating: 255), high = SIMD3<Int32>(repeating: 0)
        for m in members {
            low = pointwiseMin(low, colours[m])
            high = pointwiseMax(high, colours[m])
        }
        let range = high &- low
        if range.x >= range.y && range.x >= range.z { return (0, range.x) }
        return range.y >= range.z ? (1, range.y) : (2, range.z)
    }

    /// Index of the nearest centre for each colour. Centres are sorted by red so the search can
    /// stop once the red difference alone exceeds the best distance found (about 10x fewer
    /// distance computations than trying all 256 centres).
    private func nearest(colours: [SIMD3<Int32>], centres: [SIMD3<Double>]) -> [Int] {
        let order = centres.indices.sorted { centres[$0].x < centres[$1].x }
        let sorted = order.map { centres[$0] }
        let reds = sorted.map(\.x)
        return colours.map { colour in
            let c = SIMD3<Double>(Double(colour.x), Double(colour.y), Double(colour.z))
            // First centre with red >= the colour's red.
            var low = 0, high = reds.count
            while low < high {
                let mid = (low + high) / 2
                if reds[mid] < c.x { low = mid + 1 } else { high = mid }
            }
            var best = 0, bestDistance = Double.infinity
            var up = low, down = low - 1
            while up < sorted.count || down >= 0 {
                if up < sorted.count {
                    let dr = sorted[up].x - c.x
                    if dr * dr >= bestDistance {
                        up = sorted.count
                    } else {
                        let d = sorted[up] - c
                        let distance = (d * d).sum()
                        if distance < bestDistance { bestDistance = distance; best = up }
                        up += 1
                    }
                }
                if down >= 0 {
                    let dr = c.x - sorted[down].x
                    if dr * dr >= bestDistance {
                        down = -1
                    } else {
                        let d = sorted[down] - c
                        let distance = (d * d).sum()
                        if distance < bestDistance { bestDistance = distance; best = down }
                        down -= 1
                    }
                }
            }
            return order[best]
        }
    }

    private func means(colours: [SIMD3<Int32>], weights: [Int], assignment: [Int], previous: [SIMD3<Double>]) -> [SIMD3<Double>] {
        var sums = [SIMD3<Double>](repeating: .zero, count: previous.count)
        var totals = [Double](repeating: 0, count: previous.count)
        for (i, colour) in colours.enumerated() {
            let w = Double(weights[i])
            sums[assignment[i]] += SIMD3(Double(colour.x), Double(colour.y), Double(colour.z)) * w
            totals[assignment[i]] += w
        }
        // An entry that lost all its pixels keeps its colour (it costs nothing and stays valid).
        return previous.indices.map { totals[$0] > 0 ? sums[$0] / totals[$0] : previous[$0] }
    }
}
