import Foundation
import VidPred

/// `vidpred report`: one HTML page about a run (no server, no network: charts are inline SVG,
/// pictures are data URIs, except large GIFs, linked from the run's predictions: see
/// `embeddedGIFBytes`), plus each chart as a standalone SVG file next to it.
public struct RunReport {
    public let run: RunRecord
    public let predictions: PredictionLayout
    public let manifest: PredictionManifest?
    public let evaluation: EvaluationFile?
    /// At most this many predicted videos are shown with their GIFs and contact sheets.
    public var maxVideos = 6
    /// The side-by-side GIFs are embedded while together they stay under this many bytes. Beyond
    /// it (a 630-frame GIF of 32x64 frames enlarged 3x is about 10 MB) they are linked by relative
    /// path instead, so the page stays a few MB and loads at once; it then shows them as long as it
    /// stays inside its run folder (the page says so).
    public var embeddedGIFBytes = 4_000_000

    public init(runFolder: URL) throws {
        run = try RunRecord.load(runFolder)
        predictions = PredictionLayout(run: RunFolder(runFolder))
        manifest = try PredictionManifest.read(predictions.manifest)
        evaluation = try EvaluationFile.read(RunFolder(runFolder).evaluation)
    }

    public var charts: [NamedChart] { RunCharts.all(run, evaluation: evaluation) }

    /// Writes `index.html` and `<chart>.svg` into `folder` (default: the run's `report/`).
    /// Returns the page's URL.
    @discardableResult
    public func write(to folder: URL? = nil) throws -> URL {
        let out = folder ?? RunFolder(run.folder).report
        let charts = self.charts
        for c in charts {
            try FileOutput.write(c.chart.svg(id: c.name), to: out.appendingPathComponent("\(c.name).svg"))
        }
        let page = out.appendingPathComponent("index.html")
        try FileOutput.write(html(charts: charts, pageFolder: out), to: page)
        return page
    }

    /// The page; `pageFolder` (default: the run's `report/`) is where it will be, for links.
    public func html(charts: [NamedChart]? = nil, pageFolder: URL? = nil) throws -> String {
        let charts = charts ?? self.charts
        func chart(_ name: String) -> String {
            charts.first { $0.name == name }.map { "<figure id=\"chart-\($0.name)\">\n\($0.chart.svg(id: $0.name))</figure>\n" } ?? ""
        }
        var body = "<h1>Run \(HTML.escape(run.name))</h1>\n"
        body += "<p class=\"meta\">\(HTML.escape(run.folder.path)) &middot; report made \(HTML.escape(Self.now()))</p>\n"
        body += try summary()
        body += "<h2>Training curves</h2>\n<div class=\"charts\">\n"
        body += chart("loss") + chart("kl") + chart("val_psnr") + chart("tfr_beta") + chart("learning_rate")
        body += "</div>\n"
        body += "<h2>Per-frame PSNR and SSIM</h2>\n<div class=\"charts\">\n" + chart("per_frame_psnr")
            + (charts.first { $0.name == "per_frame_ssim" }?.chart.hasData == true ? chart("per_frame_ssim") : "") + "</div>\n"
        body += try predictionsSection(pageFolder: pageFolder ?? RunFolder(run.folder).report)
        body += evaluationSection()
        body += "<h2>Timing and throughput</h2>\n<div class=\"charts\">\n" + chart("throughput") + "</div>\n" + timing()
        body += configSection()
        return HTML.page(title: "VidPred run \(run.name)", body: body)
    }

    // MARK: - sections

