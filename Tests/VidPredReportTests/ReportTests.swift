import Foundation
import Testing
import Torch
import VidPred
import VidPredData
import VidPredReport
#if canImport(FoundationXML)
import FoundationXML
#endif

/// A real (tiny) run folder made by the Trainer, with predictions and eval.json.
enum RunFixture {
    static func tinyConfig(epochs: Int = 3) -> TrainConfig {
        var c = TrainConfig()
        c.frameDim = 16; c.labelDim = 8; c.noiseDim = 4; c.decoderDim = 24
        c.height = 8; c.width = 16
        c.trainVideoLength = 4
        c.epochs = epochs
        c.lrSchedule = .constant
        c.klAnnealType = .monotonic
        c.valVideoLength = 6
        c.perSave = 0
        return c
    }

    static func trainingData(height: Int = 8, width: Int = 16) throws -> TrainingData {
        func video(_ n: Int, seed: UInt64) throws -> VideoTensors {
            try VideoTensors(frames: TestSupport.frames(n, height: height, width: width, seed: seed).flatMap(\.pixels),
                             labels: TestSupport.frames(n, height: height, width: width, seed: seed + 50).flatMap(\.pixels),
                             count: n, height: height, width: width)
        }
        return TrainingData(train: [try video(16, seed: 1)], validation: [try video(8, seed: 2)])
    }

    /// Trains, then writes predictions (one val video, two samples) and eval.json into the run.
    static func make(in folder: URL) throws -> URL {
        _ = TestSupport.singleThreaded
        let run = folder.appendingPathComponent("tiny-run")
        try Trainer(config: tinyConfig(), data: trainingData(), run: RunFolder(run)).run()
        let layout = PredictionLayout(run: RunFolder(run))
        let labels = TestSupport.frames(6, height: 8, width: 16, seed: 52)
        let truth = TestSupport.frames(6, height: 8, width: 16, seed: 2)
        let samples = [TestSupport.frames(6, height: 8, width: 16, seed: 7), TestSupport.frames(6, height: 8, width: 16, seed: 8)]
        try VideoOutputs(labels: labels, groundTruth: truth, samples: samples).write(to: layout.videoFolder(split: "val", video: "0"))
        let nowhere = DataRecord(path: "/nowhere", fingerprint: DatasetFingerprint(files: 0, bytes: 0, hash: "0"))
        try PredictionManifest(checkpoint: "checkpoints/best.safetensors", data: nowhere, seed: 0, samples: 2, latent: .standardNormal,
                               height: 8, width: 16, videos: [.init(split: "val", name: "0", frames: 6, hasGroundTruth: true)],
                               seconds: 1.5, generationSeconds: 1, framesPerSecond: 20).write(to: layout.manifest)
        let eval: [String: Any] = ["videos": [["split": "val", "video": "0", "samples": [["psnr_per_frame": [12.0, 11.0, 10.5, 10.0, 9.0],
                                                                                             "ssim_per_frame": [0.5, 0.4, 0.3, 0.3, 0.2]]],
                                               "mean": ["psnr": 10.5, "ssim": 0.3, "lab_score": 10.4],
                                               "best": ["psnr": 10.6, "ssim": 0.31, "lab_score": 10.5],
                                               "baseline": ["psnr": 27.25, "lab_score": 27.5, "psnr_per_frame": [30.0, 28.0, 27.0, 26.0, 25.0]]]]]
        try JSONSerialization.data(withJSONObject: eval).write(to: run.appendingPathComponent("eval.json"))
        return run
    }
}

@Suite("HTML report and charts", .serialized)
struct ReportTests {
    static let chartNames = ["loss", "kl", "val_psnr", "tfr_beta", "learning_rate", "per_frame_psnr", "per_frame_ssim", "throughput"]

    /// Every src/href/url(...) target in the page: each must be inside the page (data: or #).
    static func references(in html: String) -> [String] {
        let pattern = try! NSRegularExpression(pattern: #"(?:src|href|xlink:href|action|poster|data)\s*=\s*["']([^"']*)["']|url\(\s*["']?([^"')]*)"#,
                                               options: [.caseInsensitive])
        let ns = html as NSString
        return pattern.matches(in: html, range: NSRange(location: 0, length: ns.length)).map { m in
            let r = m.range(at: 1).location != NSNotFound ? m.range(at: 1) : m.range(at: 2)
            return ns.substring(with: r)
        }
    }

