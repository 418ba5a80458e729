import Foundation

/// `vidpred compare`: several runs side by side. A table (best val loss and PSNR with the epoch
/// of each best, final figures) as Markdown and CSV, and an HTML page with the runs' curves
/// overlaid. Config keys whose values differ between the runs become columns; when exactly two
/// differ (the lab's teacher-forcing strategy x KL annealing) the best figures are also pivoted
/// into a grid with one key down and the other across.
public struct Comparison {
    public let runs: [RunRecord]
    /// Varying keys listed here come first, in this order (the first is the grid's rows); the
    /// others follow alphabetically.
    public var keyOrder: [String]

    public init(runs: [RunRecord], keyOrder: [String] = []) {
        self.runs = runs
        self.keyOrder = keyOrder
    }

    public init(runFolders: [URL], keyOrder: [String] = []) throws {
        self.keyOrder = keyOrder
        guard !runFolders.isEmpty else { throw ReportError("compare needs at least one run folder") }
        var runs = try runFolders.map(RunRecord.load)
        // Two folders with one name (runs/a/x, runs/b/x) would be indistinguishable: use the path.
        let names = runs.map(\.name)
        for i in runs.indices where names.filter({ $0 == names[i] }).count > 1 { runs[i].name = runs[i].folder.path }
        self.runs = runs
    }

    /// Config keys whose values are not the same in every run: those of `keyOrder` first, then
    /// the others in alphabetical order.
    public var varyingKeys: [String] {
        let keys = Set(runs.flatMap(\.config.keys))
        let varying = keys.sorted().filter { key in Set(runs.map { $0.config[key]?.description ?? "-" }).count > 1 }
        return keyOrder.filter(varying.contains) + varying.filter { !keyOrder.contains($0) }
    }

    public struct Row: Sendable {
        public var name: String
        public var settings: [String]
        public var epochs: Int
        public var bestPSNR: Double
        public var bestPSNREpoch: Int?
        public var bestValLoss: Double
        public var bestValLossEpoch: Int?
        public var finalTrainLoss: Double
        public var finalValLoss: Double
        public var finalValPSNR: Double
        public var trainingSeconds: Double
    }

    public var rows: [Row] {
        let keys = varyingKeys
        return runs.map { run in
            Row(name: run.name, settings: keys.map { run.config[$0]?.description ?? "-" }, epochs: run.epochs.count,
                bestPSNR: run.bestPSNR?.valPSNR ?? .nan, bestPSNREpoch: run.bestPSNR.map { $0.epoch },
                bestValLoss: run.bestValLoss?.valLoss ?? .nan, bestValLossEpoch: run.bestValLoss.map { $0.epoch },
                finalTrainLoss: run.epochs.last?.trainLoss ?? .nan, finalValLoss: run.validations.last?.valLoss ?? .nan,
                finalValPSNR: run.validations.last?.valPSNR ?? .nan, trainingSeconds: run.trainingSeconds)
        }
    }

    // MARK: - tables

    private static let header = ["epochs", "best val PSNR (dB)", "epoch of best PSNR", "best val loss", "epoch of best loss",
                                 "final train loss", "final val loss", "final val PSNR (dB)", "training time (s)"]

    private func cells(_ r: Row) -> [String] {
        [String(r.epochs), Self.fixed(r.bestPSNR, 2), r.bestPSNREpoch.map(String.init) ?? "-", Self.fixed(r.bestValLoss, 5),
         r.bestValLossEpoch.map(String.init) ?? "-", Self.fixed(r.finalTrainLoss, 5), Self.fixed(r.finalValLoss, 5),
         Self.fixed(r.finalValPSNR, 2), Self.fixed(r.trainingSeconds, 1)]
    }

