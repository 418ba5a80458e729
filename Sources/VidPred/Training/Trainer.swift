import Foundation
import Torch
import VidPredData

/// Runs the lab's training protocol on a model: per-epoch schedules (teacher forcing decided once
/// per epoch with probability tfr, KL weight beta, learning rate), one backward and one Adam step
/// per batch with gradient clipping, a non-finite guard, validation rollouts, checkpoints and a
/// metrics log. Progress goes out as `TrainingEvent`s.
public final class Trainer {
    public let config: TrainConfig
    public let model: any VideoModel
    public let runFolder: URL
    let optimizer: Optimizer
    let noise: RandomGenerator
    let data: TrainingData
    let windows: TrainingWindows
    let log: MetricsLog
    let onEvent: (TrainingEvent) -> Void
    public private(set) var progress: Checkpoint.Progress
    private var elapsedBeforeResume = 0.0
    private var snapshotsTaken = 0

    public var checkpointsFolder: URL { runFolder.appendingPathComponent("checkpoints") }
    public var lastCheckpoint: URL { checkpointsFolder.appendingPathComponent("last.safetensors") }

    /// - Parameter resume: continue the run in `runFolder` from `checkpoints/last.safetensors`.
    public init(config: TrainConfig, data: TrainingData, runFolder: URL, resume: Bool = false,
                onEvent: @escaping (TrainingEvent) -> Void = { _ in }) throws {
        try config.validate()
        self.config = config
        self.data = data
        self.runFolder = runFolder
        self.onEvent = onEvent
        windows = try TrainingWindows(videoLengths: data.train.map(\.count), options: config.windowOptions)
        // Initial weights from their own generator: the same as after Runtime.seed(config.seed),
        // but safe from other threads drawing from the global generator meanwhile.
        model = try RandomGenerator.initialising(seed: config.seed) { try makeModel(config) }
        if config.usesChannelsLast { try model.convertToChannelsLast() }
        optimizer = try Optimizer(config.optimizer, parameters: model.parameters, learningRate: config.lr,
                                  weightDecay: config.weightDecay)
        noise = try RandomGenerator(seed: config.seed &+ 1)
        progress = Checkpoint.Progress(nextEpoch: 0, iteration: 0, bestPSNR: -.infinity, bestEpoch: -1, validationsSinceBest: 0)

        let fm = FileManager.default
        let last = runFolder.appendingPathComponent("checkpoints/last.safetensors")
        if resume {
            guard fm.fileExists(atPath: last.path) else {
                throw ConfigError("cannot resume: \(last.path) does not exist (was the run started with --out \(runFolder.path)?)")
            }
            progress = try Checkpoint.restore(model: model, optimizer: optimizer, generator: noise, from: last)
            elapsedBeforeResume = Self.previousTrainingSeconds(runFolder.appendingPathComponent("metrics.jsonl"))
            if let every = config.snapshotEveryMinutes, every > 0 { snapshotsTaken = Int(elapsedBeforeResume / (every * 60)) }
        } else if fm.fileExists(atPath: last.path) {
            throw ConfigError("\(runFolder.path) already holds a run; continue it with --resume \(runFolder.path) or choose another --out")
        }
        let checkpoints = runFolder.appendingPathComponent("checkpoints")
        do {
            try fm.createDirectory(at: checkpoints, withIntermediateDirectories: true)
        } catch {
            throw ConfigError("cannot create \(checkpoints.path): \(error.localizedDescription)")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(config), to: runFolder.appendingPathComponent("config.json"))
        log = try MetricsLog(url: runFolder.appendingPathComponent("metrics.jsonl"))
    }

    private func emit(_ event: TrainingEvent) {
        log.record(event)
        onEvent(event)
    }

    /// Teacher forcing for an epoch: one coin with probability tfr, from a stream seeded by
    /// (seed, epoch) so a resumed run flips the same coins.
    func teacherForcing(epoch: Int) -> Bool {
        var rng = SplitMix64(seed: config.seed &* 0x5851_F42D &+ UInt64(epoch) &* 0x9E37)
        return Double(rng.next() >> 11) / Double(1 << 53) < config.teacherForcing.ratio(epoch: epoch)
    }

