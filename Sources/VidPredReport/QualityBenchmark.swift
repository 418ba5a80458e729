import Foundation
import Torch
import VidPred
import VidPredData

extension PredictionInput {
    /// A dataset video's first frame and labels, the first `limit` frames (0 = all).
    public init(video: LabVideo, limit: Int = 0) throws {
        let length = limit > 0 ? min(limit, video.length) : video.length
        guard video.frames.count >= 1, length >= 1 else {
            throw ReportError("\(video.displayName) has no first frame to start from")
        }
        try self.init(firstFrame: video.frames.frame(0).pixels, labels: Array(video.labels.samples(from: 0, count: length)),
                  length: length, height: video.labels.height, width: video.labels.width)
    }
}

/// Scores of checkpoints on videos with ground truth, as `vidpred bench quality` reports them: the
/// lab score (PSNR on 0-255 values, frames 1..600) of each video over K samples, the gap between
/// the val video (the training clip's dancer and place) and test video 0 (unseen footage), the
/// label leakage (`LabelLeakage`), and per-frame PSNR curves.
public enum QualityBenchmark {
    public struct Point: Codable, Sendable {
        public var preset: Preset
        public var seed: UInt64
        /// Training minutes (wall clock of the training loop, validation included) at the checkpoint.
        public var minutes: Double
        public var checkpoint: String
        public var latent: LatentSource
        /// Scored with the test-time mirror (`Predictor.mirrorAverage`); nil in results written before it existed (off).
        public var mirrorAverage: Bool?
        public var samples: Int
        /// Per video ("val/0", "test/0"): mean and best lab score over the samples.
        public var meanLabScore: [String: Double]
        public var bestLabScore: [String: Double]
        /// Per video: the label leakage of the first sample (`LabelLeakage`; 0: the output does not follow the label's colours).
        public var leakage: [String: Double]
        /// Per video: PSNR of each frame 1..<T of the first sample (the curves), when kept.
        public var psnrPerFrame: [String: [Double]]?

        public init(preset: Preset, seed: UInt64, minutes: Double, checkpoint: String, latent: LatentSource, mirrorAverage: Bool = false,
                    samples: Int, meanLabScore: [String: Double], bestLabScore: [String: Double], leakage: [String: Double],
                    psnrPerFrame: [String: [Double]]? = nil) {
            self.preset = preset; self.seed = seed; self.minutes = minutes; self.checkpoint = checkpoint; self.latent = latent
            self.mirrorAverage = mirrorAverage
            self.samples = samples; self.meanLabScore = meanLabScore; self.bestLabScore = bestLabScore; self.leakage = leakage
            self.psnrPerFrame = psnrPerFrame
        }

        /// Val minus test video 0: how much worse the model does on footage it never saw.
        public var gap: Double? {
            guard let val = meanLabScore[QualityBenchmark.valVideo], let test = meanLabScore[QualityBenchmark.testVideo] else { return nil }
            return val - test
        }
    }

    public static let valVideo = "val", testVideo = "test/0"

    /// A video's scores over the samples and the first sample's label leakage.
    public struct VideoQuality: Sendable {
        public var score: SampledVideoScore
        public var leakage: Double
    }

    /// Generates `samples` rollouts of every video with the model and scores them against the
    /// truth; then the first sample again with the labels' colours rotated, for the leakage.
    public static func score(model: any VideoModel, latent: LatentSource?, videos: [LabVideo], samples: Int,
                             seed: UInt64 = 0, device: Device = .cpu, mirrorAverage: Bool = false) throws -> [String: VideoQuality] {
        let inputs = try videos.map { try PredictionInput(video: $0) }
        try model.move(to: device)
        let predictor = Predictor(model: model, latent: latent, seed: seed, device: device, mirrorAverage: mirrorAverage)
        var collected: [Int: [VideoScore]] = [:], firstSamples: [Int: [[Float]]] = [:]
        try predictor.predict(inputs, samples: samples) { sample in
            let video = videos[sample.video]
            guard let truth = video.referenceFrames else { return }
            let count = min(sample.length, truth.count)
            let predicted = (0..<count).map { sample.frame($0) }
            collected[sample.video, default: []].append(VideoScore.compute(prediction: predicted, truth: (0..<count).map { truth.frame($0).pixels },
                                                                           height: sample.height, width: sample.width))
            if sample.sample == 0 { firstSamples[sample.video] = (0..<sample.length).map { sample.frame($0) } }
        }
        let rotated = try inputs.map { input in
            try PredictionInput(firstFrame: input.firstFrame, labels: LabelLeakage.rotatedColours(input.labels, height: input.height, width: input.width),
                                length: input.length, height: input.height, width: input.width)
        }
        var leakage: [Int: Double] = [:]
        try predictor.predict(rotated, samples: 1) { sample in
            guard let output = firstSamples[sample.video] else { return }
            let labels = (0..<sample.length).map { videos[sample.video].labels.frame($0).pixels }
            leakage[sample.video] = LabelLeakage.measure(output: output, outputWithRotatedLabels: (0..<sample.length).map { sample.frame($0) },
                                                         labels: labels, height: sample.height, width: sample.width)
        }
        var result: [String: VideoQuality] = [:]
        for (index, scores) in collected {
            result[videos[index].displayName] = VideoQuality(score: SampledVideoScore(samples: scores), leakage: leakage[index] ?? .nan)
        }
        return result
    }