    @Test("the report holds every chart, the GIFs as data URIs, the config and timing, and references nothing outside itself")
    func selfContainedReport() throws {
        let folder = try TestSupport.scratchFolder()
        defer { TestSupport.cleanUp(folder) }
        let run = try RunFixture.make(in: folder)
        let page = try RunReport(runFolder: run).write()
        #expect(page.path == run.appendingPathComponent("report/index.html").path)
        let html = try String(contentsOf: page, encoding: .utf8)
        for name in Self.chartNames {
            #expect(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"\(name)\""), "chart \(name) is inline")
            let svg = run.appendingPathComponent("report/\(name).svg")
            let data = try Data(contentsOf: svg)
            let parser = XMLParser(data: data)
            #expect(parser.parse(), "\(name).svg is well-formed XML: \(String(describing: parser.parserError))")
        }
        #expect(html.contains("data:image/gif;base64,R0lGODlh"), "the side-by-side GIF is embedded")
        #expect(html.contains("data:image/png;base64,iVBORw0KGgo"), "the contact sheet is embedded")
        #expect(html.contains("loss (log scale)"))
        for text in ["Configuration", "kl_anneal_type", "Monotonic", "Timing and throughput", "best val PSNR", "lab score",
                     "baseline val PSNR (repeat the first frame)", "27.25 dB (scored by eval)", "baseline lab score", "27.50",
                     "repeat the first frame: val/0"] {
            #expect(html.contains(text), "the page shows \(text)")
        }
        // The contact sheet's rows are named: the fixture has ground truth and two samples.
        #expect(html.contains("grid-template-rows: repeat(4, 1fr)") && html.contains(">ground truth</span>") && html.contains(">sample 1</span>"))
        // A lab run's configuration leaves out the settings only the pyramid model reads.
        #expect(html.contains("frame_dim") && !html.contains("pyramid_frame") && !html.contains("reference_frame"))
        let refs = Self.references(in: html)
        #expect(!refs.isEmpty)
        let outside = refs.filter { !$0.hasPrefix("data:") && !$0.hasPrefix("#") }
        #expect(outside.isEmpty, "references outside the page: \(outside)")
        // The only "http" text is SVG's namespace name, which is never fetched.
        let httpCount = html.components(separatedBy: "http").count - 1
        let namespaceCount = html.components(separatedBy: "xmlns=\"http://www.w3.org/2000/svg\"").count - 1
        #expect(httpCount == namespaceCount)
        #expect(!html.contains("<script") && !html.contains("@import") && !html.contains("<link"))
    }

    /// The fixture run's report written with every GIF over the embedding budget (so linked).
    static func linkedReport(in folder: URL) throws -> (run: URL, page: URL) {
        let run = try RunFixture.make(in: folder)
        var report = try RunReport(runFolder: run)
        report.embeddedGIFBytes = 0
        return (run, try report.write())
    }

    @Test func gifsOverTheBudgetAreLinkedByRelativePathsThatResolve() throws {
        let folder = try TestSupport.scratchFolder()
        defer { TestSupport.cleanUp(folder) }
        let (_, page) = try Self.linkedReport(in: folder)
        let html = try String(contentsOf: page, encoding: .utf8)
        #expect(!html.contains("data:image/gif") && html.contains("rather than embedded"))
        let links = Self.references(in: html).filter { $0.hasSuffix(".gif") }
        #expect(!links.isEmpty && links.allSatisfy { $0.hasPrefix("../predictions/") }, "\(links)")
        for link in links {
            let target = page.deletingLastPathComponent().appendingPathComponent(link.removingPercentEncoding ?? link).standardizedFileURL
            #expect(FileManager.default.fileExists(atPath: target.path), "\(link) resolves to \(target.path)")
        }
        #expect(html.contains("data:image/png;base64,iVBORw0KGgo"), "the contact sheets stay embedded")
    }

