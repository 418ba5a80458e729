import Foundation
import Torch
import VidPredData

/// Runs the lab's training protocol on a model (the lab's `training_stage`): per-epoch schedules
/// (teacher forcing decided once per epoch with probability tfr, KL weight beta, learning rate),
/// one backward and one Adam step per batch with gradient clipping, a non-finite guard,
/// validation rollouts, checkpoints and the metrics log. Progress goes out as `TrainingEvent`s.
///
/// In a job of several processes (`job`), it trains as PyTorch's DistributedDataParallel does:
/// - every rank starts from rank 0's weights (broadcast after any restore);
/// - `batch_size` is per rank: each epoch's shuffled windows (the same order everywhere: the same
///   seed) form global batches of batch_size x ranks, and rank r trains on the r-th slice;
/// - each rank back-propagates its loss / ranks, then the gradients are summed over the ranks in
///   25 MB buckets before clipping, so every rank takes the step one process would take with the
///   global batch (the tests check the weights against such a process);
/// - the teacher-forcing coin and the schedules depend on the epoch and seed only, so they agree;
///   the noise is drawn for the global batch from one stream and each rank uses its rows, so it
///   differs per rank while the job stays equal to one process (and a resume with any number of
///   ranks continues the same stream);
/// - BatchNorm normalises with each rank's own batch statistics (DDP's default) and rank 0's
///   running statistics are broadcast before validation; `sync_batchnorm` uses the global batch's;
/// - a non-finite loss on any rank skips the step on all of them, and Ctrl-C or the time budget
///   stop all ranks at the same batch (the flags travel with each step's loss all-reduce);
/// - every rank validates (they would otherwise wait idle, so it costs no time) and rank 0's
///   score decides; rank 0 alone writes the log, TensorBoard and the checkpoints.
public final class Trainer {
    public let config: TrainConfig
    public let model: any VideoModel
    /// Where the model trains and validates; checkpoints are device-independent (read back to the CPU).
    public let device: Device
    public let run: RunFolder
    /// Holds the model's parameters, listed once (a module finds them by reflection, too slow per batch).
    let optimizer: Optimizer
    let noise: RandomGenerator
    let data: TrainingData
    let windows: TrainingWindows
    /// Changes each training clip (nil: the settings augment nothing).
    let augmenter: ClipAugmenter?
    let referenceSampler: ReferenceSampler
    /// The weights validated and saved in the weights files (nil: `ema_decay` 0, the raw ones).
    let average: WeightAverage?
    /// nil on ranks other than 0 of a job: they write nothing.
    let log: MetricsLog?
    let tensorBoard: TensorBoardLog?
    /// The job this process trains in, with the other ranks; nil for a process on its own.
    public let job: TrainingJob?
    let onEvent: (TrainingEvent) -> Void
    public private(set) var progress = Checkpoint.Progress.start
    private var clock = TrainingClock()
    private var snapshotsTaken = 0

