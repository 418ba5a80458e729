import Torch

/// The loss of one batch of clips, as the lab computes it.
public struct SequenceLoss {
    /// sum over t of MSE_t + beta * KL_t: what is back-propagated.
    public let total: Tensor
    /// sum over t of MSE_t (detached).
    public let mse: Tensor
    /// sum over t of KL_t (detached).
    public let kl: Tensor
    /// The predicted frames x̂_1 ... x̂_{T-1}, float32, each (B, 3, H, W).
    public let predictions: [Tensor]
}

/// Where a process's clips sit in the global batch of a job of several processes.
public struct BatchShard: Sendable, Equatable {
    /// The first row of this process's clips in the global batch.
    public var offset: Int
    /// Clips in the global batch.
    public var globalCount: Int

    public init(offset: Int, globalCount: Int) { self.offset = offset; self.globalCount = globalCount }

    /// Standard normal noise shaped like `rows`: drawn for the global batch (so that the stream
    /// advances as in one process) with this shard's rows kept; without a shard, like `rows`.
    static func draw(like rows: Tensor, shard: BatchShard?, generator: RandomGenerator?) throws -> Tensor {
        guard let shard else { return try rows.randnLike(generator: generator) }
        let shape = rows.shape
        return try Tensor.randn([shard.globalCount] + shape.dropFirst(), generator: generator, dtype: rows.dtype, device: rows.device)
            .narrow(dim: 0, start: shard.offset, length: shape[0])
    }
}

extension VideoModel {
    public func sequenceLoss(frames: Tensor, labels: Tensor, teacherForcing: Bool, beta: Double,
                             generator: RandomGenerator? = nil, noise: ((Int) throws -> Tensor)? = nil) throws -> SequenceLoss {
        try sequenceLoss(frames: frames, labels: labels, teacherForcing: teacherForcing, beta: beta,
                         generator: generator, noise: noise, reference: nil)
    }

    /// The lab's loss: for t = 1..T-1 the previous frame is the ground truth (teacher forcing)
    /// or the model's own previous prediction; the posterior comes from the true frame x_t and
    /// pose_t; loss += MSE(x̂_t, x_t) + beta * KL_t. Computed with as few network calls as the
    /// data dependencies allow (the same values as the lab's frame-by-frame loop,
    /// `LabModel.sequenceLossFrameByFrame`, which the tests check):
    /// - every ground-truth frame (and the reference frames, when given) is encoded once, in one
    ///   call (the lab encoded each twice: as step t's target and as step t+1's previous frame);
    /// - all poses in one call, the posterior of all steps in one call;
    /// - with teacher forcing ON (or a model that predicts every step from the given frame,
    ///   `conditionsOnPrediction` false) nothing depends on a prediction, so the decoder also runs
    ///   for all steps together (`decoderStepsPerCall` at a time); OFF, it runs step by step on the
    ///   encoded previous prediction.
    public func sequenceLoss(frames: Tensor, labels: Tensor, teacherForcing: Bool, beta: Double,
                             generator: RandomGenerator?, noise: ((Int) throws -> Tensor)?,
                             reference: ReferenceFrames?) throws -> SequenceLoss {
        try sequenceLoss(frames: frames, labels: labels, teacherForcing: teacherForcing, beta: beta,
                         generator: generator, noise: noise, reference: reference, shard: nil)
    }