    /// Trains until the last epoch (or `stopAfterEpochs` epochs in all), the time budget, early
    /// stopping or `shouldStop()` (Ctrl-C). Returns the reason it stopped.
    @discardableResult
    public func run(stopAfterEpochs: Int? = nil, shouldStop: () -> Bool = { false }) throws -> String {
        let start = Date()
        var elapsed: Double { elapsedBeforeResume + Date().timeIntervalSince(start) }
        let budget = config.timeBudgetMinutes.map { $0 * 60 }
        let end = min(config.epochs, stopAfterEpochs ?? config.epochs)
        guard progress.nextEpoch < end else { return "nothing to do: the run has already done \(progress.nextEpoch) epochs" }
        for epoch in progress.nextEpoch..<end {
            let lr = config.learningRateSchedule.learningRate(base: config.lr, epoch: epoch)
            try optimizer.setLearningRate(lr)
            let tfr = config.teacherForcing.ratio(epoch: epoch)
            let beta = config.klAnnealing.beta(epoch: epoch)
            let forcing = teacherForcing(epoch: epoch)
            let batches = windows.batches(forEpoch: epoch, batchSize: config.batchSize)
            emit(.epochStarted(EpochPlan(epoch: epoch, epochs: config.epochs, batches: batches.count,
                                         teacherForcing: forcing, tfr: tfr, beta: beta, lr: lr)))
            model.train()
            let epochStart = Date()
            var sums = (loss: 0.0, mse: 0.0, kl: 0.0), done = 0, skipped = 0, frames = 0
            var interrupted = false
            for (index, batchWindows) in batches.enumerated() {
                let (clipFrames, clipLabels) = try data.batch(batchWindows, length: config.trainVideoLength)
                try optimizer.zeroGrad()
                // Seeded by the iteration so a resumed run draws the same reference frames.
                let reference = config.referenceSampling == "random"
                    ? try data.referenceFrames(for: batchWindows, seed: config.seed &* 0x2545_F491 &+ UInt64(progress.iteration)) : nil
                let loss = try autocast(enabled: config.usesBFloat16) {
                    try model.sequenceLoss(frames: clipFrames, labels: clipLabels, teacherForcing: forcing,
                                           beta: beta, generator: noise, noise: nil, reference: reference)
                }
                progress.iteration += 1
                let value = try loss.total.item()
                var skipReason: String? = value.isFinite ? nil : "non-finite loss (\(value))"
                if skipReason == nil {
                    try loss.total.backward()
                    let norm = try clipGradNorm(model.parameters, maxNorm: config.clip)
                    if norm.isFinite { try optimizer.step() } else { skipReason = "non-finite gradient norm" }
                }
                if let reason = skipReason {
                    // Skip rather than poison the weights (the lab's NaN at iteration 62 with beta 0).
                    try optimizer.zeroGrad()
                    skipped += 1
                    emit(.skippedBatch(epoch: epoch, iteration: progress.iteration, reason: reason))
                } else {
                    let mse = try loss.mse.item(), kl = try loss.kl.item()
                    sums.loss += value; sums.mse += mse; sums.kl += kl; done += 1
                    frames += batchWindows.count * (config.trainVideoLength - 1)
                    let seconds = Date().timeIntervalSince(epochStart)
                    emit(.batch(BatchStats(epoch: epoch, batchInEpoch: index + 1, batches: batches.count,
                                           iteration: progress.iteration, loss: value, mse: mse, kl: kl, beta: beta,
                                           tfr: tfr, teacherForcing: forcing, lr: lr, seconds: elapsed,
                                           framesPerSecond: Double(frames) / max(seconds, 1e-9))))
                }
                if let every = config.snapshotEveryMinutes, every > 0 {
                    let due = Int(elapsed / (every * 60))
                    if due > snapshotsTaken {
                        snapshotsTaken = due
                        let name = String(format: "minute-%07.2f.safetensors", Double(due) * every)
                        try saveCheckpoint(checkpointsFolder.appendingPathComponent(name), epoch: epoch, reason: "snapshot")
                    }
                }
                if shouldStop() { interrupted = true; break }
                if let budget, elapsed > budget { interrupted = true; break }
            }
            let seconds = Date().timeIntervalSince(epochStart)
            let count = Double(max(done, 1))
            emit(.epoch(EpochStats(epoch: epoch, trainLoss: sums.loss / count, trainMSE: sums.mse / count,
                                   trainKL: sums.kl / count, tfr: tfr, beta: beta, lr: lr, teacherForcing: forcing,
                                   skippedBatches: skipped, seconds: seconds,
                                   framesPerSecond: Double(frames) / max(seconds, 1e-9))))
            if shouldStop() {
                // Ctrl-C: keep the work done so far. Resuming restarts this epoch from these weights.
                progress.nextEpoch = epoch
                try saveCheckpoint(lastCheckpoint, epoch: epoch, reason: "interrupted")
                return "interrupted (checkpoint saved; continue with --resume \(runFolder.path))"
            }
            progress.nextEpoch = epoch + 1
            let isLast = epoch + 1 == end || interrupted
            if (epoch + 1) % max(1, config.valEvery) == 0 || isLast {
                let stats = try validate(epoch: epoch)
                if stats.valPSNR > progress.bestPSNR {
                    progress.bestPSNR = stats.valPSNR
                    progress.bestEpoch = epoch
                    progress.validationsSinceBest = 0
                    try saveCheckpoint(checkpointsFolder.appendingPathComponent("best.safetensors"), epoch: epoch, reason: "best")
                } else {
                    progress.validationsSinceBest += 1
                }
            }
            try saveCheckpoint(lastCheckpoint, epoch: epoch, reason: "last")
            if config.perSave > 0 && (epoch + 1) % config.perSave == 0 {
                let name = String(format: "epoch-%04d.safetensors", epoch + 1)
                try saveCheckpoint(checkpointsFolder.appendingPathComponent(name), epoch: epoch, reason: "periodic")
            }
            if interrupted { return "time budget of \(config.timeBudgetMinutes ?? 0) minutes reached" }
            if let patience = config.earlyStopPatience, progress.validationsSinceBest >= patience {
                return "early stop: no val PSNR improvement in \(patience) validations"
            }
        }
        return "finished \(end) epochs"
    }