    /// - Parameters:
    ///   - resume: continue the run in `run` from its last checkpoint.
    ///   - session: the command that trains, recorded in the run's manifest with `data.source`.
    ///   - start: a new run's initial weights and the epochs they were trained for (a lab `.ckpt`).
    ///   - device: where to train (`Runtime.prepare` makes a GPU usable first).
    ///   - job: the job of several processes this one trains in (the class's comment says how).
    public init(config: TrainConfig, data: TrainingData, run: RunFolder, resume: Bool = false,
                session: RunSession = RunSession(), start: Start? = nil, device: Device = .cpu, job: TrainingJob? = nil,
                onEvent: @escaping (TrainingEvent) -> Void = { _ in }) throws {
        let config = config.resolvingPrecision(on: device) { onEvent(.notice($0)) }  // what config.json records
        try config.validate()
        self.config = config
        self.job = job
        job?.runPath = run.path
        if let job {
            try job.requireSameSettings(["config": String(decoding: try config.jsonData(), as: UTF8.self), "world_size": String(job.worldSize),
                                         "resume": String(resume), "run": run.url.standardizedFileURL.path,
                                         "data": data.source?.fingerprint.description ?? "in memory",
                                         "start": start.map { "weights of epoch \($0.epochsDone)" } ?? "none",
                                         "version": VidPredVersion.current])
        }
        self.data = try data.trainingVideos(on: device)
        self.run = run
        self.onEvent = onEvent
        windows = try TrainingWindows(videoLengths: data.train.map(\.count), options: config.windowOptions)
        augmenter = config.augmentation.isActive ? try ClipAugmenter(config.augmentation, data: self.data) : nil
        referenceSampler = try ReferenceSampler(config, data: self.data)
        // Initial weights from their own generator: the same as after Runtime.seed(config.seed),
        // but safe from other threads drawing from the global generator meanwhile.
        model = try RandomGenerator.initialising(seed: config.seed) { try config.makeModel() }
        if config.usesChannelsLast { try model.convertToChannelsLast() }
        self.device = device
        try model.move(to: device)  // before the optimizer, which holds the parameters it is given
        if config.syncBatchnorm, let job {
            for case let norm as BatchNorm2d in model.modules { norm.synchronisation = job.group }
        }
        optimizer = try Optimizer(config.optimizer, parameters: model.parameters, learningRate: config.lr, weightDecay: config.weightDecay)
        average = config.emaDecay > 0 ? try WeightAverage(model: model, decay: config.emaDecay) : nil
        noise = try RandomGenerator(seed: config.seed &+ 1)
        if let job, !job.isLeader {
            // Rank 0 prepares the run folder; the others restore what it chose and write nothing.
            let choice = try job.decision("start", during: "the start of the run")
            if choice.hasPrefix("checkpoint:") {
                let url = URL(fileURLWithPath: String(choice.dropFirst("checkpoint:".count)))
                guard FileManager.default.fileExists(atPath: Checkpoint.stateURL(for: url).path) else {
                    throw JobError("rank \(job.rank) cannot read \(Checkpoint.stateURL(for: url).path), which rank 0 resumes from: every rank must see the run folder (put it on a file system all machines share)")
                }
                progress = try Checkpoint.restore(model: model, optimizer: optimizer, generator: noise, average: average, from: url).progress
            } else if let start {
                try model.load(stateDict: start.weights)
                try average?.reset()
                progress.epochsDone = start.epochsDone
            }
            log = nil
            tensorBoard = nil
            try job.collective("broadcast of rank 0's weights", iteration: progress.iteration) { try job.group.broadcast(model.stateDict().map(\.1)) }
            return
        }
        var restored: Checkpoint.Restored?
        let removed = run.removeStaleTemporaryFiles()
        if !removed.isEmpty { onEvent(.notice("removed \(removed.count) temporary file(s) of an interrupted write: \(removed.joined(separator: ", "))")) }
        if resume && run.holdsRun {
            restored = try Checkpoint.restoreNewest(model: model, optimizer: optimizer, generator: noise, average: average, preferring: run.lastCheckpoint,
                                                    onFallback: { onEvent(.notice($0)) })
            progress = restored!.progress
        } else if run.holdsRun {
            throw RunError("\(run.path) already holds a run: resume it, or train into another folder", kind: .runExists)
        } else {
            // A new run, or one that stopped before its first checkpoint (which resuming starts
            // again): records of an attempt that saved nothing are not part of it.
            if resume { onEvent(.notice("\(run.path) holds no checkpoint yet (it stopped before its first one): training it from the start")) }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: run.path)) ?? []
            for name in names where name == run.metrics.lastPathComponent || name.hasPrefix("events.out.tfevents.") {
                try? FileManager.default.removeItem(at: run.url.appendingPathComponent(name))
            }
            if let start {
                try model.load(stateDict: start.weights)
                try average?.reset()
                progress.epochsDone = start.epochsDone
            }
        }
        do {
            try FileManager.default.createDirectory(at: run.checkpoints, withIntermediateDirectories: true)
        } catch {
            throw RunError("cannot create \(run.checkpoints.path): \(error.localizedDescription)")
        }
        // Refuse now rather than after an epoch: a new best and the last checkpoint must fit.
        try DiskSpace.require(2 * Self.checkpointBytes(model, averaged: average != nil), at: run.checkpoints, for: "saving checkpoints of this model")
        // run.json before config.json: a run is resumable once config.json exists.
        var manifest = try run.readManifest() ?? RunManifest(data: nil, sessions: [])
        manifest.data = data.source ?? manifest.data
        var session = session
        session.device = device.description
        manifest.sessions.append(session)
        try run.writeManifest(manifest)
        try run.writeConfig(config)
        let log = try MetricsLog(url: run.metrics)
        if let position = restored?.log { try log.rewind(to: position) }
        self.log = log
        let tensorBoard = try TensorBoardLog(folder: run.url, resumingAt: restored.map { $0.progress.iteration + 1 })
        self.tensorBoard = tensorBoard
        let settings = String(decoding: try config.jsonData(), as: UTF8.self).split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
        try tensorBoard.text("config", settings, step: progress.iteration)
        if resume {
            clock.before = log.previous.trainingSeconds
            if let every = config.snapshotEveryMinutes { snapshotsTaken = Int(clock.before / (every * 60)) }
        }
        if let job {
            try job.announce("start", restored.map { "checkpoint:" + $0.url.standardizedFileURL.path } ?? "new")
            try job.collective("broadcast of rank 0's weights", iteration: progress.iteration) { try job.group.broadcast(model.stateDict().map(\.1)) }
        }
    }

    /// Where a new run starts other than from random weights at epoch 0.
    public struct Start {
        public var weights: [String: Tensor]
        /// Epochs already trained: the run continues with the next one and its schedules.
        public var epochsDone: Int

        public init(weights: [String: Tensor], epochsDone: Int) { self.weights = weights; self.epochsDone = epochsDone }
    }

    /// Bytes of one checkpoint (weights file and state file: the weights twice, Adam's two
    /// moments, and a weight average if there is one).
    static func checkpointBytes(_ model: Module, averaged: Bool) -> Int64 {
        let weights = model.stateDict().reduce(Int64(0)) { $0 + Int64($1.1.count * $1.1.dtype.byteSize) }
        return (averaged ? 5 : 4) * weights + (1 << 20)
    }

    /// Trains until the last epoch (or `stopAfterEpochs` epochs in all), the time budget, early
    /// stopping or `shouldStop()` (Ctrl-C).
    @discardableResult
    public func run(stopAfterEpochs: Int? = nil, shouldStop: () -> Bool = { false }) throws -> StopReason {
        let last = min(config.epochs, stopAfterEpochs ?? config.epochs)
        guard progress.epochsDone < last else { return .alreadyDone(epochs: progress.epochsDone) }
        clock.start = Date()
        // A run whose time budget is spent has nothing left to train when it is resumed (a sweep or
        // a quality benchmark run again), not one more batch and validation.
        if try stopAgreed(overBudget) { return .timeBudget(minutes: config.timeBudgetMinutes ?? 0) }
        for epoch in (progress.epochsDone + 1)...last {
            let end = try trainEpoch(epoch, shouldStop: shouldStop)
            if end == .interrupted {
                // Keep the work done so far: resuming continues this epoch at its next batch.
                try saveCheckpoints([(run.lastCheckpoint, .interrupted)], epoch: epoch)
                return .interrupted
            }
            progress.epochsDone = epoch
            progress.batchesDone = 0
            progress.epochSums = Checkpoint.EpochSums()
            var checkpoints: [(URL, CheckpointReason)] = []
            if epoch % config.valEvery == 0 || epoch == last || end == .outOfTime {
                if try validateAndKeepBest(afterEpochs: epoch) { checkpoints.append((run.bestCheckpoint, .best)) }
            }
            if config.perSave > 0 && epoch % config.perSave == 0 { checkpoints.append((run.periodicCheckpoint(epoch: epoch), .periodic)) }
            checkpoints.append((run.lastCheckpoint, .last))
            try saveCheckpoints(checkpoints, epoch: epoch)
            if end == .outOfTime { return .timeBudget(minutes: config.timeBudgetMinutes ?? 0) }
            if let patience = config.earlyStopPatience, progress.validationsSinceBest >= patience { return .earlyStop(patience: patience) }
            if try stopAgreed(shouldStop()) && epoch < last { return .interrupted }
        }
        return .finished(epochs: last)
    }

    enum EpochEnd { case completed, interrupted, outOfTime }

    /// One epoch (1-based): its schedules, then every batch not yet trained (a checkpoint saved
    /// mid-epoch continues at its next batch); ends early on `shouldStop()` or when the time
    /// budget is spent, but never after its last batch (the epoch is then complete).
    private func trainEpoch(_ epoch: Int, shouldStop: () -> Bool) throws -> EpochEnd {
        let index = epoch - 1
        let lr = config.learningRateSchedule.learningRate(base: config.lr, epoch: index)
        try optimizer.setLearningRate(lr)
        let ranks = job?.worldSize ?? 1, globalBatch = config.batchSize * ranks
        let batches = windows.batches(forEpoch: index, batchSize: globalBatch)
        if progress.batchesDone > 0, let recorded = progress.batchWindows ?? Optional(config.batchSize), recorded != globalBatch {
            // Saved mid-epoch by a job with another number of ranks: continue at the same window
            // (rounded down to a whole batch of this job).
            let windowsDone = progress.batchesDone * recorded
            progress.batchesDone = windowsDone / globalBatch
            onEvent(.notice("the checkpoint was saved after \(windowsDone) windows of epoch \(epoch) in batches of \(recorded); in batches of \(globalBatch) (\(ranks) rank(s) x \(config.batchSize)) the epoch continues at window \(progress.batchesDone * globalBatch)"))
        }
        progress.batchWindows = job == nil ? nil : globalBatch
        let plan = EpochPlan(epoch: epoch, epochs: config.epochs, batches: batches.count, teacherForcing: teacherForcing(epoch: index),
                             tfr: config.teacherForcing.ratio(epoch: index), beta: config.klAnnealing.beta(epoch: index), lr: lr)
        try emit(.epochStarted(plan))
        model.train()
        let start = Date(), secondsBefore = progress.epochSums.seconds, framesBefore = progress.epochSums.frames
        var end = EpochEnd.completed
        // This process's clips in each global batch.
        let rows = job.map { $0.rank * config.batchSize..<($0.rank + 1) * config.batchSize } ?? 0..<config.batchSize
        for number in progress.batchesDone..<batches.count {
            let batch = batches[number]
            let (outcome, agreed) = try trainStep(batch, rows: rows, plan, shouldStop: shouldStop)
            switch outcome {
            case .skipped(let reason):
                progress.epochSums.skipped += 1
                try emit(.skippedBatch(SkippedBatchRecord(epoch: epoch, iteration: progress.iteration, reason: reason)))
            case .trained(let loss, let mse, let kl):
                progress.epochSums.loss += loss; progress.epochSums.mse += mse; progress.epochSums.kl += kl
                progress.epochSums.trained += 1
                progress.epochSums.frames += batch.count * (config.trainVideoLength - 1)
                let framesPerSecond = Double(progress.epochSums.frames - framesBefore) / max(Date().timeIntervalSince(start), 1e-9)
                try emit(.batch(BatchRecord(epoch: epoch, iteration: progress.iteration, loss: loss, mse: mse, kl: kl, beta: plan.beta,
                                            tfr: plan.tfr, teacherForcing: plan.teacherForcing, lr: lr, seconds: clock.elapsed),
                                BatchProgress(batch: number + 1, batches: batches.count, framesPerSecond: framesPerSecond)))
                FaultInjection.reached(.batchLogged)
            }
            progress.batchesDone = number + 1
            progress.epochSums.seconds = secondsBefore + Date().timeIntervalSince(start)
            if number + 1 == batches.count { break }
            try takeSnapshotIfDue(epoch: epoch)
            // A job's ranks stop at the batch they agreed on; a process alone looks now.
            if agreed?.interrupt ?? shouldStop() { end = .interrupted; break }
            if agreed?.outOfTime ?? overBudget { end = .outOfTime; break }
        }
        if end == .interrupted { return end }
        let s = progress.epochSums, count = Double(max(s.trained, 1))
        try emit(.epoch(EpochRecord(epoch: epoch, trainLoss: s.loss / count, trainMSE: s.mse / count, trainKL: s.kl / count,
                                    tfr: plan.tfr, beta: plan.beta, lr: lr, teacherForcing: plan.teacherForcing, skippedBatches: s.skipped,
                                    seconds: s.seconds, framesPerSecond: Double(s.frames) / max(s.seconds, 1e-9))))
        return end
    }

    enum StepOutcome { case trained(loss: Double, mse: Double, kl: Double), skipped(reason: String) }

    /// What a job's ranks agreed at a step: whether any was asked to stop, or ran out of time.
    struct StopFlags { var interrupt: Bool, outOfTime: Bool }

    /// Whether to stop now: this process's answer, or in a job whether any rank was asked to.
    private func stopAgreed(_ local: Bool) throws -> Bool {
        guard let job else { return local }
        return try job.collective("stop check", iteration: progress.iteration) { try job.group.allReduceSum([local ? 1 : 0])[0] > 0 }
    }

    private var overBudget: Bool { config.timeBudgetMinutes.map { clock.elapsed > $0 * 60 } ?? false }

    /// One optimizer step on a (global) batch of windows, of which this process computes `rows`; a
    /// batch whose loss or gradient norm is not finite is skipped rather than allowed to poison the
    /// weights (the lab's NaN at iteration 62 with beta 0). In a job, the losses and the stop flags
    /// are summed over the ranks before anyone back-propagates (so a non-finite loss anywhere skips
    /// the step everywhere), then the gradients; the loss reported is the global batch's.
    private func trainStep(_ batch: [FrameWindow], rows: Range<Int>, _ plan: EpochPlan,
                           shouldStop: () -> Bool) throws -> (StepOutcome, StopFlags?) {
        let whole = rows.count == batch.count
        let mine = whole ? batch : Array(batch[rows])
        // Reference frames and clip changes are drawn for the global batch, seeded by the
        // iteration, so a resumed run (with any number of ranks) draws the same ones.
        let iteration = UInt64(progress.iteration)
        let changes = augmenter.map { Array($0.augmentation.changes(count: batch.count, seed: config.seed &* 0x9E37_79B9 &+ iteration)[rows]) } ?? []
        let (frames, labels) = try augmenter?.batch(mine, changes: changes, data: data, length: config.trainVideoLength)
            ?? data.batch(mine, length: config.trainVideoLength)  // on the device already
        // The given frames change with their clips; their labels move alike (the model reads only
        // where their strokes lie, so a mirrored clip's reference label keeps its colours).
        let reference = try referenceSampler.frames(for: batch, in: data, seed: config.seed &* 0x2545_F491 &+ iteration)
            .map { whole ? $0 : try $0.rows(rows.lowerBound, rows.count) }
            .map { ReferenceFrames(frames: try augmenter?.changeFrames($0.frames, changes) ?? $0.frames, labels: try augmenter?.move($0.labels, changes) ?? $0.labels) }
        try optimizer.zeroGrad()
        let loss = try autocast(on: device, enabled: config.precision.usesAutocast) {
            try model.sequenceLoss(frames: frames, labels: labels, teacherForcing: plan.teacherForcing, beta: plan.beta,
                                   generator: noise, noise: nil, reference: reference,
                                   shard: BatchShard(offset: rows.lowerBound, globalCount: batch.count))
        }
        progress.iteration += 1
        var (value, mse, kl) = (try loss.total.item(), try loss.mse.item(), try loss.kl.item())
        var finite = value.isFinite, agreed: StopFlags?
        if let job {
            let local = [value, mse, kl, finite ? 0 : 1, shouldStop() ? 1 : 0, overBudget ? 1 : 0]
            let total = try job.collective("loss all-reduce", iteration: progress.iteration) { try job.group.allReduceSum(local) }
            let ranks = Double(job.worldSize)
            (value, mse, kl) = (total[0] / ranks, total[1] / ranks, total[2] / ranks)
            finite = total[3] == 0
            agreed = StopFlags(interrupt: total[4] > 0, outOfTime: total[5] > 0)
        }
        var reason: String? = finite ? nil : "non-finite loss (\(value))"
        if reason == nil {
            if let job {
                // The mean over the global batch: each rank's share, summed by the all-reduce.
                try (loss.total / Double(job.worldSize)).backward()
                try job.collective("gradient all-reduce", iteration: progress.iteration) { try job.group.allReduceGradients(optimizer.parameters) }
            } else {
                try loss.total.backward()
            }
            if try clipGradNorm(optimizer.parameters, maxNorm: config.clip).isFinite {
                try optimizer.step()
                try average?.update(afterIterations: progress.iteration - 1)
            } else {
                reason = "non-finite gradient norm"
            }
        }
        if let reason {
            try optimizer.zeroGrad()
            return (.skipped(reason: reason), agreed)
        }
        return (.trained(loss: value, mse: mse, kl: kl), agreed)
    }

    /// Teacher forcing for an epoch (0-based index): one coin with probability tfr, from a stream
    /// seeded by (seed, epoch) so a resumed run flips the same coins.
    func teacherForcing(epoch: Int) -> Bool {
        var rng = SplitMix64(seed: config.seed &* 0x5851_F42D &+ UInt64(epoch) &* 0x9E37)
        return Double(rng.next() >> 11) / Double(1 << 53) < config.teacherForcing.ratio(epoch: epoch)
    }

    /// Validates; true when the score is the best so far (the caller saves `best`).
    private func validateAndKeepBest(afterEpochs epoch: Int) throws -> Bool {
        if let job {
            // Rank 0's BatchNorm running statistics (each rank's own batches moved its own).
            try job.collective("broadcast of rank 0's weights", iteration: progress.iteration) { try job.group.broadcast(model.stateDict().map(\.1)) }
        }
        var valPSNR = try validate(afterEpochs: epoch).valPSNR
        if let job {
            // Rank 0's score decides for everyone, so that no float difference splits the job.
            valPSNR = try job.collective("broadcast of the val score", iteration: progress.iteration) { try job.group.broadcast([valPSNR])[0] }
        }
        guard valPSNR > progress.bestPSNR else {
            progress.validationsSinceBest += 1
            return false
        }
        progress.bestPSNR = valPSNR
        progress.bestEpoch = epoch
        progress.validationsSinceBest = 0
        return true
    }

    /// Autoregressive rollout over every val video with z from the `latent` setting (default: the
    /// learned prior if the model has one, else N(0, I)) and the model's own frames fed back; PSNR
    /// per frame (range 1, predictions clamped to [0, 1]) for frames 1..T-1, and the mean SSIM.
    /// TensorBoard gets a contact sheet of the first video. `epoch`: epochs trained so far (0: the
    /// untrained model). With a weight average, the averaged weights are the ones validated.
    public func validate(afterEpochs epoch: Int) throws -> ValidationRecord {
        guard let average else { return try validateWeights(afterEpochs: epoch) }
        return try average.withAveragedWeights { try validateWeights(afterEpochs: epoch) }
    }

    private func validateWeights(afterEpochs epoch: Int) throws -> ValidationRecord {
        let start = Date()
        model.eval()
        defer { model.train() }
        // Validation noise has its own stream so validating never shifts the training noise.
        let generator = try RandomGenerator(seed: config.seed &+ 1000 &+ UInt64(bitPattern: Int64(epoch - 1)))
        var mse: [Double] = [], ssim: [Double] = []
        for (index, video) in data.validation.enumerated() {
            let clip = try video.prefix(config.valVideoLength)
            let total = clip.count
            let predicted = try autocast(on: device, enabled: config.precision.usesAutocast) {
                try model.rollout(firstFrame: clip.frames.narrow(dim: 0, start: 0, length: 1).to(device),
                                  labels: clip.labels.unsqueezed(0).to(device), generator: generator, latent: config.latent,
                                  onFrame: { [onEvent] t in if t % 10 == 0 { onEvent(.validationProgress(frame: t, of: total - 1)) } })
            }
            let frames = try predicted.squeezed(0).to(.float32).to(.cpu).clamped(0, 1)
            mse += try Metrics.frameMSE(frames, clip.frames).dropFirst()
            let (height, width) = (clip.frames.shape[2], clip.frames.shape[3])
            let predictedFrames = try Self.planarFrames(frames), truth = try Self.planarFrames(clip.frames)
            let videoSSIM = VideoScore.mean(VideoScore.ssimPerFrame(prediction: predictedFrames, truth: truth, height: height, width: width))
            if videoSSIM.isFinite { ssim.append(videoSSIM) }
            if index == 0 && total >= 2 {
                // Label, prediction and truth at 8 moments of the video, enlarged.
                let moments = (0..<8).map { 1 + $0 * (total - 2) / 7 }.filter { $0 < total }
                let labels = try Self.planarFrames(clip.labels.to(.float32))
                let rows = [labels, predictedFrames, truth].map { row in moments.map { RGBImage(width: width, height: height, pixels: row[$0]) } }
                let sheet = try ContactSheet.make(rows: rows, scale: max(1, 128 / width))
                try tensorBoard?.image("val/label_prediction_truth", png: try PNG.encode(sheet), width: sheet.width, height: sheet.height,
                                      step: progress.iteration)
            }
        }
        let psnr = mse.map { Metrics.psnr(mse: $0) }
        let record = ValidationRecord(epoch: epoch, valLoss: mse.reduce(0, +) / Double(max(mse.count, 1)),
                                      valPSNR: psnr.reduce(0, +) / Double(max(psnr.count, 1)), psnrPerFrame: psnr,
                                      valSSIM: ssim.isEmpty ? nil : ssim.reduce(0, +) / Double(ssim.count),
                                      seconds: Date().timeIntervalSince(start))
        try emit(.validation(record))
        return record
    }

    private func takeSnapshotIfDue(epoch: Int) throws {
        guard let every = config.snapshotEveryMinutes else { return }
        let due = Int(clock.elapsed / (every * 60))
        guard due > snapshotsTaken else { return }
        snapshotsTaken = due
        try saveCheckpoints([(run.snapshot(minutes: Double(due) * every), .snapshot)], epoch: epoch)
    }

    /// Writes checkpoints of one moment (an epoch's end: best, periodic, last), then their
    /// records in the log. Each holds the log position that includes all of the records (written
    /// again on resume if a kill came before they were), so resuming from any of them gives the
    /// same log. The Ctrl-C checkpoint keeps no record: an uninterrupted run has none, so a
    /// resume drops it.
    private func saveCheckpoints(_ checkpoints: [(url: URL, reason: CheckpointReason)], epoch: Int) throws {
        let events = checkpoints.map { TrainingEvent.checkpoint(CheckpointRecord(epoch: epoch, path: run.relativePath(of: $0.url), reason: $0.reason)) }
        guard let log else { return }  // ranks other than 0 of a job write nothing
        let lines = try events.compactMap { try log.line(for: $0) }
        let kept = checkpoints.contains { $0.reason == .interrupted } ? [] : lines
        let position = Checkpoint.LogPosition(lines: log.lineCount + kept.count, tail: kept)
        for checkpoint in checkpoints {
            try Checkpoint.write(model: model, optimizer: optimizer, generator: noise, average: average, progress: progress, log: position,
                                 to: checkpoint.url)
        }
        FaultInjection.reached(.checkpointBeforeLog)
        for event in events { try emit(event) }
    }

    /// Each frame of a (T, 3, H, W) tensor as planar floats.
    static func planarFrames(_ frames: Tensor) throws -> [[Float]] {
        let values = try frames.contiguous().floats(), size = values.count / max(frames.shape[0], 1)
        return (0..<frames.shape[0]).map { Array(values[($0 * size)..<(($0 + 1) * size)]) }
    }

    private func emit(_ event: TrainingEvent) throws {
        try log?.record(event)
        try tensorBoard?.record(event, iteration: progress.iteration)
        onEvent(event)
    }
}

/// Training seconds of a run: those of earlier sessions plus the current one's.
struct TrainingClock {
    var before = 0.0
    var start = Date()
    var elapsed: Double { before + Date().timeIntervalSince(start) }
}