    @Test("the run record reads the trainer's metrics.jsonl: epochs, validations, best epoch, batches")
    func runRecord() throws {
        let folder = try TestSupport.scratchFolder()
        defer { TestSupport.cleanUp(folder) }
        let run = try RunFixture.make(in: folder)
        let record = try RunRecord.load(run)
        #expect(record.epochs.map(\.epoch) == [1, 2, 3])
        #expect(record.validations.count == 3 && record.validations.allSatisfy { $0.psnrPerFrame.count == 5 })
        #expect(record.bestPSNR?.valPSNR == record.validations.map(\.valPSNR).max())
        #expect(record.batches.count == 3 * 2, "16 frames in windows of 4, batch 2: two batches per epoch")
        #expect(record.config["frame_dim"]?.description == "16" && record.config["kl_anneal_type"]?.description == "Monotonic")
        #expect(record.config["shuffle"]?.description == "false")
        #expect(record.trainConfig == RunFixture.tinyConfig())
        #expect(throws: ReportError.self) { try RunRecord.load(folder.appendingPathComponent("missing")) }
    }

    static let hasChromium = ["chromium", "chromium-browser", "google-chrome"].contains { TestSupport.executable($0) != nil }

    /// scripts/render-report.sh RUN OUT.png [extra...], never installing anything.
    static func renderReport(_ run: URL, to png: URL, _ extra: [String] = [], height: Int? = nil) throws -> (status: Int32, output: String) {
        let script = TestSupport.repositoryRoot.appendingPathComponent("scripts/render-report.sh")
        var environment = ["VIDPRED_SKIP_APT": "1"]
        if let height { environment["REPORT_HEIGHT"] = String(height) }
        return try TestSupport.run(URL(fileURLWithPath: "/bin/bash"), [script.path, run.path, png.path] + extra, environment: environment)
    }

    @Test("headless chromium renders the report to a PNG without load errors (scripts/render-report.sh)",
          .enabled(if: ReportTests.hasChromium, "chromium is not installed (apt-get install -y chromium, or run scripts/render-report.sh once: it installs it)"))
    func chromiumRender() throws {
        let folder = try TestSupport.scratchFolder()
        defer { TestSupport.cleanUp(folder) }
        let run = try RunFixture.make(in: folder)
        try RunReport(runFolder: run).write()
        let png = folder.appendingPathComponent("report.png")
        let result = try Self.renderReport(run, to: png, ["--charts"])
        #expect(result.status == 0, "render-report.sh failed: \(result.output)")
        let image = try PNG.read(png)
        // As tall as the page: measured, not the 6000 px fallback.
        #expect(image.width == 1400 && image.height > 1500 && image.height < 6000, "\(image.width)x\(image.height)")
        // Not a blank page: some pixels are dark (text, axes).
        #expect(image.pixels.contains { $0 < 0.3 })
        let chart = try PNG.read(run.appendingPathComponent("report/png/loss.png"))
        let svg = try String(contentsOf: run.appendingPathComponent("report/loss.svg"), encoding: .utf8)
        let size = svg.components(separatedBy: "viewBox=\"0 0 ")[1].components(separatedBy: "\"")[0].split(separator: " ").compactMap { Double($0) }
        #expect([Double(chart.width), Double(chart.height)] == size.map { $0.rounded(.down) }, "chart PNG at the SVG's own size \(size)")
    }

    @Test("a report whose GIFs are linked renders, and a link out of the run folder fails the check",
          .enabled(if: ReportTests.hasChromium, "chromium is not installed"))
    func chromiumRendersLinkedGIFsAndRefusesLinksOutOfTheRun() throws {
        let folder = try TestSupport.scratchFolder()
        defer { TestSupport.cleanUp(folder) }
        let (run, page) = try Self.linkedReport(in: folder)
        let png = folder.appendingPathComponent("linked.png")
        let linked = try Self.renderReport(run, to: png, height: 2000)
        #expect(linked.status == 0, "render-report.sh failed on linked GIFs: \(linked.output)")

        try Data("GIF89a".utf8).write(to: folder.appendingPathComponent("outside.gif"))
        let html = try String(contentsOf: page, encoding: .utf8)
        try html.replacingOccurrences(of: "</body>", with: "<img src=\"../../outside.gif\"></body>").write(to: page, atomically: true, encoding: .utf8)
        let escaped = try Self.renderReport(run, to: png, height: 400)
        #expect(escaped.status != 0 && escaped.output.contains("outside.gif"), "a link out of the run must fail: \(escaped.output)")
    }

