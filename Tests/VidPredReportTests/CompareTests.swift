import Foundation
import Testing
import VidPred
import VidPredData
import VidPredReport

/// `compare` on hand-written run folders, and `sweep`'s grid.
@Suite("Comparison and sweep grid")
struct CompareTests {
    /// A run folder with config.json and metrics.jsonl, its val PSNR per epoch given.
    static func fakeRun(in folder: URL, name: String, config: TrainConfig, psnr: [Double]) throws -> URL {
        let run = folder.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try encoder.encode(config).write(to: run.appendingPathComponent("config.json"))
        var lines: [String] = []
        for (epoch, p) in psnr.enumerated() {
            let loss = pow(10, -p / 10)
            lines.append(#"{"event":"batch","epoch":\#(epoch),"iteration":\#(epoch + 1),"loss":\#(loss * 2),"mse":\#(loss),"kl":1,"beta":0.5,"tfr":1,"teacher_forcing":true,"lr":0.001,"seconds":\#(Double(epoch + 1) * 10)}"#)
            lines.append(#"{"event":"epoch","epoch":\#(epoch),"train_loss":\#(loss * 2),"train_mse":\#(loss),"train_kl":1,"tfr":1,"beta":0.5,"lr":0.001,"teacher_forcing":\#(epoch % 2 == 0),"skipped_batches":0,"seconds":10,"frames_per_second":100}"#)
            lines.append(#"{"event":"validation","epoch":\#(epoch),"val_loss":\#(loss),"val_psnr":\#(p),"psnr_per_frame":[\#(p),\#(p - 1)],"seconds":1}"#)
        }
        lines.append(#"{"event":"checkpoint","epoch":0,"path":"checkpoints/best.safetensors","reason":"best"}"#)
        try (lines.joined(separator: "\n") + "\n").write(to: run.appendingPathComponent("metrics.jsonl"), atomically: true, encoding: .utf8)
        return run
    }

    @Test("the lab's 2x3 table: tfr_every x kl_anneal_type as Markdown grid, CSV and HTML")
    func twoByThree() throws {
        let folder = try TestSupport.scratchFolder()
        defer { TestSupport.cleanUp(folder) }
        let grid = try SweepGrid(["tfr_every=1,5", "kl_anneal_type=None,Monotonic,Cyclical"])
        var runs: [URL] = []
        for (i, point) in try grid.points(base: TrainConfig()).enumerated() {
            let best = 20 + Double(i)
            runs.append(try Self.fakeRun(in: folder, name: point.name, config: point.config, psnr: [best - 2, best, best - 1]))
        }
        #expect(try Comparison(runFolders: runs).varyingKeys == ["kl_anneal_type", "tfr_every"], "alphabetical by default")
        // The sweep's order: tfr_every down, kl_anneal_type across (the lab's 2x3 table).
        let comparison = try Comparison(runFolders: runs, keyOrder: ["tfr_every", "kl_anneal_type"])
        #expect(comparison.varyingKeys == ["tfr_every", "kl_anneal_type"])
        let rows = comparison.rows
        #expect(rows.count == 6)
        #expect(rows[0].bestPSNR == 20 && rows[0].bestPSNREpoch == 2 && rows[0].finalValPSNR == 19)
        #expect(rows[5].bestPSNR == 25)
        #expect(abs(rows[0].bestValLoss - pow(10, -2.0)) < 1e-12 && rows[0].bestValLossEpoch == 2)

        let markdown = comparison.markdown()
        #expect(markdown.contains("| run | tfr_every | kl_anneal_type | epochs | best val PSNR (dB) |"))
        #expect(markdown.contains("| tfr_every-1_kl_anneal_type-None | 1 | None | 3 | 20.00 | 2 |"))
        // The grid: tfr_every down (1, 5), kl_anneal_type across (None, Monotonic, Cyclical).
        #expect(markdown.contains("| tfr_every | None | Monotonic | Cyclical |"))
        #expect(markdown.contains("| 1 | 20.00 (2) | 21.00 (2) | 22.00 (2) |"))
        #expect(markdown.contains("| 5 | 23.00 (2) | 24.00 (2) | 25.00 (2) |"))

        let csv = comparison.csv().split(separator: "\n")
        #expect(csv.count == 7)
        #expect(csv[0] == "run,tfr_every,kl_anneal_type,epochs,best_val_psnr,best_val_psnr_epoch,best_val_loss,best_val_loss_epoch,final_train_loss,final_val_loss,final_val_psnr,training_seconds")
        #expect(csv[1].hasPrefix("tfr_every-1_kl_anneal_type-None,1,None,3,20.0,2,"))

        let files = try comparison.write(to: folder)
        #expect(files.map(\.lastPathComponent) == ["comparison.md", "comparison.csv", "comparison.html"])
        let html = try String(contentsOf: folder.appendingPathComponent("comparison.html"), encoding: .utf8)
        for name in ["compare_val_psnr", "compare_val_loss", "compare_train_loss", "compare_tfr_beta", "compare_per_frame_psnr"] {
            #expect(html.contains("id=\"\(name)\""), "overlaid chart \(name)")
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("\(name).svg").path))
        }
        let outside = ReportTests.references(in: html).filter { !$0.hasPrefix("data:") && !$0.hasPrefix("#") }
        #expect(outside.isEmpty)
    }

    @Test("sweep grid: combinations in order, values typed like config.json, helpful errors")
    func grid() throws {
        var base = TrainConfig()
        base.epochs = 4
        let points = try SweepGrid(["tfr-every=1,5", "kl_anneal_type=None,Cyclical", "lr=1e-3"]).points(base: base)
        #expect(points.map(\.name) == ["tfr_every-1_kl_anneal_type-None_lr-1e-3", "tfr_every-1_kl_anneal_type-Cyclical_lr-1e-3",
                                       "tfr_every-5_kl_anneal_type-None_lr-1e-3", "tfr_every-5_kl_anneal_type-Cyclical_lr-1e-3"])
        #expect(points[2].config.tfrEvery == 5 && points[2].config.klAnnealType == .none && points[2].config.epochs == 4)
        #expect(points[0].config.lr == 1e-3)
        let lists = try SweepGrid(["milestones=[2,5],[10,20]", "window_stride=4"]).points(base: base)
        #expect(lists.map(\.config.milestones) == [[2, 5], [10, 20]] && lists[0].config.windowStride == 4)

        #expect(throws: ReportError.self) { try SweepGrid(["tfr_every"]) }
        #expect(throws: ReportError.self) { try SweepGrid(["no_such_key=1"]) }
        #expect(throws: ReportError.self) { try SweepGrid([]) }
        #expect(throws: ReportError.self) { try SweepGrid(["tfr_every=1.5"]).points(base: base) }
        #expect(throws: ReportError.self) { try SweepGrid(["tfr=2"]).points(base: base) }  // validate(): tfr in [0, 1]
    }
}

