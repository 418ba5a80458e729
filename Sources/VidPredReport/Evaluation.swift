import Foundation
import VidPred
import VidPredData

/// `vidpred eval`: scores the predicted videos in a predictions folder against the real frames
/// (val videos, or test videos with test/test_gt), every sample of every video, and writes
/// `eval.json`. Beside each score stands the baseline every model must beat: the video's first
/// (given) frame repeated, scored the same way over the same frames.
public struct EvaluationResult: Sendable {
    public struct Video: Sendable {
        public var split: String
        public var name: String
        public var frames: Int
        public var scores: SampledVideoScore
        /// The first frame repeated for every frame.
        public var baseline: VideoScore
    }

    public static let baselineMethod = "repeat the first frame"

    public var videos: [Video]
    /// Predicted videos that could not be scored, with the reason (no ground truth...).
    public var skipped: [(video: String, reason: String)]

    /// Scores every predicted video that has ground truth in `dataset`.
    /// - Parameter onVideo: called before each video is scored (progress).
    public static func evaluate(predictions: PredictionLayout, dataset: LabDataset,
                                onVideo: (String, Int, Int) -> Void = { _, _, _ in }) throws -> EvaluationResult {
        let found = predictions.videos()
        guard !found.isEmpty else {
            throw ReportError("\(predictions.root.path) holds no predicted videos: run `vidpred predict` first")
        }
        var truthByKey: [String: FrameSequence] = [:]
        for video in dataset.val + dataset.test {
            if let truth = video.referenceFrames { truthByKey["\(video.split.rawValue)/\(PredictionLayout.folderName(of: video))"] = truth }
        }
        var result = EvaluationResult(videos: [], skipped: [])
        for (index, video) in found.enumerated() {
            let key = "\(video.split)/\(video.name)"
            onVideo(key, index, found.count)
            guard let truth = truthByKey[key] else {
                let reason = video.split == "test" ? "no ground truth (test/test_gt/\(video.name) is absent)" : "not in the dataset"
                result.skipped.append((key, reason))
                continue
            }
            let truthFrames = (0..<truth.count).map { Array(truth.samples(from: $0, count: 1)) }
            var scores: [VideoScore] = []
            var frames = 0
            for sampleFolder in video.samples {
                let predicted = try PredictionLayout.readFrames(in: sampleFolder)
                guard predicted[0].width == truth.width && predicted[0].height == truth.height else {
                    throw ReportError("\(sampleFolder.path): frames are \(predicted[0].width)x\(predicted[0].height) but the data is \(truth.width)x\(truth.height); evaluate against the data at the size the run was trained at")
                }
                frames = min(predicted.count, truth.count)
                scores.append(VideoScore.compute(prediction: predicted.map(\.pixels), truth: truthFrames,
                                                 height: truth.height, width: truth.width))
            }
            let baseline = VideoScore.compute(prediction: Array(repeating: truthFrames[0], count: frames), truth: truthFrames,
                                              height: truth.height, width: truth.width)
            result.videos.append(Video(split: video.split, name: video.name, frames: frames, scores: SampledVideoScore(samples: scores),
                                       baseline: baseline))
        }
        return result
    }

    // MARK: - summaries

    /// Averages over the videos of one split.
    public struct Summary: Sendable {
        public var split: String
        public var videos: Int
        public var samples: Int
        public var meanPSNR, bestPSNR, meanSSIM, bestSSIM, meanLabScore, bestLabScore: Double
        public var baselinePSNR, baselineSSIM, baselineLabScore: Double
    }

