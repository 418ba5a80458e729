import ArgumentParser
import Foundation
import VidPred
import VidPredReport

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare runs: best/final val loss and PSNR as Markdown and CSV, overlaid curves as HTML.",
        discussion: """
            Config keys that differ between the runs become columns; when exactly two differ (e.g. tfr_every x \
            kl_anneal_type, the lab's 2x3 table) the best figures are also laid out as a grid. Epochs are 1-based. \
            Writes comparison.md, comparison.csv, comparison.html and the charts' SVGs.
            """)

    @Option(name: .customLong("run"), parsing: .upToNextOption, help: "Run folders to compare (--run A B C, or --run A --run B).") var runs: [String]
    @Option(help: "Output folder (default: the runs' common parent folder).") var out: String?
    @Option(help: "Config keys in the order to show them, comma-separated; with two keys the first goes down the grid (default: alphabetical).")
    var keys: String?

    func run() throws {
        let folders = runs.map { URL(fileURLWithPath: $0).standardizedFileURL }
        let order = keys.map { $0.split(separator: ",").map { name in TrainConfig.setting(named: String(name).trimmingCharacters(in: .whitespaces))?.key ?? String(name) } } ?? []
        let comparison = try Comparison(runFolders: folders, keyOrder: order)
        let outFolder = out.map { URL(fileURLWithPath: $0) } ?? Self.commonParent(folders)
        print(comparison.markdown())
        let files = try comparison.write(to: outFolder)
        print("wrote \(files.map(\.lastPathComponent).joined(separator: ", ")) in \(outFolder.path)")
    }

    /// The deepest folder that contains every run (the current folder when they share none).
    static func commonParent(_ folders: [URL]) -> URL {
        let parts = folders.map { $0.deletingLastPathComponent().pathComponents }
        guard var common = parts.first else { return URL(fileURLWithPath: ".") }
        for p in parts.dropFirst() {
            common = Array(zip(common, p).prefix { $0.0 == $0.1 }.map(\.0))
        }
        guard common.count > 1 else { return URL(fileURLWithPath: FileManager.default.currentDirectoryPath) }
        return URL(fileURLWithPath: NSString.path(withComponents: common))
    }
}