    /// The table, and the 2-key grids when they apply, as Markdown. Epochs are 1-based.
    public func markdown() -> String {
        let header = ["run"] + varyingKeys + Self.header
        var out = "| " + header.map(Self.markdownCell).joined(separator: " | ") + " |\n"
        out += "|" + header.indices.map { $0 == 0 || $0 <= varyingKeys.count ? "---|" : "---:|" }.joined() + "\n"
        for r in rows {
            out += "| " + ([r.name] + r.settings + cells(r)).map(Self.markdownCell).joined(separator: " | ") + " |\n"
        }
        if let grid = pivot() {
            for (title, value) in [("Best val PSNR (dB, epoch of the best)", { (r: Row) in r.bestPSNREpoch.map { Self.fixed(r.bestPSNR, 2) + " (\($0))" } ?? "-" }),
                                   ("Best val loss (epoch of the best)", { (r: Row) in r.bestValLossEpoch.map { Self.fixed(r.bestValLoss, 5) + " (\($0))" } ?? "-" })] {
                out += "\n**\(title)**: \(Self.markdownCell(grid.rowKey)) down, \(Self.markdownCell(grid.columnKey)) across\n\n"
                out += "| \(Self.markdownCell(grid.rowKey)) | " + grid.columns.map(Self.markdownCell).joined(separator: " | ") + " |\n"
                out += "|---|" + grid.columns.map { _ in "---:|" }.joined() + "\n"
                for (i, rowValue) in grid.rows.enumerated() {
                    let values = grid.cells[i].map { $0.map(value) ?? "" }
                    out += "| \(Self.markdownCell(rowValue)) | " + values.map(Self.markdownCell).joined(separator: " | ") + " |\n"
                }
            }
        }
        return out
    }

    /// One line per run; numbers in full precision, 1-based epochs.
    public func csv() -> String {
        let header = ["run"] + varyingKeys + ["epochs", "best_val_psnr", "best_val_psnr_epoch", "best_val_loss", "best_val_loss_epoch",
                                              "final_train_loss", "final_val_loss", "final_val_psnr", "training_seconds"]
        var out = header.map(Self.csvField).joined(separator: ",") + "\n"
        func n(_ x: Double) -> String { x.isFinite ? String(x) : "" }
        for r in rows {
            let values = [r.name] + r.settings + [String(r.epochs), n(r.bestPSNR), r.bestPSNREpoch.map(String.init) ?? "",
                                                  n(r.bestValLoss), r.bestValLossEpoch.map(String.init) ?? "", n(r.finalTrainLoss),
                                                  n(r.finalValLoss), n(r.finalValPSNR), n(r.trainingSeconds)]
            out += values.map(Self.csvField).joined(separator: ",") + "\n"
        }
        return out
    }

    /// Exactly two varying keys with each combination in at most one run: rows x columns of runs.
    public struct Grid {
        public var rowKey: String
        public var columnKey: String
        public var rows: [String]
        public var columns: [String]
        public var cells: [[Row?]]
    }

    public func pivot() -> Grid? {
        let keys = varyingKeys
        guard keys.count == 2 else { return nil }
        let all = rows
        var rowValues: [String] = [], columnValues: [String] = []
        for r in all {
            if !rowValues.contains(r.settings[0]) { rowValues.append(r.settings[0]) }
            if !columnValues.contains(r.settings[1]) { columnValues.append(r.settings[1]) }
        }
        var cells = Array(repeating: Array<Row?>(repeating: nil, count: columnValues.count), count: rowValues.count)
        for r in all {
            let i = rowValues.firstIndex(of: r.settings[0])!, j = columnValues.firstIndex(of: r.settings[1])!
            if cells[i][j] != nil { return nil }  // a repeated combination: no single value per cell
            cells[i][j] = r
        }
        return Grid(rowKey: keys[0], columnKey: keys[1], rows: rowValues, columns: columnValues, cells: cells)
    }

    // MARK: - page