    public var summaries: [Summary] {
        var splits: [String] = []
        for v in videos where !splits.contains(v.split) { splits.append(v.split) }
        return splits.map { split in
            let inSplit = videos.filter { $0.split == split }
            let vs = inSplit.map(\.scores), baselines = inSplit.map(\.baseline)
            func avg(_ f: (SampledVideoScore) -> Double) -> Double { VideoScore.mean(vs.map(f)) }
            func base(_ f: (VideoScore) -> Double) -> Double { VideoScore.mean(baselines.map(f)) }
            return Summary(split: split, videos: vs.count, samples: vs.map(\.samples.count).max() ?? 0,
                           meanPSNR: avg(\.meanPSNR), bestPSNR: avg(\.bestPSNR), meanSSIM: avg(\.meanSSIM),
                           bestSSIM: avg(\.bestSSIM), meanLabScore: avg(\.meanLabScore), bestLabScore: avg(\.bestLabScore),
                           baselinePSNR: base(\.psnr), baselineSSIM: base(\.ssim), baselineLabScore: base(\.labScore))
        }
    }

    /// The on-screen table: one row per video, then one per split (mean over videos); the
    /// baseline's PSNR and lab score beside the model's.
    public func table() -> String {
        let header = ["video", "frames", "K", "PSNR mean", "PSNR best", "baseline PSNR", "SSIM mean", "SSIM best",
                      "lab score mean", "lab score best", "baseline lab score"]
        var rows: [[String]] = videos.map { v in
            let s = v.scores
            return ["\(v.split)/\(v.name)", String(v.frames), String(s.samples.count), dB(s.meanPSNR), dB(s.bestPSNR), dB(v.baseline.psnr),
                    ratio(s.meanSSIM), ratio(s.bestSSIM), dB(s.meanLabScore), dB(s.bestLabScore), dB(v.baseline.labScore)]
        }
        for s in summaries {
            rows.append(["\(s.split) (mean of \(s.videos))", "", String(s.samples), dB(s.meanPSNR), dB(s.bestPSNR), dB(s.baselinePSNR),
                         ratio(s.meanSSIM), ratio(s.bestSSIM), dB(s.meanLabScore), dB(s.bestLabScore), dB(s.baselineLabScore)])
        }
        return TextTable.render(header: header, rows: rows) + "baseline: \(Self.baselineMethod), scored the same way (what a model must beat)\n"
    }

    /// eval.json: per video and sample the per-frame PSNR/SSIM (frames 1..<T), the means and the
    /// lab score; per video the mean and best over samples; per split the averages.
    public func json(predictions: URL, data: URL) -> [String: Any] {
        func n(_ x: Double) -> Any { x.isFinite ? x : NSNull() }
        let videoObjects: [[String: Any]] = videos.map { v in
            let s = v.scores
            return [
                "split": v.split, "video": v.name, "frames": v.frames, "first_scored_frame": 1,
                "samples": s.samples.enumerated().map { k, score in
                    ["sample": k, "psnr": n(score.psnr), "ssim": n(score.ssim), "lab_score": n(score.labScore),
                     "psnr_per_frame": score.psnrPerFrame.map(n), "ssim_per_frame": score.ssimPerFrame.map(n)] as [String: Any]
                },
                "mean": ["psnr": n(s.meanPSNR), "ssim": n(s.meanSSIM), "lab_score": n(s.meanLabScore)],
                "best": ["psnr": n(s.bestPSNR), "ssim": n(s.bestSSIM), "lab_score": n(s.bestLabScore)],
                "baseline": ["method": Self.baselineMethod, "psnr": n(v.baseline.psnr), "ssim": n(v.baseline.ssim),
                             "lab_score": n(v.baseline.labScore), "psnr_per_frame": v.baseline.psnrPerFrame.map(n),
                             "ssim_per_frame": v.baseline.ssimPerFrame.map(n)] as [String: Any],
            ]
        }
        var splits: [String: Any] = [:]
        for s in summaries {
            splits[s.split] = ["videos": s.videos, "samples": s.samples,
                               "mean": ["psnr": n(s.meanPSNR), "ssim": n(s.meanSSIM), "lab_score": n(s.meanLabScore)],
                               "best": ["psnr": n(s.bestPSNR), "ssim": n(s.bestSSIM), "lab_score": n(s.bestLabScore)],
                               "baseline": ["method": Self.baselineMethod, "psnr": n(s.baselinePSNR), "ssim": n(s.baselineSSIM),
                                            "lab_score": n(s.baselineLabScore)]]
        }
        return [
            "predictions": predictions.path, "data": data.path, "created": ISO8601DateFormatter().string(from: Date()),
            "metrics": ["psnr": "10 log10(1 / MSE), frames clipped to [0, 1], frames 1..T-1",
                        "ssim": "Wang et al. 2004, Gaussian window 11, sigma 1.5, range 1, K1 0.01, K2 0.03, mean over channels",
                        "lab_score": "PSNR on rint(x*255) clipped to [0, 255], range 255, mean over frames 1..600"],
            "videos": videoObjects, "splits": splits,
            "skipped": skipped.map { ["video": $0.video, "reason": $0.reason] },
        ]
    }