    private func saveCheckpoint(_ url: URL, epoch: Int, reason: String) throws {
        try Checkpoint.write(model: model, optimizer: optimizer, generator: noise, progress: progress, to: url)
        emit(.checkpoint(epoch: epoch, path: url.path.replacingOccurrences(of: runFolder.path + "/", with: ""), reason: reason))
    }

    /// Autoregressive rollout over every val video with z from `config.latent` (default: the
    /// learned prior if the model has one, else N(0, I)) and the model's own frames fed back; PSNR per frame (range 1, predictions clamped to [0, 1]) for frames 1..T-1.
    public func validate(epoch: Int) throws -> ValidationStats {
        let start = Date()
        model.eval()
        defer { model.train() }
        // Validation noise has its own stream so validating never shifts the training noise.
        let generator = try RandomGenerator(seed: config.seed &+ 1000 &+ UInt64(bitPattern: Int64(epoch)))
        var perFrame: [Double] = []
        var mseSum = 0.0, mseCount = 0
        for video in data.validation {
            let clip = try video.prefix(config.valVideoLength)
            let total = clip.count
            let predicted = try autocast(enabled: config.usesBFloat16) {
                try model.rollout(firstFrame: clip.frames.narrow(dim: 0, start: 0, length: 1),
                                  labels: clip.labels.unsqueezed(0), generator: generator, latent: config.latentSource,
                                  onFrame: { [onEvent] t in if t % 10 == 0 { onEvent(.validationProgress(frame: t, of: total - 1)) } })
            }
            let errors = try (predicted.squeezed(0).to(.float32).clamped(0, 1) - clip.frames).square().mean(dims: [1, 2, 3]).doubles()
            for e in errors.dropFirst() {
                perFrame.append(10 * log10(1 / e))
                mseSum += e
                mseCount += 1
            }
        }
        let stats = ValidationStats(epoch: epoch, valLoss: mseSum / Double(max(mseCount, 1)),
                                    valPSNR: perFrame.reduce(0, +) / Double(max(perFrame.count, 1)),
                                    psnrPerFrame: perFrame, seconds: Date().timeIntervalSince(start))
        emit(.validation(stats))
        return stats
    }

    /// Training seconds already spent by a resumed run (the last batch line of its metrics log).
    static func previousTrainingSeconds(_ url: URL) -> Double {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n").reversed() where line.contains("\"event\":\"batch\"") {
            if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
               let seconds = object["seconds"] as? Double { return seconds }
        }
        return 0
    }
}