/// `vidpred bench quality`'s printed figures.
@Suite("Quality benchmark table")
struct QualityTableTests {
    @Test("a row shows both videos' scores, the gap, both leakages and a mirror average; spread gives mean +- sd at the precision asked")
    func rowsAndSpread() throws {
        let point = QualityBenchmark.Point(preset: .pyramid, seed: 2, minutes: 20, checkpoint: "best.safetensors", latent: .priorMean,
                                           samples: 1, meanLabScore: ["val": 31.25, "test/0": 28.5], bestLabScore: [:],
                                           leakage: ["val": 0.0012, "test/0": 0.0044])
        let row = try #require(QualityBenchmark.table([point]).split(separator: "\n").last)
        #expect(row.contains("31.25") && row.contains("28.50") && row.contains("+2.75"), "\(row)")
        #expect(row.hasSuffix("0.001  / 0.004"), "the test/0 leakage ends the row: \(row)")
        var mirrored = point
        mirrored.mirrorAverage = true
        let mirroredRow = try #require(QualityBenchmark.table([mirrored]).split(separator: "\n").last)
        #expect(mirroredRow.contains("prior-mean + mirror ") && mirroredRow.contains(" 1  31.25") && !row.contains("mirror"), "the latent says the mirror average in full: \(mirroredRow)")
        #expect(QualityBenchmark.spread([1, 2, 3]) == "2.00 +- 1.00")
        #expect(QualityBenchmark.spread([0.004, 0.006], decimals: 3) == "0.005 +- 0.001")
        #expect(QualityBenchmark.spread([.nan]) == "-")
    }

    /// A label frame: white, with the dark pixels given (x, y).
    static func label(_ dark: [(Int, Int)]) -> RGBImage {
        var image = RGBImage(width: 8, height: 8, fill: SIMD3(1, 1, 1))
        for (x, y) in dark { for c in 0..<3 { image.pixels[c * 64 + y * 8 + x] = 0.2 } }
        return image
    }

    @Test("partial-body frames are those whose label touches the edge or is nearly empty; the closing table gives each run and the mean per preset")
    func partialBodiesAndTheClosingTable() throws {
        let body = (2..<6).flatMap { x in (2..<6).map { (x, $0) } }  // 16 pixels inside the frame
        let frames = [Self.label(body), Self.label(body), Self.label(body.map { ($0.0 - 2, $0.1) }),  // at the left edge
                      Self.label([(4, 4), (4, 5)]), Self.label(body)]  // 2 pixels: under a fifth of the median 16
        let labels = FrameSequence(height: 8, width: 8, frames: frames, names: frames.indices.map { "\($0).png" })
        let edges = QualityBenchmark.edgeFrames(labels: labels)
        #expect(edges == [2, 3], "frame 0 is the given frame, never scored")

        let metrics = try Self.threeEpochsLog()
        func run(seed: UInt64, val: Double, curve: [Double]) -> QualityBenchmark.RunResult {
            QualityBenchmark.RunResult(point: Self.point(seed: seed, val: val, curve: curve),
                                       testFrames: QualityBenchmark.TestFrames(edgeFrames: edges, distances: []), metrics: metrics)
        }
        let first = run(seed: 1, val: 30, curve: [31, 20, 22, 33])  // frames 1-4: 2 and 3 are partial
        #expect(first.partialBody == 21 && first.otherFrames == 32 && first.epochs == 3 && first.framesPerSecond == 20)
        let lines = QualityBenchmark.resultTable([first, run(seed: 2, val: 32, curve: [31, 20, 22, 33])]).split(separator: "\n")
        #expect(lines.count == 4, "a header, two runs and their mean: \(lines)")
        #expect(lines[1].split(separator: " ") == ["pyramid", "1", "3", "30.00", "28.00", "2.00", "0.002", "21.00", "32.00", "20.0"], "\(lines[1])")
        #expect(lines[3].hasPrefix("pyramid   mean") && lines[3].contains("31.00 +- 1.41") && lines[3].contains("20.0 +- 0.0"), "\(lines[3])")
    }