    public func sequenceLoss(frames: Tensor, labels: Tensor, teacherForcing: Bool, beta: Double,
                             generator: RandomGenerator?, noise: ((Int) throws -> Tensor)?,
                             reference: ReferenceFrames?, shard: BatchShard?) throws -> SequenceLoss {
        let s = frames.shape
        guard s.count == 5, s[1] >= 2, labels.shape == s else {
            throw TorchError("sequenceLoss needs frames and labels of the same shape (B, T>=2, 3, H, W); got \(s) and \(labels.shape)")
        }
        guard reference == nil || usesReferenceFrame else {
            throw ConfigError("the \(preset.rawValue) model does not condition on a reference frame (reference_sampling random needs preset pyramid)")
        }
        try checkFrameSize(height: s[3], width: s[4])
        let (batch, steps) = (s[0], s[1] - 1)
        let allFrames = try timeMajor(frames)                                       // x_0 ... x_{T-1}
        let targets = try allFrames.narrow(dim: 0, start: batch, length: steps * batch)
        let encoded = try encodeFrames(reference.map { try Tensor.cat([allFrames, $0.frames], dim: 0) } ?? allFrames)
        let frameFeatures = try encoded.rows(0, (steps + 1) * batch)
        let givenPixels = try reference?.frames ?? allFrames.narrow(dim: 0, start: 0, length: batch)
        let givenFeatures = try encoded.rows(reference == nil ? 0 : (steps + 1) * batch, batch)
        let allLabels = try timeMajor(labels)
        let given = try givenFrame(pixels: givenPixels, features: givenFeatures, label: reference?.labels ?? allLabels.narrow(dim: 0, start: 0, length: batch))
        let poseFeatures = try encodePoses(allLabels.narrow(dim: 0, start: batch, length: steps * batch), steps: steps)
        let posterior = try self.posterior(target: frameFeatures.rows(batch, steps * batch), pose: poseFeatures).float32()
        let eps = try Tensor.cat((1...steps).map { t in
            try noise?(t) ?? BatchShard.draw(like: stepRows(posterior.mu, step: t - 1, batch: batch), shard: shard, generator: generator)
        }, dim: 0)
        let z = try posterior.sample(noise: eps)
        var terms = LossTerms()

        if teacherForcing || !conditionsOnPrediction {
            // The previous frames are known: the ground truth, or the given frame at every step.
            let previousFrames = try conditionsOnPrediction ? allFrames.narrow(dim: 0, start: 0, length: steps * batch)
                                                            : repeatRows(givenPixels, steps: steps)
            let previous = try conditionsOnPrediction ? frameFeatures.rows(0, steps * batch) : givenFeatures.repeated(steps: steps)
            let givenPerStep = try given?.repeated(steps: steps)
            let chunk = max(1, decoderStepsPerCall ?? steps) * batch
            let predictions = try Tensor.cat(stride(from: 0, to: steps * batch, by: chunk).map { start in
                let rows = min(chunk, steps * batch - start)
                let part = try givenPerStep?.rows(start, rows)
                return try decode(previousFrame: previousFrames.narrow(dim: 0, start: start, length: rows), previous: previous.rows(start, rows),
                                  given: part, pose: poseFeatures.rows(start, rows),
                                  z: z.narrow(dim: 0, start: start, length: rows).to(previous.dtype)).to(.float32)
            }, dim: 0)
            // Per-step MSEs and KLs are means/sums over equal-sized blocks: sum_t MSE_t = steps * MSE,
            // sum_t KL_t = sum of all terms / B.
            try terms.add(mse: Functional.mseLoss(predictions, targets) * Double(steps),
                          kl: klTerm(posterior, previous: previous, pose: poseFeatures) * Double(steps), beta: beta)
            return try terms.result(predictions: (0..<steps).map { try stepRows(predictions, step: $0, batch: batch) })
        }

        var predictions: [Tensor] = []
        var previousFrame = try allFrames.narrow(dim: 0, start: 0, length: batch)
        var previous = try frameFeatures.rows(0, batch)
        for t in 0..<steps {
            let pose = try poseFeatures.step(t, batch: batch)
            let posteriorT = Posterior(mu: try stepRows(posterior.mu, step: t, batch: batch),
                                       logvar: try stepRows(posterior.logvar, step: t, batch: batch))
            let prediction = try decode(previousFrame: previousFrame, previous: previous, given: given, pose: pose,
                                        z: stepRows(z, step: t, batch: batch).to(previous.dtype)).to(.float32)
            try terms.add(mse: Functional.mseLoss(prediction, stepRows(targets, step: t, batch: batch)),
                          kl: klTerm(posteriorT, previous: previous, pose: pose), beta: beta)
            predictions.append(prediction)
            if t + 1 < steps {
                previousFrame = prediction
                previous = try encodeFrames(prediction)
            }
        }
        return try terms.result(predictions: predictions)
    }
}

/// The summed loss terms of a clip, in float32 (under bf16 autocast the network runs in bfloat16;
/// a bf16 sum of ~10^4 KL terms would round to multiples of 16-32).
struct LossTerms {
    var total: Tensor? = nil
    var mse: Tensor? = nil
    var kl: Tensor? = nil

    mutating func add(mse m: Tensor, kl k: Tensor, beta: Double) throws {
        let step = try m + k * beta
        total = try total.map { try $0 + step } ?? step
        mse = try mse.map { try $0 + m.detached() } ?? m.detached()
        kl = try kl.map { try $0 + k.detached() } ?? k.detached()
    }

    func result(predictions: [Tensor]) throws -> SequenceLoss {
        guard let total, let mse, let kl else { throw TorchError("sequence loss of an empty clip") }
        return SequenceLoss(total: total, mse: mse, kl: kl, predictions: predictions)
    }
}