    /// Frames (1-based like the curves: index i is frame i) whose label shows a partial body or
    /// none: a stroke touching the frame's edge, or fewer stroke pixels than a fifth of the
    /// video's median (the dancer leaving the frame, a missing pose).
    public static func edgeFrames(labels: FrameSequence) -> [Int] {
        let (w, h) = (labels.width, labels.height), plane = w * h
        var strokes: [Int] = [], touches: [Bool] = []
        for t in 0..<labels.count {
            let pixels = labels.frame(t).pixels
            var count = 0, edge = false
            for y in 0..<h {
                for x in 0..<w {
                    let i = y * w + x
                    guard min(pixels[i], pixels[plane + i], pixels[2 * plane + i]) < 0.7 else { continue }
                    count += 1
                    if x == 0 || y == 0 || x == w - 1 || y == h - 1 { edge = true }
                }
            }
            strokes.append(count); touches.append(edge)
        }
        let median = strokes.sorted()[strokes.count / 2]
        return (1..<labels.count).filter { touches[$0] || strokes[$0] * 5 < median }
    }

    /// What test video 0's labels say about its frames, for the closing tables: which show a
    /// partial body, and how far sideways the dancer stands from the given frame's place (the gap
    /// between val and test/0 sits in the frames far from it: issue 19).
    public struct TestFrames: Sendable {
        /// Frames (1-based like the curves: index i is frame i) whose label shows a partial body or none (`edgeFrames`).
        public var edgeFrames: [Int]
        /// Per frame (index 0: the given frame): how far sideways the dancer stands from where the
        /// given frame's label has them, as a fraction of the width (`VideoTensors.dancerColumns`);
        /// nil where either label is blank.
        public var distances: [Double?]

        public init(edgeFrames: [Int], distances: [Double?]) {
            self.edgeFrames = edgeFrames; self.distances = distances
        }

        /// From a video's labels.
        public init(labels: FrameSequence) throws {
            let columns = try VideoTensors.dancerColumns(labels: Tensor(labels.pixels, shape: [labels.count, 3, labels.height, labels.width]))
            self.init(edgeFrames: QualityBenchmark.edgeFrames(labels: labels),
                      distances: VideoTensors.distances(columns, from: columns.first ?? nil))
        }

        /// Those of the test video the benchmark scores (test/0); none without one.
        public init(_ dataset: LabDataset) throws {
            if let video = dataset.test.first { try self.init(labels: video.labels) } else { self.init(edgeFrames: [], distances: []) }
        }
    }

    /// Test video 0's mean PSNR over its `edgeFrames` and over its other frames (nil where none).
    public static func partialBodyMeans(_ point: Point, edgeFrames: [Int]) -> (marked: Double?, others: Double?) {
        guard let curve = point.psnrPerFrame?[testVideo] else { return (nil, nil) }
        let marked = Set(edgeFrames)
        let split = Dictionary(grouping: curve.indices) { marked.contains($0 + 1) }.mapValues { VideoScore.mean($0.map { curve[$0] }) }
        return (split[true], split[false])
    }

    /// The bounds of the distance bins, fractions of the width: within 0.15 the dancer stands about
    /// where the given frame has them (the val video's dancer stays within 0.05 of it); from 0.35
    /// on they have crossed a third of the stage, which training pairs seldom show (in edn-s4 90%
    /// of the frame pairs are within 0.30).
    public static let distanceBounds = [0.15, 0.35]
    /// The bins' names, as the distance table heads them.
    public static var distanceBinNames: [String] {
        let b = distanceBounds.map { String(format: "%.2f", $0) }
        return ["<" + b[0]] + zip(b, b.dropFirst()).map { "\($0)-\($1)" } + [">=" + b[b.count - 1]]
    }

