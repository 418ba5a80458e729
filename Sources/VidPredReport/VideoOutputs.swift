import Foundation
import VidPredData

/// The pictures of one predicted video: PNG frames and an animated GIF per sample, a side-by-side
/// GIF (label | prediction | ground truth) and a contact sheet. See `PredictionLayout`.
public struct VideoOutputs {
    public var labels: [RGBImage]
    /// Real frames, when known (val videos, test videos with test_gt).
    public var groundTruth: [RGBImage]?
    /// samples[k][t]: frame t of sample k.
    public var samples: [[RGBImage]]

    public var gifOptions = GIFOptions()
    /// Frames shown in the contact sheet (evenly spaced, first and last included).
    public var sheetColumns = 10
    public var sheetScale = 2
    /// Enlargement of the side-by-side GIF (pixels repeated, so they stay sharp): the lab's 64x32
    /// frames are too small to judge at their own size. Frames already 96 or more pixels high are
    /// kept as they are.
    public var gifScale: Int { max(1, min(3, 96 / max(1, samples.first?.first?.height ?? 96))) }

    public init(labels: [RGBImage], groundTruth: [RGBImage]?, samples: [[RGBImage]]) {
        self.labels = labels
        self.groundTruth = groundTruth
        self.samples = samples
    }

    /// Writes everything into `folder`, replacing what was there: the files are made in a hidden
    /// folder next to it that is renamed into place at the end, so an interrupted run leaves the
    /// previous predictions intact (and no stale sample of an earlier `--samples`).
    public func write(to folder: URL) throws {
        guard let first = samples.first, !first.isEmpty else { throw ReportError("no predicted frames for \(folder.path)") }
        try FileOutput.makeFolder(folder.deletingLastPathComponent())
        let staging = FileOutput.temporaryURL(for: folder)
        do {
            for (k, frames) in samples.enumerated() {
                let sampleFolder = PredictionLayout.sampleFolder(in: staging, sample: k)
                let framesFolder = PredictionLayout.framesFolder(in: sampleFolder)
                try FileOutput.makeFolder(framesFolder)
                for (t, frame) in frames.enumerated() {
                    try PNG.write(frame, to: framesFolder.appendingPathComponent(PredictionLayout.frameName(t)))
                }
                try GIF.write(frames, to: sampleFolder.appendingPathComponent("prediction.gif"), options: gifOptions)
            }
            try GIF.write(try sideBySide(), to: staging.appendingPathComponent("side_by_side.gif"), options: gifOptions)
            let sheet = try ContactSheet.make(rows: try sheetRows(), spacing: 2, scale: sheetScale, background: Self.separator)
            try PNG.write(sheet, to: staging.appendingPathComponent("contact_sheet.png"))
        } catch {
            try? FileManager.default.removeItem(at: staging)
            throw error
        }
        try FileOutput.replaceFolder(folder, with: staging)
    }

    /// Grey between frames: labels are drawn on white, so white borders would hide their edges.
    static let separator = SIMD3<Float>(0.55, 0.55, 0.55)

    /// Each frame of sample 0 between its label and, when known, the real frame, 1 px of grey
    /// between them, enlarged `gifScale` times.
    public func sideBySide() throws -> [RGBImage] {
        let prediction = samples[0]
        return try prediction.indices.map { t in
            var row = [t < labels.count ? labels[t] : blank(like: prediction[t]), prediction[t]]
            if let truth = groundTruth { row.append(t < truth.count ? truth[t] : blank(like: prediction[t])) }
            return try ContactSheet.make(rows: [row], spacing: 1, scale: gifScale, background: Self.separator)
        }
    }

    /// Rows: label, ground truth (when known), then each sample, at `sheetColumns` times.
    public func sheetRows() throws -> [[RGBImage]] {
        let length = samples[0].count
        let columns = max(1, min(sheetColumns, length))
        let times = columns == 1 ? [0] : (0..<columns).map { Int((Double($0) * Double(length - 1) / Double(columns - 1)).rounded()) }
        func pick(_ frames: [RGBImage]) -> [RGBImage] { times.filter { $0 < frames.count }.map { frames[$0] } }
        var rows = [pick(labels)]
        if let truth = groundTruth { rows.append(pick(truth)) }
        rows += samples.map(pick)
        return rows
    }

    private func blank(like image: RGBImage) -> RGBImage {
        RGBImage(width: image.width, height: image.height, fill: SIMD3(1, 1, 1))
    }
}