    /// A metrics log of three epochs at 30, 10 and 20 training frames/s.
    static func threeEpochsLog() throws -> MetricsLog.Contents {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("quality-metrics-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: log) }
        let epochs = [30.0, 10.0, 20.0].enumerated().map { i, fps in
            #"{"event":"epoch","epoch":\#(i + 1),"train_loss":0.1,"train_mse":0.1,"train_kl":0,"tfr":0,"beta":0,"lr":0.001,"teacher_forcing":false,"skipped_batches":0,"seconds":60,"frames_per_second":\#(fps)}"#
        }
        try Data((epochs.joined(separator: "\n") + "\n").utf8).write(to: log)
        return try MetricsLog.read(log)
    }

    /// A best checkpoint's point with test/0's per-frame curve.
    static func point(seed: UInt64, val: Double, curve: [Double]) -> QualityBenchmark.Point {
        QualityBenchmark.Point(preset: .pyramid, seed: seed, minutes: 3, checkpoint: "best.safetensors", latent: .priorMean,
                               samples: 1, meanLabScore: ["val": val, "test/0": 28], bestLabScore: [:],
                               leakage: ["val": 0.001, "test/0": 0.002], psnrPerFrame: ["test/0": curve])
    }

    @Test("test/0's frames by the dancer's sideways distance from the given frame's place: from the labels, in the curves' CSV and in the second closing table")
    func framesByTheDancersDistanceFromTheGivenFramesPlace() throws {
        let body = (2..<6).flatMap { x in (2..<6).map { (x, $0) } }  // columns 2-5: the dancer at 0.5 of the width
        let frames = [Self.label(body), Self.label(body),
                      Self.label(body.map { ($0.0 - 2, $0.1) }),  // columns 0-3: 0.25 of the width
                      Self.label([]),  // blank: no distance
                      Self.label([(7, 3), (7, 4)]),  // column 7: 0.9375
                      Self.label([(4, 4), (4, 5)])]  // column 4: 0.5625
        let labels = FrameSequence(height: 8, width: 8, frames: frames, names: frames.indices.map { "\($0).png" })
        let test = try QualityBenchmark.TestFrames(labels: labels)
        let expected: [Double?] = [0, 0, 0.25, nil, 0.4375, 0.0625]
        #expect(test.distances.count == expected.count)
        for (got, want) in zip(test.distances, expected) {
            if let got, let want { #expect(abs(got - want) < 1e-6, "\(test.distances)") } else { #expect(got == nil && want == nil, "\(test.distances)") }
        }
        #expect(test.edgeFrames == QualityBenchmark.edgeFrames(labels: labels))

        let curve: [Double] = [30, 28, 99, 24, 32]  // frames 1-5; frame 3's label is blank, so it is in no bin
        let means = QualityBenchmark.distanceMeans(Self.point(seed: 1, val: 33, curve: curve), distances: test.distances)
        #expect(means.map(\.frames) == [2, 1, 1] && means.map(\.mean) == [31, 28, 24], "\(means)")

        let csv = QualityBenchmark.curvesCSV(Self.point(seed: 1, val: 33, curve: curve), testFrames: test).split(separator: "\n")
        #expect(csv[0] == "frame,val,test0,test0_partial_body,test0_distance")
        #expect(csv[2] == "2,,28.000,1,0.250" && csv[3].hasSuffix(",") && csv[4].hasSuffix(",0.438"), "\(csv)")

        let metrics = try Self.threeEpochsLog()
        let runs = [curve, [32, 29, 99, 26, 34]].enumerated().map { i, curve in
            QualityBenchmark.RunResult(point: Self.point(seed: UInt64(i + 1), val: 33, curve: curve), testFrames: test, metrics: metrics)
        }
        let lines = QualityBenchmark.distanceTable(runs).split(separator: "\n")
        #expect(lines.count == 4, "a header, two runs and their mean: \(lines)")
        #expect(lines[0].contains("<0.15 (2)") && lines[0].contains("0.15-0.35 (1)") && lines[0].contains(">=0.35 (1)"), "\(lines[0])")
        #expect(lines[1].split(separator: " ") == ["pyramid", "1", "3", "31.00", "28.00", "24.00"], "\(lines[1])")
        #expect(lines[3].contains("32.00 +- 1.41") && lines[3].contains("28.50 +- 0.71") && lines[3].contains("25.00 +- 1.41"), "\(lines[3])")
    }
}