    public func writeJSON(to url: URL, predictions: URL, data: URL) throws {
        let bytes = try JSONSerialization.data(withJSONObject: json(predictions: predictions, data: data),
                                               options: [.prettyPrinted, .sortedKeys])
        try FileOutput.write(bytes, to: url)
    }

    private func dB(_ x: Double) -> String { x.isFinite ? String(format: "%.2f", x) : (x.isNaN ? "-" : "inf") }
    private func ratio(_ x: Double) -> String { x.isFinite ? String(format: "%.4f", x) : "-" }
}

/// eval.json read back (for the report): per video the mean scores and the per-frame PSNR of
/// sample 0.
public struct EvaluationFile: Sendable {
    public struct Video: Sendable {
        public var split: String
        public var name: String
        public var samples: Int
        public var meanPSNR, bestPSNR, meanSSIM, bestSSIM, meanLabScore, bestLabScore: Double
        public var psnrPerFrame: [Double]
        public var ssimPerFrame: [Double]
        /// The repeated first frame's scores (nan and empty in files of earlier versions).
        public var baselinePSNR, baselineLabScore: Double
        public var baselinePSNRPerFrame, baselineSSIMPerFrame: [Double]
    }

    public var videos: [Video]

    /// The file's scores, or nil when there is none; an unreadable file is an error.
    public static func read(_ url: URL) throws -> EvaluationFile? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        guard let data = try? Data(contentsOf: url),
              let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let videos = object["videos"] as? [[String: Any]] else {
            throw ReportError("\(url.path) is not a readable eval.json: score the predictions again")
        }
        func num(_ any: Any?) -> Double { (any as? NSNumber)?.doubleValue ?? .nan }
        return EvaluationFile(videos: videos.map { v in
            let mean = v["mean"] as? [String: Any] ?? [:], best = v["best"] as? [String: Any] ?? [:]
            let baseline = v["baseline"] as? [String: Any] ?? [:]
            let samples = v["samples"] as? [[String: Any]] ?? []
            let perFrame = (samples.first?["psnr_per_frame"] as? [Any])?.map(num) ?? []
            let ssimPerFrame = (samples.first?["ssim_per_frame"] as? [Any])?.map(num) ?? []
            return Video(split: v["split"] as? String ?? "?", name: v["video"] as? String ?? "?", samples: samples.count,
                         meanPSNR: num(mean["psnr"]), bestPSNR: num(best["psnr"]), meanSSIM: num(mean["ssim"]),
                         bestSSIM: num(best["ssim"]), meanLabScore: num(mean["lab_score"]), bestLabScore: num(best["lab_score"]),
                         psnrPerFrame: perFrame, ssimPerFrame: ssimPerFrame, baselinePSNR: num(baseline["psnr"]), baselineLabScore: num(baseline["lab_score"]),
                         baselinePSNRPerFrame: (baseline["psnr_per_frame"] as? [Any])?.map(num) ?? [],
                         baselineSSIMPerFrame: (baseline["ssim_per_frame"] as? [Any])?.map(num) ?? [])
        })
    }
}

/// A plain-text table with aligned columns for the terminal.
public enum TextTable {
    public static func render(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { i in all.map { i < $0.count ? $0[i].count : 0 }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: max(0, widths[i] - cell.count))
                return i == 0 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
        var out = line(header) + "\n" + widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
        for row in rows { out += line(row) + "\n" }
        return out
    }
}