    @Test("the page check catches an external reference (the renderer blocks the network)", .enabled(if: ReportTests.hasChromium, "chromium is not installed"))
    func chromiumCatchesExternalReference() throws {
        let folder = try TestSupport.scratchFolder()
        defer { TestSupport.cleanUp(folder) }
        let run = folder.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: run.appendingPathComponent("report"), withIntermediateDirectories: true)
        // srcset is not among the attributes the script scans: the network log must catch it.
        try "<!DOCTYPE html><html><body><img srcset=\"https://example.com/x.png 1x\">hello</body></html>"
            .write(to: run.appendingPathComponent("report/index.html"), atomically: true, encoding: .utf8)
        let result = try Self.renderReport(run, to: folder.appendingPathComponent("x.png"), height: 400)
        #expect(result.status != 0 && result.output.contains("example.com"), "an external image must fail the check: \(result.output)")
    }
}

@Suite("SVG line charts")
struct ChartTests {
    /// The tick labels of the y axis (right-aligned text) and of the x axis (centred under it).
    static func tickLabels(_ svg: String) -> (y: [String], x: [String]) {
        func labels(_ anchor: String) -> [String] {
            svg.components(separatedBy: "\n").filter { $0.hasPrefix("<text") && $0.contains("text-anchor=\"\(anchor)\">") && !$0.contains("font-size") }
                .compactMap { $0.components(separatedBy: ">").dropFirst().first?.components(separatedBy: "<").first }
        }
        return (labels("end"), labels("middle").filter { Double($0) != nil })
    }

    @Test("nice linear ticks cover the data; counts get whole-number ticks; log ticks are powers of ten")
    func ticks() {
        let chart = LineChart(title: "t", xLabel: "x", yLabel: "y", series: [.init("a", values: [0.13, 0.92, 0.5])])
        let ticks = Self.tickLabels(chart.svg(id: "t"))
        #expect(ticks.y == ["0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        #expect(ticks.x == ["0", "1", "2"], "x = 0, 1, 2 (epochs): no 0.5 ticks")
        // The x axis ends at the data: frames 1...629 of a 630-frame video, not at 800.
        let frames = LineChart(title: "f", xLabel: "frame", yLabel: "dB", series: [.init("p", values: Array(repeating: 20, count: 629), start: 1)])
        #expect(Self.tickLabels(frames.svg(id: "f")).x == ["200", "400", "600"])
        let log = LineChart(title: "l", xLabel: "x", yLabel: "y", series: [.init("a", values: [0.003, 0.02, 0.3])], yScale: .log)
        #expect(Self.tickLabels(log.svg(id: "l")).y == ["0.001", "0.01", "0.1", "1"])
        let narrow = LineChart(title: "n", xLabel: "x", yLabel: "y", series: [.init("a", values: [0.02, 0.3])], yScale: .log)
        #expect(Self.tickLabels(narrow.svg(id: "n")).y == ["0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1"], "1-2-5 over two decades")
        let wide = LineChart(title: "w", xLabel: "x", yLabel: "y", series: [.init("a", values: [1000, 5])], width: 300)
        #expect(Self.tickLabels(wide.svg(id: "w")).y.first == "0" && Self.tickLabels(wide.svg(id: "w")).y.last == "1000")
    }

    @Test("non-finite points break the line; a chart without data says so; text is escaped")
    func gapsAndEscaping() {
        let chart = LineChart(title: "a < b & c", xLabel: "x", yLabel: "y",
                              series: [.init("s\"1", values: [1, 2, .nan, 3, 4])])
        let svg = chart.svg(id: "g")
        let path = svg.components(separatedBy: "<path d=\"")[1].components(separatedBy: "\"")[0]
        #expect(path.filter { $0 == "M" }.count == 2, "two pieces around the gap: \(path)")
        #expect(svg.contains("a &lt; b &amp; c") && svg.contains("s&quot;1"))
        let empty = LineChart(title: "e", xLabel: "x", yLabel: "y", series: [.init("s", values: [.nan])], yScale: .log)
        #expect(empty.svg().contains("no data") && !empty.hasData)
        // Zero and negative values have no place on a log axis: skipped, not drawn at -infinity.
        let log = LineChart(title: "z", xLabel: "x", yLabel: "y", series: [.init("s", values: [0, 1, 10])], yScale: .log)
        #expect(!log.svg().contains("nan") && !log.svg().contains("inf"))
    }
}