    /// Test video 0's mean PSNR and frame count in each distance bin (`distanceBounds`) over the
    /// curve's frames whose distance is known (mean nil where a bin has none).
    public static func distanceMeans(_ point: Point, distances: [Double?]) -> [(mean: Double?, frames: Int)] {
        let curve = point.psnrPerFrame?[testVideo] ?? []
        var bins = [[Double]](repeating: [], count: distanceBounds.count + 1)
        for (i, psnr) in curve.enumerated() where i + 1 < distances.count {
            guard let distance = distances[i + 1] else { continue }
            bins[distanceBounds.firstIndex { distance < $0 } ?? distanceBounds.count].append(psnr)
        }
        return bins.map { ($0.isEmpty ? nil : VideoScore.mean($0), $0.count) }
    }

    /// The curves as CSV: frame, val PSNR, test/0 PSNR, whether test/0's label shows a partial
    /// body, and how far the dancer stands from the given frame's place (`TestFrames.distances`;
    /// empty where unknown).
    public static func curvesCSV(_ point: Point, testFrames: TestFrames) -> String {
        let val = point.psnrPerFrame?[valVideo] ?? [], test = point.psnrPerFrame?[testVideo] ?? [], marked = Set(testFrames.edgeFrames)
        func cell(_ values: [Double?], _ i: Int) -> String { (i < values.count ? values[i] : nil).map { String(format: "%.3f", $0) } ?? "" }
        let rows = (0..<max(val.count, test.count)).map { i in
            [String(i + 1), cell(val, i), cell(test, i), marked.contains(i + 1) ? "1" : "0", cell(testFrames.distances, i + 1)].joined(separator: ",")
        }
        return (["frame,val,test0,test0_partial_body,test0_distance"] + rows).joined(separator: "\n") + "\n"
    }

