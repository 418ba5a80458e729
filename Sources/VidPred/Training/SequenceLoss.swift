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

extension LabModel {
    /// The lab's loss, computed with as few network calls as the data dependencies allow (the
    /// same values as `sequenceLossFrameByFrame`, which the tests check):
    /// - every ground-truth frame is encoded once, all in one call (the lab encoded each twice:
    ///   as step t's target and as step t+1's previous frame);
    /// - all labels in one call (BatchNorm statistics still per step), the posterior of all steps
    ///   in one call;
    /// - with teacher forcing ON nothing depends on a prediction, so the decoder also runs once
    ///   for all steps; OFF, it runs step by step on the encoded previous prediction.
    public func sequenceLoss(frames: Tensor, labels: Tensor, teacherForcing: Bool, beta: Double,
                             generator: RandomGenerator?, noise: ((Int) throws -> Tensor)?,
                             reference: Tensor?) throws -> SequenceLoss {
        guard reference == nil else { throw TorchError("the lab model does not condition on a reference frame (reference_sampling needs --preset pyramid)") }
        let s = frames.shape
        guard s.count == 5, s[1] >= 2, labels.shape == s else {
            throw TorchError("sequenceLoss needs frames and labels of the same shape (B, T>=2, 3, H, W); got \(s) and \(labels.shape)")
        }
        let (batch, steps) = (s[0], s[1] - 1)
        let allFrames = try timeMajor(frames)                                    // x_0 ... x_{T-1}
        let targets = try allFrames.narrow(dim: 0, start: batch, length: steps * batch)
        let frameFeatures = try encodeFrame(allFrames)  // 16 rows of 128 channels: fast in one call
        let targetFeatures = try frameFeatures.narrow(dim: 0, start: batch, length: steps * batch)
        let labelFeatures = try encodeLabels(timeMajor(labels).narrow(dim: 0, start: batch, length: steps * batch), steps: steps)
        let posterior = try self.posterior(frameFeature: targetFeatures, labelFeature: labelFeatures).float32()
        let eps = try Tensor.cat((1...steps).map { t in
            try noise?(t) ?? stepRows(posterior.mu, step: t - 1, batch: batch).randnLike(generator: generator)
        }, dim: 0)
        let z = try posterior.sample(noise: eps)
        var terms = LossTerms()

        if teacherForcing {
            let previousFeatures = try frameFeatures.narrow(dim: 0, start: 0, length: steps * batch)
            // The decoder runs `stepsPerCall` steps per call: one call for all 15 steps (30 rows of
            // 192 x 32 x 64 activations, 47 MB each) was measured 1.5x slower than the lab's 15 calls
            // on a 2-core CPU, as the activations no longer fit in cache.
            let chunk = max(1, stepsPerCall) * batch
            let predictions = try Tensor.cat(stride(from: 0, to: steps * batch, by: chunk).map { start in
                let rows = min(chunk, steps * batch - start)
                return try decode(previousFeature: previousFeatures.narrow(dim: 0, start: start, length: rows),
                                  labelFeature: labelFeatures.narrow(dim: 0, start: start, length: rows),
                                  z: z.narrow(dim: 0, start: start, length: rows)).to(.float32)
            }, dim: 0)
            // Per-step MSEs and KLs are means/sums over equal-sized blocks: sum_t MSE_t = steps * MSE,
            // sum_t KL_t = sum of all terms / B.
            let mse = try Functional.mseLoss(predictions, targets) * Double(steps)
            let kl = try prior == nil
                ? posterior.klToStandardNormal() * Double(steps)
                : posterior.kl(to: learnedPrior(previousFeature: previousFeatures, labelFeature: labelFeatures).float32()) * Double(steps)
            try terms.add(mse: mse, kl: kl, beta: beta)
            return try terms.result(predictions: (0..<steps).map { try stepRows(predictions, step: $0, batch: batch) })
        }

        var predictions: [Tensor] = []
        var previousFeature = try frameFeatures.narrow(dim: 0, start: 0, length: batch)
        for t in 0..<steps {
            let labelFeature = try stepRows(labelFeatures, step: t, batch: batch)
            let posteriorT = Posterior(mu: try stepRows(posterior.mu, step: t, batch: batch),
                                       logvar: try stepRows(posterior.logvar, step: t, batch: batch))
            let prediction = try decode(previousFeature: previousFeature, labelFeature: labelFeature,
                                        z: stepRows(z, step: t, batch: batch)).to(.float32)
            let kl = try prior == nil
                ? posteriorT.klToStandardNormal()
                : posteriorT.kl(to: learnedPrior(previousFeature: previousFeature, labelFeature: labelFeature).float32())
            try terms.add(mse: Functional.mseLoss(prediction, stepRows(targets, step: t, batch: batch)), kl: kl, beta: beta)
            predictions.append(prediction)
            if t + 1 < steps { previousFeature = try encodeFrame(prediction) }
        }
        return try terms.result(predictions: predictions)
    }

    /// Frame by frame, exactly as the lab: for t = 1..T-1 the previous frame is the ground truth
    /// (teacher forcing) or the model's own previous prediction; the posterior comes from the
    /// true frame x_t and pose_t; loss += MSE(x̂_t, x_t) + beta * KL_t. The reference the fast
    /// path is tested against, and the baseline of `vidpred bench --path frame-by-frame`.
    public func sequenceLossFrameByFrame(frames: Tensor, labels: Tensor, teacherForcing: Bool, beta: Double,
                                         generator: RandomGenerator? = nil,
                                         noise: ((Int) throws -> Tensor)? = nil) throws -> SequenceLoss {
        let length = frames.shape[1]
        guard length >= 2 else { throw TorchError("sequenceLoss needs at least 2 frames per clip, got shape \(frames.shape)") }
        var terms = LossTerms()
        var predictions: [Tensor] = []
        var previous = try frames.select(dim: 1, index: 0)
        for t in 1..<length {
            let target = try frames.select(dim: 1, index: t)
            let pose = try labels.select(dim: 1, index: t)
            let previousFeature = try encodeFrame(previous)
            let labelFeature = try encodeLabel(pose)
            let posterior = try self.posterior(frameFeature: encodeFrame(target), labelFeature: labelFeature).float32()
            let eps = try noise?(t) ?? posterior.mu.randnLike(generator: generator)
            let z = try posterior.sample(noise: eps)
            let prediction = try decode(previousFeature: previousFeature, labelFeature: labelFeature, z: z).to(.float32)
            let kl = try prior == nil
                ? posterior.klToStandardNormal()
                : posterior.kl(to: learnedPrior(previousFeature: previousFeature, labelFeature: labelFeature).float32())
            try terms.add(mse: Functional.mseLoss(prediction, target), kl: kl, beta: beta)
            predictions.append(prediction)
            previous = teacherForcing ? target : prediction
        }
        return try terms.result(predictions: predictions)
    }
}
