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
/// lab score (PSNR on 0-255 values, frames 1..600) of each video, over K samples.
public enum QualityBenchmark {
    public struct Point: Codable, Sendable {
        public var preset: Preset
        /// Training minutes (wall clock of the training loop, validation included) at the checkpoint.
        public var minutes: Double
        public var checkpoint: String
        public var latent: LatentSource
        public var samples: Int
        /// Per video ("val/0", "test/0"): mean and best lab score over the samples.
        public var meanLabScore: [String: Double]
        public var bestLabScore: [String: Double]

        public init(preset: Preset, minutes: Double, checkpoint: String, latent: LatentSource, samples: Int,
                    meanLabScore: [String: Double], bestLabScore: [String: Double]) {
            self.preset = preset; self.minutes = minutes; self.checkpoint = checkpoint; self.latent = latent
            self.samples = samples; self.meanLabScore = meanLabScore; self.bestLabScore = bestLabScore
        }
    }

    /// Generates `samples` rollouts of every video with the model and scores them against the truth.
    public static func score(model: any VideoModel, latent: LatentSource?, videos: [LabVideo], samples: Int,
                             seed: UInt64 = 0, device: Device = .cpu) throws -> [String: SampledVideoScore] {
        let inputs = try videos.map { try PredictionInput(video: $0) }
        try model.move(to: device)
        let predictor = Predictor(model: model, latent: latent, seed: seed, device: device)
        var collected: [Int: [VideoScore]] = [:]
        try predictor.predict(inputs, samples: samples) { sample in
            let video = videos[sample.video]
            guard let truth = video.referenceFrames else { return }
            let count = min(sample.length, truth.count)
            let score = VideoScore.compute(prediction: (0..<count).map { sample.frame($0) },
                                           truth: (0..<count).map { truth.frame($0).pixels },
                                           height: sample.height, width: sample.width)
            collected[sample.video, default: []].append(score)
        }
        var result: [String: SampledVideoScore] = [:]
        for (index, scores) in collected { result[videos[index].displayName] = SampledVideoScore(samples: scores) }
        return result
    }

    /// The table: one row per (preset, minutes), one column per video.
    public static func table(_ points: [Point]) -> String {
        let videos = Array(Set(points.flatMap { $0.meanLabScore.keys })).sorted { ($0.hasPrefix("val") ? 0 : 1, $0) < ($1.hasPrefix("val") ? 0 : 1, $1) }
        var lines = ["preset    minutes  latent           K  " + videos.map { "\($0) mean / best".padding(toLength: 24, withPad: " ", startingAt: 0) }.joined()]
        for p in points {
            var line = p.preset.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0) + String(format: "%7.1f  ", p.minutes)
                + p.latent.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0) + String(format: "%2d  ", p.samples)
            for v in videos {
                let cell = p.meanLabScore[v].map { m in String(format: "%.2f / %.2f dB", m, p.bestLabScore[v] ?? m) } ?? "-"
                line += cell.padding(toLength: 24, withPad: " ", startingAt: 0)
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}
