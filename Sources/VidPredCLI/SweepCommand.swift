import ArgumentParser
import Foundation
import VidPred
import VidPredData
import VidPredReport

struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a small grid of configs one after another, then compare them.",
        discussion: """
            Each --grid KEY=V1,V2 adds an axis (training settings; dashes allowed); every combination is trained with \
            the shared training settings into OUT/<key-value_...>/, then `compare` writes OUT/comparison.{md,csv,html}. \
            The lab's table, teacher-forcing strategy x KL annealing:
              vidpred sweep --data DIR --out runs/tf-x-kl --grid tfr_every=1,5 --grid kl_anneal_type=None,Monotonic,Cyclical --epochs 70
            Running the same command again continues: finished runs are kept, unfinished ones resume from their last \
            checkpoint. Ctrl-C saves the current run and stops the sweep.
            """)

    @Option(name: [.customLong("data"), .customLong("DR")], help: "Dataset in the lab layout (default: the built-in synthetic dance data).") var data: String?
    @Option(help: "Sweep folder: one run folder per combination inside it.") var out: String
    @Option(name: .customLong("grid"), help: "An axis KEY=V1,V2,... (repeat for more axes).") var grid: [String] = []
    @Flag(help: "Print the runs the grid makes and stop.") var dryRun = false
    @Flag(help: "Also write each run's HTML report (RUN/report/index.html).") var reports = false
    @OptionGroup var options: TrainOptions
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        runtime.apply()
        let resolved = try options.resolve()
        let base = resolved.config
        let sweepGrid: SweepGrid
        let points: [SweepGrid.Point]
        do {
            sweepGrid = try SweepGrid(grid)
            points = try sweepGrid.points(base: base)
        } catch let error as ReportError {
            throw ValidationError("--grid: \(error.description)")
        }
        let sweepFolder = URL(fileURLWithPath: out)
        print("sweep: \(points.count) run(s) into \(sweepFolder.path)")
        for (i, p) in points.enumerated() {
            print("  \(i + 1). \(p.name)  (\(p.settings.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")))")
        }
        if dryRun { return }

        let dataRoot = try (data ?? resolved.data).map { URL(fileURLWithPath: $0) }
            ?? BuiltInData.prepare(height: base.height, width: base.width, log: { print($0) })
        print("data: \(dataRoot.path)")
        var loaded: [[Int]: TrainingData] = [:]
        let interrupt = InterruptFlag()
        interrupt.install()
        var folders: [URL] = []
        for (i, point) in points.enumerated() {
            let folder = sweepFolder.appendingPathComponent(point.name)
            folders.append(folder)
            let c = point.config.resolvingPrecision(on: .cpu) { print($0) }  // a sweep trains on the CPU
            let resume = try RunFolder(folder).holdsRun(madeWith: c, continuing: true, command: "sweep")
            let key = [c.height, c.width, c.trainVideoLength]
            if loaded[key] == nil {
                loaded[key] = try TrainingData.load(root: dataRoot, config: c)
            }
            print("\n== run \(i + 1)/\(points.count): \(point.name)\(resume ? " (continuing)" : "") ==")
            let progress = TrainingProgress()
            let trainer = try Trainer(config: c, data: loaded[key]!, run: RunFolder(folder), resume: resume, onEvent: progress.handle)
            let reason = try trainer.run(shouldStop: { interrupt.isRaised })
            print("stopped: \(reason)")
            if interrupt.isRaised {
                print("sweep interrupted: run the same command again to continue")
                throw interrupt.exitCode
            }
            if reports { try Self.writeReport(folder) }
        }
        let finished = folders.filter { FileManager.default.fileExists(atPath: RunFolder($0).metrics.path) }
        guard !finished.isEmpty else { return }
        // Columns and grid in the order of the --grid options: the first axis goes down.
        let comparison = try Comparison(runFolders: finished, keyOrder: sweepGrid.axes.map(\.key))
        print("")
        print(comparison.markdown())
        let files = try comparison.write(to: sweepFolder)
        print("wrote \(files.map(\.lastPathComponent).joined(separator: ", ")) in \(sweepFolder.path)")
    }

    static func writeReport(_ folder: URL) throws {
        let page = try RunReport(runFolder: folder).write()
        print("report: \(page.path)")
    }
}