    private func summary() throws -> String {
        var rows: [[String]] = [["epochs done", String(run.epochs.count)]]
        if let best = run.bestPSNR { rows.append(["best val PSNR", String(format: "%.2f dB at epoch %d", best.valPSNR, best.epoch)]) }
        if let best = run.bestValLoss { rows.append(["best val loss", String(format: "%.5f at epoch %d", best.valLoss, best.epoch)]) }
        if let last = run.epochs.last { rows.append(["final train loss", String(format: "%.5f (epoch %d)", last.trainLoss, last.epoch)]) }
        if let last = run.validations.last { rows.append(["final val PSNR", String(format: "%.2f dB (epoch %d)", last.valPSNR, last.epoch)]) }
        if let untrained = run.validations.first(where: { $0.epoch == 0 }) {
            rows.append(["untrained model's val PSNR", String(format: "%.2f dB", untrained.valPSNR)])
        }
        if let val = evaluation?.videos.filter({ $0.split == "val" }), !val.isEmpty {
            let mean = val.map(\.baselinePSNR).reduce(0, +) / Double(val.count)
            if mean.isFinite { rows.append(["baseline val PSNR (\(EvaluationResult.baselineMethod))", String(format: "%.2f dB (scored by eval)", mean)]) }
        }
        if run.skippedBatches > 0 { rows.append(["skipped batches (non-finite)", String(run.skippedBatches)]) }
        if let config = run.trainConfig {
            rows.append(["model", "\(config.preset.modelSummary(config)), \(try config.makeModel().parameterCount) parameters"])
        }
        if let data = run.manifest?.data { rows.append(["data", "\(data.path) (\(data.fingerprint))"]) }
        for session in run.manifest?.sessions ?? [] {
            rows.append(["trained by", "VidPred \(session.vidpredVersion)\(session.commit.map { " (commit \($0))" } ?? ""), \(session.started): \(session.commandLine.joined(separator: " "))"])
        }
        return "<h2>Summary</h2>\n" + HTML.table(header: ["", ""], rows: rows, numeric: false)
    }

