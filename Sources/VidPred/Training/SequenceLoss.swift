import Torch

/// The loss of one batch of clips, as the lab computes it.
public struct SequenceLoss {
    /// sum over t of MSE_t + beta * KL_t: what is back-propagated.
    public let total: Tensor
    /// sum over t of MSE_t (detached).
    public let mse: Tensor
    /// sum over t of KL_t (detached).
    public let kl: Tensor
    /// The predicted frames x̂_1 ... x̂_{T-1}.
    public let predictions: [Tensor]
}

extension LabModel {
    /// Frame by frame, exactly as the lab: for t = 1..T-1 the previous frame is the ground truth
    /// (teacher forcing) or the model's own previous prediction; the posterior comes from the
    /// true frame x_t and pose_t; loss += MSE(x̂_t, x_t) + beta * KL_t.
    ///
    /// - Parameters:
    ///   - frames, labels: (B, T, 3, H, W).
    ///   - noise: optional fixed eps for step t (tests pin it to PyTorch's draws); otherwise drawn
    ///     from `generator`.
    public func sequenceLoss(frames: Tensor, labels: Tensor, teacherForcing: Bool, beta: Double,
                             generator: RandomGenerator? = nil,
                             noise: ((Int) throws -> Tensor)? = nil) throws -> SequenceLoss {
        let length = frames.shape[1]
        guard length >= 2 else { throw TorchError("sequenceLoss needs at least 2 frames per clip, got shape \(frames.shape)") }
        var total: Tensor? = nil
        var mseSum: Tensor? = nil
        var klSum: Tensor? = nil
        var predictions: [Tensor] = []
        var previous = try frames.select(dim: 1, index: 0)
        for t in 1..<length {
            let target = try frames.select(dim: 1, index: t)
            let pose = try labels.select(dim: 1, index: t)
            let previousFeature = try encodeFrame(previous)
            let labelFeature = try encodeLabel(pose)
            // Under bf16 autocast the network runs in bfloat16; the posterior, the loss terms and
            // their sums stay float32 (a bf16 sum of ~10^4 KL terms rounds to multiples of 16-32).
            let posterior = try self.posterior(frameFeature: encodeFrame(target), labelFeature: labelFeature).float32()
            let eps = try noise?(t) ?? posterior.mu.randnLike(generator: generator)
            let z = try posterior.sample(noise: eps)
            let prediction = try decode(previousFeature: previousFeature, labelFeature: labelFeature, z: z).to(.float32)
            let mse = try Functional.mseLoss(prediction, target)
            let kl = try posterior.klToStandardNormal()
            let stepLoss = try mse + kl * beta
            total = try total.map { try $0 + stepLoss } ?? stepLoss
            mseSum = try mseSum.map { try $0 + mse.detached() } ?? mse.detached()
            klSum = try klSum.map { try $0 + kl.detached() } ?? kl.detached()
            predictions.append(prediction)
            previous = teacherForcing ? target : prediction
        }
        return SequenceLoss(total: total!, mse: mseSum!, kl: klSum!, predictions: predictions)
    }
}
