import Foundation

/// A grid of frames on one image: rows of frames (e.g. ground truth / prediction / label over
/// time), separated by `spacing` pixels of background, each frame enlarged `scale` times.
public enum ContactSheet {
    /// Rows may have different lengths; every cell is as large as the largest frame, smaller
    /// frames sit in the top-left corner of their cell.
    public static func make(rows: [[RGBImage]], spacing: Int = 2, scale: Int = 1,
                            background: SIMD3<Float> = SIMD3(1, 1, 1)) throws -> RGBImage {
        let frames = rows.flatMap { $0 }
        guard !frames.isEmpty else {
            throw DataError.invalid("contact sheet", "no frames", fix: "pass at least one frame")
        }
        guard spacing >= 0, scale >= 1 else {
            throw DataError.invalid("contact sheet", "spacing \(spacing) / scale \(scale) out of range",
                                    fix: "use spacing >= 0 and scale >= 1")
        }
        let cellWidth = (frames.map(\.width).max() ?? 1) * scale
        let cellHeight = (frames.map(\.height).max() ?? 1) * scale
        let columns = rows.map(\.count).max() ?? 1
        let width = columns * cellWidth + (columns + 1) * spacing
        let height = rows.count * cellHeight + (rows.count + 1) * spacing
        var sheet = RGBImage(width: width, height: height, fill: background)
        for (r, row) in rows.enumerated() {
            for (c, frame) in row.enumerated() {
                let big = frame.upscaled(by: scale)
                let left = spacing + c * (cellWidth + spacing)
                let top = spacing + r * (cellHeight + spacing)
                for channel in 0..<3 {
                    for y in 0..<big.height {
                        let source = (channel * big.height + y) * big.width
                        let target = (channel * height + top + y) * width + left
                        sheet.pixels.replaceSubrange(target..<(target + big.width), with: big.pixels[source..<(source + big.width)])
                    }
                }
            }
        }
        return sheet
    }

    /// Makes the sheet and writes it as an 8-bit PNG (atomically).
    public static func write(rows: [[RGBImage]], to url: URL, spacing: Int = 2, scale: Int = 1) throws {
        try PNG.write(make(rows: rows, spacing: spacing, scale: scale), to: url)
    }
}