    /// The table: one row per (preset, seed, minutes), the lab score of each video, the gap and
    /// the leakage.
    public static func table(_ points: [Point]) -> String {
        let videos = [valVideo, testVideo]
        /// A value padded to `width` (nil: as it is, the last column).
        func cell(_ value: Double?, _ format: String, width: Int? = 9) -> String {
            let text = value.map { String(format: format, $0) } ?? "-"
            return width.map { text.padding(toLength: $0, withPad: " ", startingAt: 0) } ?? text
        }
        let latentWidth = 25  // "standard-normal + mirror" and a space
        var lines = ["preset    seed  minutes  " + "latent".padding(toLength: latentWidth, withPad: " ", startingAt: 0) + " K  val      test/0   gap      leak val/test/0"]
        for p in points {
            var line = p.preset.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0) + "\(p.seed)".padding(toLength: 6, withPad: " ", startingAt: 0)
                + String(format: "%7.1f  ", p.minutes) + (p.latent.rawValue + (p.mirrorAverage == true ? " + mirror" : "")).padding(toLength: latentWidth, withPad: " ", startingAt: 0)
                + String(format: "%2d  ", p.samples)
            for v in videos { line += cell(p.meanLabScore[v], "%.2f") }
            line += cell(p.gap, "%+.2f")
            line += cell(p.leakage[videos[0]], "%.3f", width: 7) + "/ " + cell(p.leakage[videos[1]], "%.3f", width: nil)
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    /// A run's best checkpoint as the closing tables show it: its scores, test/0's partial-body and
    /// other frames, test/0 by the dancer's distance from the given frame's place, and how far and
    /// how fast the run trained.
    public struct RunResult: Sendable {
        public var point: Point
        public var partialBody: Double?, otherFrames: Double?
        /// Per distance bin (`distanceMeans`).
        public var byDistance: [(mean: Double?, frames: Int)]
        public var epochs: Int
        /// The median epoch's training frames/s (nil: no epoch logged).
        public var framesPerSecond: Double?

        /// `point` must hold the per-frame curves (the best checkpoint's point does); `testFrames`
        /// are test/0's, `metrics` the run's log.
        public init(point: Point, testFrames: TestFrames, metrics: MetricsLog.Contents) {
            self.point = point
            (partialBody, otherFrames) = QualityBenchmark.partialBodyMeans(point, edgeFrames: testFrames.edgeFrames)
            byDistance = QualityBenchmark.distanceMeans(point, distances: testFrames.distances)
            epochs = metrics.epochs.count
            let rates = metrics.epochs.map(\.framesPerSecond).sorted()
            framesPerSecond = rates.isEmpty ? nil : rates[(rates.count - 1) / 2]
        }
    }

    /// The closing table: one row per run, then the mean +- sd over each preset's runs (the seeds).
    public static func resultTable(_ results: [RunResult]) -> String {
        let header = "preset    seed  epochs  val             test/0          gap             leak test/0     partial-body    other frames    frames/s"
        return table(results, header: header) { runs in
            column(runs.map { $0.point.meanLabScore[valVideo] }) + column(runs.map { $0.point.meanLabScore[testVideo] })
                + column(runs.map(\.point.gap)) + column(runs.map { $0.point.leakage[testVideo] }, decimals: 3)
                + column(runs.map(\.partialBody)) + column(runs.map(\.otherFrames))
                + spread(runs.compactMap(\.framesPerSecond), decimals: 1)
        }
    }

    /// The second closing table: test/0's mean PSNR in each distance bin, per run and over the
    /// seeds; the header gives each bin's frames (of the first run: all score the same video).
    public static func distanceTable(_ results: [RunResult]) -> String {
        let counts = results.first?.byDistance.map(\.frames) ?? []
        let bins = distanceBinNames.enumerated().map { i, name in i < counts.count ? "\(name) (\(counts[i]))" : name }
        let header = "preset    seed  epochs  " + bins.map { $0.padding(toLength: 16, withPad: " ", startingAt: 0) }.joined()
        return table(results, header: header) { runs in
            distanceBinNames.indices.map { bin in column(runs.map { bin < $0.byDistance.count ? $0.byDistance[bin].mean : nil }) }.joined()
        }
    }

    /// A closing table: the header, one row per run, then each preset's mean +- sd where it has
    /// several runs; `cells` writes a row's values from its runs (one run, or a preset's).
    static func table(_ results: [RunResult], header: String, cells: ([RunResult]) -> String) -> String {
        func row(_ name: String, _ seed: String, _ epochs: String, _ runs: [RunResult]) -> String {
            name.padding(toLength: 10, withPad: " ", startingAt: 0) + seed.padding(toLength: 6, withPad: " ", startingAt: 0)
                + epochs.padding(toLength: 8, withPad: " ", startingAt: 0) + cells(runs)
        }
        var lines = [header]
        for run in results { lines.append(row(run.point.preset.rawValue, "\(run.point.seed)", "\(run.epochs)", [run])) }
        for preset in Preset.allCases {
            let runs = results.filter { $0.point.preset == preset }
            guard runs.count > 1 else { continue }
            lines.append(row(preset.rawValue, "mean", "", runs) + "   (mean +- sd over \(runs.count) runs)")
        }
        return lines.joined(separator: "\n")
    }

    /// One column of a closing table: the values' `spread`, padded to 16 characters.
    static func column(_ values: [Double?], decimals: Int = 2) -> String {
        spread(values.compactMap { $0 }, decimals: decimals).padding(toLength: 16, withPad: " ", startingAt: 0)
    }

    /// Mean and sample standard deviation ("31.20 +- 0.35"; the deviation needs two values).
    public static func spread(_ values: [Double], decimals: Int = 2) -> String {
        let finite = values.filter(\.isFinite)
        guard !finite.isEmpty else { return "-" }
        let mean = VideoScore.mean(finite), format = "%.\(decimals)f"
        guard finite.count > 1 else { return String(format: format, mean) }
        let sd = (finite.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(finite.count - 1)).squareRoot()
        return String(format: format + " +- " + format, mean, sd)
    }

    /// Per-frame PSNR of the val video and test video 0 (one sample), with the test video's
    /// partial-body frames marked: the walk across the stage shows as the curve's dips.
    public static func curves(_ point: Point, edgeFrames: [Int], title: String) -> LineChart {
        var series: [LineChart.Series] = []
        for (video, colour) in [(valVideo, "#1f77b4"), (testVideo, "#d62728")] {
            guard let values = point.psnrPerFrame?[video] else { continue }
            series.append(LineChart.Series(video, values: values, start: 1, colour: colour))
            if video == testVideo, !edgeFrames.isEmpty {
                series.append(LineChart.Series("test/0, partial or no body in the label",
                                               points: edgeFrames.filter { $0 - 1 < values.count }.map { (Double($0), values[$0 - 1]) },
                                               style: .points, colour: "#ff7f0e"))
            }
        }
        return LineChart(title: title, xLabel: "frame", yLabel: "PSNR (dB)", series: series)
    }
}