    private func predictionsSection(pageFolder: URL) throws -> String {
        var out = "<h2>Predictions</h2>\n"
        let videos = predictions.videos()
        guard !videos.isEmpty else {
            return out + "<p class=\"note\">No predictions yet: run <code>vidpred predict --run \(HTML.escape(run.folder.path))</code>.</p>\n"
        }
        if let m = manifest {
            out += "<p class=\"meta\">checkpoint \(HTML.escape(m.checkpoint)); \(m.samples) sample(s) per video, z: \(m.latent.rawValue), seed \(m.seed); "
            out += String(format: "generated at %.1f frames/s", m.framesPerSecond) + "</p>\n"
        }
        out += "<p class=\"note\">Animated: label | prediction | ground truth (when known), small frames enlarged 3x. Contact sheets: evenly spaced frames, one row per kind.</p>\n"
        let gifs = videos.prefix(maxVideos).map { $0.folder.appendingPathComponent("side_by_side.gif") }
        let gifBytes = gifs.reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1.path)[.size] as? Int) ?? 0) }
        let embed = gifBytes <= embeddedGIFBytes
        if !embed {
            out += "<p class=\"note\">The animations (\(String(format: "%.1f", Double(gifBytes) / 1e6)) MB) are linked from "
            out += "\(HTML.escape(predictions.root.path)) rather than embedded, to keep this page small: move the run folder as a whole to keep them.</p>\n"
        }
        out += "<div class=\"videos\">\n"
        for (video, gif) in zip(videos, gifs) {
            guard let data = try? (embed ? Data(contentsOf: gif) : FileHandle(forReadingFrom: gif).read(upToCount: 8)) else { continue }
            let source = embed ? HTML.dataURI(data, mimeType: "image/gif") : HTML.escape(Self.relativePath(of: gif, from: pageFolder))
            out += "<figure><img class=\"pixel\" alt=\"\(HTML.escape(video.split))/\(HTML.escape(video.name)) side by side\" "
            out += "src=\"\(source)\" style=\"width: \(Self.gifWidth(data))px\">"
            out += "<figcaption>\(HTML.escape(video.split))/\(HTML.escape(video.name))</figcaption></figure>\n"
        }
        out += "</div>\n"
        for video in videos.prefix(maxVideos) {
            let sheet = video.folder.appendingPathComponent("contact_sheet.png")
            guard let data = try? Data(contentsOf: sheet) else { continue }
            out += "<h3>Contact sheet: \(HTML.escape(video.split))/\(HTML.escape(video.name))</h3>\n"
            // Each row of the sheet gets its name beside it: the sheet spans a grid of equal rows.
            let truth = manifest?.videos.first { $0.split == video.split && $0.name == video.name }?.hasGroundTruth ?? false
            let rows = ["label"] + (truth ? ["ground truth"] : []) + video.samples.indices.map { "sample \($0)" }
            out += "<figure class=\"sheet\" style=\"grid-template-rows: repeat(\(rows.count), 1fr)\">"
            out += rows.enumerated().map { "<span style=\"grid-row: \($0.offset + 1)\">\($0.element)</span>" }.joined()
            out += "<img class=\"pixel\" alt=\"contact sheet \(HTML.escape(video.split))/\(HTML.escape(video.name))\" "
            out += "src=\"\(HTML.dataURI(data, mimeType: "image/png"))\" style=\"grid-row: 1 / span \(rows.count)\"></figure>\n"
        }
        if videos.count > maxVideos { out += "<p class=\"note\">\(videos.count - maxVideos) more video(s) in \(HTML.escape(predictions.root.path)).</p>\n" }
        return out
    }

    private func evaluationSection() -> String {
        guard let evaluation, !evaluation.videos.isEmpty else {
            return "<h2>Scores</h2>\n<p class=\"note\">No eval.json yet: run <code>vidpred eval --run \(HTML.escape(run.folder.path))</code>.</p>\n"
        }
        func dB(_ x: Double) -> String { x.isFinite ? String(format: "%.2f", x) : "-" }
        func r(_ x: Double) -> String { x.isFinite ? String(format: "%.4f", x) : "-" }
        let rows = evaluation.videos.map { v in
            ["\(v.split)/\(v.name)", String(v.samples), dB(v.meanPSNR), dB(v.bestPSNR), dB(v.baselinePSNR), r(v.meanSSIM), r(v.bestSSIM),
             dB(v.meanLabScore), dB(v.bestLabScore), dB(v.baselineLabScore)]
        }
        return "<h2>Scores</h2>\n<p class=\"note\">PSNR and SSIM (range 1) over frames 1..T-1; the lab score: PSNR on 0-255 values over frames 1..600. Mean and best over the K samples. Baseline: the video's first frame repeated, scored the same way: what a model must beat.</p>\n"
            + HTML.table(header: ["video", "K", "PSNR mean", "PSNR best", "baseline PSNR", "SSIM mean", "SSIM best", "lab score mean",
                                  "lab score best", "baseline lab score"], rows: rows)
    }

    private func timing() -> String {
        var rows: [[String]] = []
        rows.append(["training time", Self.clock(run.trainingSeconds)])
        if !run.epochs.isEmpty {
            let seconds = run.epochs.map(\.seconds)
            rows.append(["seconds per epoch (mean)", String(format: "%.1f", seconds.reduce(0, +) / Double(seconds.count))])
            rows.append(["training frames per second (mean)", String(format: "%.1f", run.meanFramesPerSecond)])
        }
        if !run.validations.isEmpty {
            let seconds = run.validations.map(\.seconds)
            let frames = run.validations.last?.psnrPerFrame.count ?? 0
            rows.append(["validation rollout seconds (mean)", String(format: "%.2f (%d frames)", seconds.reduce(0, +) / Double(seconds.count), frames)])
        }
        if let m = manifest {
            rows.append(["prediction", String(format: "%d video(s) x %d sample(s): %.1f s generating (%.1f frames/s), %.1f s in all with the pictures",
                                                 m.videos.count, m.samples, m.generationSeconds, m.framesPerSecond, m.seconds)])
        }
        return HTML.table(header: ["", ""], rows: rows, numeric: false)
    }

    private func configSection() -> String {
        guard !run.config.isEmpty else { return "<h2>Configuration</h2>\n<p class=\"note\">config.json is missing.</p>\n" }
        // Settings another preset's model reads (a lab run's pyramid widths) would only mislead.
        let preset = run.trainConfig?.preset
        let rows = run.config.keys.sorted().filter { key in
            guard let preset, let only = TrainConfig.setting(named: key)?.preset else { return true }
            return only == preset
        }.map { [$0, run.config[$0]!.description] }
        // Two tables side by side: the list is long and narrow.
        let half = (rows.count + 1) / 2
        return "<h2>Configuration</h2>\n<div class=\"columns\">\n"
            + HTML.table(header: ["key", "value"], rows: Array(rows[..<half]), numeric: false)
            + HTML.table(header: ["key", "value"], rows: Array(rows[half...]), numeric: false) + "</div>\n"
    }

    /// `file` as a relative URL path from `folder` (`../predictions/val/0/side_by_side.gif`).
    static func relativePath(of file: URL, from folder: URL) -> String {
        let target = file.standardizedFileURL.pathComponents, base = folder.standardizedFileURL.pathComponents
        let common = zip(target, base).prefix { $0 == $1 }.count
        let parts = Array(repeating: "..", count: base.count - common) + target[common...]
        return parts.map { $0.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? $0 }.joined(separator: "/")
    }

    /// The logical screen width from a GIF header (bytes 6-7, little-endian).
    static func gifWidth(_ data: Data) -> Int {
        let bytes = [UInt8](data.prefix(8))
        return bytes.count == 8 ? Int(bytes[6]) | Int(bytes[7]) << 8 : 196
    }

    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "-" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d (%.1f s)", s / 60, s % 60, seconds)
    }

    static func now() -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd HH:mm"
        return f.string(from: Date())
    }
}