    /// Curves of every run on shared axes.
    public var charts: [NamedChart] {
        func perRun(_ points: (RunRecord) -> [(x: Double, y: Double)]) -> [LineChart.Series] {
            runs.enumerated().map { i, run in
                // Past the palette, repeat its colours dashed so every run stays distinguishable.
                LineChart.Series(run.name, points: points(run), style: .lineAndPoints, dashed: i >= LineChart.palette.count)
            }
        }
        return [
            NamedChart(name: "compare_val_psnr", chart: LineChart(
                title: "Validation PSNR per epoch", xLabel: "epoch", yLabel: "PSNR (dB)",
                series: perRun { $0.validations.map { (Double($0.epoch), $0.valPSNR) } })),
            NamedChart(name: "compare_val_loss", chart: LineChart(
                title: "Validation loss (rollout MSE)", xLabel: "epoch", yLabel: "loss (log scale)",
                series: perRun { $0.validations.map { (Double($0.epoch), $0.valLoss) } }, yScale: .log)),
            NamedChart(name: "compare_train_loss", chart: LineChart(
                title: "Training loss per epoch", xLabel: "epoch", yLabel: "loss (log scale)",
                series: perRun { $0.epochs.map { (Double($0.epoch), $0.trainLoss) } }, yScale: .log)),
            NamedChart(name: "compare_tfr_beta", chart: LineChart(
                title: "Teacher forcing ratio (solid) and beta (dashed)", xLabel: "epoch", yLabel: "value",
                series: runs.enumerated().flatMap { i, run in
                    let colour = LineChart.palette[i % LineChart.palette.count]
                    // One legend entry per run: its colour; solid = tfr, dashed = beta (the title says so).
                    return [LineChart.Series(run.name, points: run.epochs.map { (Double($0.epoch), $0.tfr) }, colour: colour),
                            LineChart.Series("", points: run.epochs.map { (Double($0.epoch), $0.beta) }, dashed: true, colour: colour)]
                })),
            NamedChart(name: "compare_per_frame_psnr", chart: LineChart(
                title: "PSNR per frame of the val video at each run's best epoch", xLabel: "frame", yLabel: "PSNR (dB)",
                series: runs.enumerated().map { i, run in
                    LineChart.Series(run.name, values: run.bestPSNR?.psnrPerFrame ?? [], start: 1, dashed: i >= LineChart.palette.count)
                })),
        ]
    }

    public func html() -> String {
        var body = "<h1>Comparison of \(runs.count) runs</h1>\n<p class=\"meta\">made \(HTML.escape(RunReport.now()))</p>\n"
        let header = ["run"] + varyingKeys + Self.header
        body += HTML.table(header: header, rows: rows.map { [$0.name] + $0.settings + cells($0) })
        if let grid = pivot() {
            body += "<h2>Best val PSNR (dB): \(HTML.escape(grid.rowKey)) down, \(HTML.escape(grid.columnKey)) across</h2>\n"
            body += HTML.table(header: [grid.rowKey] + grid.columns, rows: grid.rows.enumerated().map { i, value in
                [value] + grid.cells[i].map { r in r.flatMap { r in r.bestPSNREpoch.map { Self.fixed(r.bestPSNR, 2) + " (epoch \($0))" } } ?? "" }
            })
            body += "<h2>Best val loss: \(HTML.escape(grid.rowKey)) down, \(HTML.escape(grid.columnKey)) across</h2>\n"
            body += HTML.table(header: [grid.rowKey] + grid.columns, rows: grid.rows.enumerated().map { i, value in
                [value] + grid.cells[i].map { r in r.flatMap { r in r.bestValLossEpoch.map { Self.fixed(r.bestValLoss, 5) + " (epoch \($0))" } } ?? "" }
            })
        }
        body += "<h2>Curves</h2>\n<div class=\"charts\">\n"
        for c in charts { body += "<figure id=\"chart-\(c.name)\">\n\(c.chart.svg(id: c.name))</figure>\n" }
        body += "</div>\n"
        return HTML.page(title: "VidPred comparison", body: body)
    }

    /// Writes comparison.md, comparison.csv, comparison.html and the charts' SVGs into `folder`.
    @discardableResult
    public func write(to folder: URL) throws -> [URL] {
        let files = [("comparison.md", markdown()), ("comparison.csv", csv()), ("comparison.html", html())]
        var urls: [URL] = []
        for (name, text) in files {
            let url = folder.appendingPathComponent(name)
            try FileOutput.write(text, to: url)
            urls.append(url)
        }
        for c in charts { try FileOutput.write(c.chart.svg(id: c.name), to: folder.appendingPathComponent("\(c.name).svg")) }
        return urls
    }

    // MARK: - formatting

    static func fixed(_ x: Double, _ decimals: Int) -> String {
        x.isFinite ? String(format: "%.\(decimals)f", x) : "-"
    }

    static func markdownCell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
