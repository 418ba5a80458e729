import Torch

/// The lab's training and test loops frame by frame, exactly as its code runs them
/// (reference/lab_model.py: `train_step`, `rollout`): the reference the shared fast paths are
/// tested against (FastPathTests) and the baseline of `vidpred bench --path frame-by-frame`.
extension LabModel {
    /// For t = 1..T-1 the previous frame is the ground truth (teacher forcing) or the model's own
    /// previous prediction; the posterior comes from the true frame x_t and pose_t;
    /// loss += MSE(x̂_t, x_t) + beta * KL_t.
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
            let previousFeature = try encodeFrame(previous)
            let labelFeature = try encodeLabel(labels.select(dim: 1, index: t))
            let posterior = try self.posterior(frameFeature: encodeFrame(target), labelFeature: labelFeature).float32()
            let z = try posterior.sample(noise: noise?(t) ?? posterior.mu.randnLike(generator: generator))
            let prediction = try decode(previousFeature: previousFeature, labelFeature: labelFeature, z: z).to(.float32)
            let kl = try klTerm(posterior, previous: FeatureMaps([previousFeature]), pose: FeatureMaps([labelFeature]))
            try terms.add(mse: Functional.mseLoss(prediction, target), kl: kl, beta: beta)
            predictions.append(prediction)
            previous = teacherForcing ? target : prediction
        }
        return try terms.result(predictions: predictions)
    }

    /// The test loop: label encoded at every step, z ~ N(0, I), non-finite pixels set to 0.5.
    public func rolloutFrameByFrame(firstFrame: Tensor, labels: Tensor, generator: RandomGenerator? = nil) throws -> Tensor {
        let s = labels.shape
        guard s.count == 5, firstFrame.shape == [s[0], s[2], s[3], s[4]] else {
            throw TorchError("rollout: first frame \(firstFrame.shape) does not match labels \(s) (B,T,3,H,W)")
        }
        return try inferenceMode {
            var frames = [firstFrame]
            for t in 1..<s[1] {
                let z = try Tensor.randn(noiseShape(batch: s[0], height: s[3], width: s[4]), generator: generator)
                let next = try decode(previousFeature: encodeFrame(frames[t - 1]), labelFeature: encodeLabel(labels.select(dim: 1, index: t)), z: z)
                frames.append(try next.nanToNum(0.5, posinf: 0.5, neginf: 0.5))
            }
            return try Tensor.stack(frames, dim: 1)
        }
    }
}
