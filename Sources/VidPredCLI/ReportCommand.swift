import ArgumentParser
import Foundation
import VidPred
import VidPredReport

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write one HTML page about a run (RUN/report/index.html) and its charts as SVG files.",
        discussion: """
            The page holds the config, loss/PSNR/tfr/beta/lr curves, per-frame PSNR, the predictions' GIFs and \
            contact sheets (when `vidpred predict` has run), the scores (when `vidpred eval` has run) and timing. \
            It opens with no server and no network: everything is inside the file except, when together they pass 4 MB, \
            the side-by-side GIFs, which are then linked from RUN/predictions (keep the run folder together). \
            To get a PNG of the page: scripts/render-report.sh RUN OUT.png (headless chromium).
            """)

    @Option(name: .customLong("run"), help: "Run folder.") var runFolder: String
    @Option(help: "Output folder (default: RUN/report).") var out: String?
    @Option(help: "Most predicted videos shown with GIFs and contact sheets.") var maxVideos = 6

    func run() throws {
        var report = try RunReport(runFolder: URL(fileURLWithPath: runFolder))
        report.maxVideos = maxVideos
        if !report.run.unreadableLines.isEmpty {
            print("warning: \(RunFolder(path: runFolder).metrics.path) lines \(report.run.unreadableLines.map(String.init).joined(separator: ", ")) are not readable (cut short?) and were left out")
        }
        let page = try report.write(to: out.map { URL(fileURLWithPath: $0) })
        let folder = page.deletingLastPathComponent()
        print("report: \(page.path)")
        print("charts: \(report.charts.map { folder.appendingPathComponent("\($0.name).svg").lastPathComponent }.joined(separator: ", ")) in \(folder.path)")
    }
}
