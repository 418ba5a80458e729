import Foundation

/// The charts of one run, made from its record (and eval.json when present). Each has a stable
/// file name: `report/<name>.svg`.
public struct NamedChart: Sendable {
    public var name: String
    public var chart: LineChart
}

public enum RunCharts {
    /// Every chart of the report, in page order. Epochs on the x axes are 1-based.
    public static func all(_ run: RunRecord, evaluation: EvaluationFile? = nil) -> [NamedChart] {
        [NamedChart(name: "loss", chart: loss(run)),
         NamedChart(name: "kl", chart: kl(run)),
         NamedChart(name: "val_psnr", chart: valPSNR(run)),
         NamedChart(name: "tfr_beta", chart: schedules(run)),
         NamedChart(name: "learning_rate", chart: learningRate(run)),
         NamedChart(name: "per_frame_psnr", chart: perFramePSNR(run, evaluation: evaluation)),
         NamedChart(name: "per_frame_ssim", chart: perFrameSSIM(evaluation)),
         NamedChart(name: "throughput", chart: throughput(run))]
    }

    static func epochPoints(_ values: [(Int, Double)]) -> [(x: Double, y: Double)] {
        values.map { (Double($0.0), $0.1) }
    }

    /// The KL term apart from the loss (whose chart a KL spike would flatten): per epoch and per
    /// batch averaged, log scale; the loss adds it times beta (the schedules' chart).
    public static func kl(_ run: RunRecord) -> LineChart {
        var series: [LineChart.Series] = []
        let batches = run.smoothedBatchKL()
        if batches.count > run.epochs.count {
            series.append(.init("train KL (batches, averaged)", points: batches, colour: "#9ecae1"))
        }
        series.append(.init("train KL", points: epochPoints(run.epochs.map { ($0.epoch, $0.trainKL) }), style: .lineAndPoints))
        return LineChart(title: "KL divergence (the loss adds beta x KL)", xLabel: "epoch", yLabel: "KL (log scale)", series: series, yScale: .log)
    }

    /// Training loss (per epoch, and per batch smoothed), training MSE and validation loss (the
    /// rollout's MSE), log scale: losses fall over decades.
    public static func loss(_ run: RunRecord) -> LineChart {
        var series: [LineChart.Series] = []
        let batches = run.smoothedBatchLoss()
        if batches.count > run.epochs.count {
            series.append(.init("train loss (batches, averaged)", points: batches, colour: "#9ecae1"))
        }
        series.append(.init("train loss", points: epochPoints(run.epochs.map { ($0.epoch, $0.trainLoss) }), style: .lineAndPoints))
        series.append(.init("train MSE", points: epochPoints(run.epochs.map { ($0.epoch, $0.trainMSE) }), dashed: true))
        series.append(.init("val loss (rollout MSE)", points: epochPoints(run.validations.map { ($0.epoch, $0.valLoss) }),
                            style: .lineAndPoints))
        return LineChart(title: "Training and validation loss", xLabel: "epoch", yLabel: "loss (log scale)",
                         series: series, yScale: .log)
    }

    public static func valPSNR(_ run: RunRecord) -> LineChart {
        var series = [LineChart.Series("val PSNR", points: epochPoints(run.validations.map { ($0.epoch, $0.valPSNR) }),
                                       style: .lineAndPoints)]
        if let best = run.bestPSNR {
            series.append(.init(String(format: "best: %.2f dB (epoch %d)", best.valPSNR, best.epoch),
                                points: [(Double(best.epoch), best.valPSNR)], style: .points, colour: "#D55E00"))
        }
        return LineChart(title: "Validation PSNR per epoch", xLabel: "epoch", yLabel: "PSNR (dB)", series: series)
    }

    /// Teacher-forcing ratio and KL weight per epoch, plus the epoch's coin: 1 = teacher forcing ON.
    public static func schedules(_ run: RunRecord) -> LineChart {
        let top = max(1, run.epochs.map { max($0.tfr, $0.beta) }.filter(\.isFinite).max() ?? 1)
        return LineChart(title: "Teacher forcing ratio and KL weight (beta)", xLabel: "epoch", yLabel: "value",
                  series: [.init("tfr", points: epochPoints(run.epochs.map { ($0.epoch, $0.tfr) }), style: .lineAndPoints),
                           .init("beta", points: epochPoints(run.epochs.map { ($0.epoch, $0.beta) }), style: .lineAndPoints),
                           .init("teacher forcing ON (1) / OFF (0)",
                                 points: epochPoints(run.epochs.map { ($0.epoch, $0.teacherForcing ? 1 : 0) }), style: .points)],
                  yRange: 0...top)
    }

    public static func learningRate(_ run: RunRecord) -> LineChart {
        LineChart(title: "Learning rate", xLabel: "epoch", yLabel: "learning rate (log scale)",
                  series: [.init("lr", points: epochPoints(run.epochs.map { ($0.epoch, $0.lr) }), style: .lineAndPoints)],
                  yScale: .log)
    }

    /// PSNR of each frame of the val video: at the best and the last validation, and from
    /// `vidpred eval` (the chosen checkpoint's predictions, dashed: the repeated first frame) when present.
    public static func perFramePSNR(_ run: RunRecord, evaluation: EvaluationFile?) -> LineChart {
        var series: [LineChart.Series] = []
        if let best = run.bestPSNR {
            series.append(.init("best validation (epoch \(best.epoch))", values: best.psnrPerFrame, start: 1))
        }
        if let last = run.validations.last, last.epoch != run.bestPSNR?.epoch {
            series.append(.init("last validation (epoch \(last.epoch))", values: last.psnrPerFrame, start: 1, dashed: true))
        }
        series += evaluated(evaluation, \.psnrPerFrame, baseline: \.baselinePSNRPerFrame)
        return LineChart(title: "PSNR per frame (val video; videos scored by eval)", xLabel: "frame", yLabel: "PSNR (dB)", series: series)
    }

    /// SSIM of each frame of the videos `vidpred eval` scored (sample 0), beside the repeated first frame's.
    public static func perFrameSSIM(_ evaluation: EvaluationFile?) -> LineChart {
        LineChart(title: "SSIM per frame (videos scored by eval)", xLabel: "frame", yLabel: "SSIM",
                  series: evaluated(evaluation, \.ssimPerFrame, baseline: \.baselineSSIMPerFrame))
    }

    /// Per evaluated video, its per-frame score (sample 0) and, dashed, the baseline's.
    private static func evaluated(_ evaluation: EvaluationFile?, _ score: KeyPath<EvaluationFile.Video, [Double]>,
                                  baseline: KeyPath<EvaluationFile.Video, [Double]>) -> [LineChart.Series] {
        var series: [LineChart.Series] = []
        for video in evaluation?.videos ?? [] where !video[keyPath: score].isEmpty {
            series.append(.init("eval \(video.split)/\(video.name)", values: video[keyPath: score], start: 1))
            if !video[keyPath: baseline].isEmpty {
                series.append(.init("\(EvaluationResult.baselineMethod): \(video.split)/\(video.name)", values: video[keyPath: baseline],
                                    start: 1, dashed: true))
            }
        }
        return series
    }

    public static func throughput(_ run: RunRecord) -> LineChart {
        LineChart(title: "Training throughput", xLabel: "epoch", yLabel: "frames per second",
                  series: [.init("frames/s", points: epochPoints(run.epochs.map { ($0.epoch, $0.framesPerSecond) }),
                                 style: .lineAndPoints)])
    }
}
