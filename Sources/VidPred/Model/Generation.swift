import Torch

extension VideoModel {
    /// Time steps of poses encoded per call during generation: one call per chunk instead of one
    /// per frame, without holding a whole 630-frame video's pose features at once (the lab model's
    /// are 630 x 32 x 32 x 64 floats = 165 MB per video).
    static var poseChunk: Int { 32 }

    /// The lab's test loop (frame 0 given, then each frame from the previous prediction, pose t
    /// and z_t; a model that does not condition on its predictions takes the given frame in place
    /// of the previous one), without the posterior the lab computed on ground truth and threw
    /// away, with the poses encoded ahead in chunks, in inference mode; rows are independent videos
    /// (or samples), so several run in one batch.
    public func generate(firstFrame: Tensor, labels: Tensor, latent: LatentSource,
                         noise: (Int) throws -> Tensor, onFrame: (Int) -> Void) throws -> Tensor {
        let s = labels.shape
        guard s.count == 5, s[1] >= 1, firstFrame.shape == [s[0], s[2], s[3], s[4]] else {
            throw TorchError("generate: first frame \(firstFrame.shape) does not match labels \(s) (B,T,3,H,W)")
        }
        try checkFrameSize(height: s[3], width: s[4])
        try check(latent)
        let (batch, length) = (s[0], s[1])
        return try inferenceMode {
            var frames = [firstFrame]
            var previousFrame = firstFrame
            var previous = try encodeFrames(firstFrame)
            let given = try givenFrame(pixels: firstFrame, features: previous, label: labels.select(dim: 1, index: 0))
            var poseFeatures = FeatureMaps([])
            var chunkStart = 1
            for t in 1..<length {
                if t == 1 || t - chunkStart == Self.poseChunk {
                    chunkStart = t
                    let steps = min(Self.poseChunk, length - t)
                    poseFeatures = try encodePoses(timeMajor(labels.narrow(dim: 1, start: t, length: steps)), steps: steps)
                }
                let pose = try poseFeatures.step(t - chunkStart, batch: batch)
                let z = try latentSample(latent, eps: noise(t)) { try self.learnedPrior(previous: previous, pose: pose).float32() }
                let next = try decode(previousFrame: previousFrame, previous: previous, given: given, pose: pose, z: z.to(previous.dtype))
                    .nanToNum(0.5, posinf: 0.5, neginf: 0.5)
                frames.append(next)
                if conditionsOnPrediction {
                    previousFrame = next
                    if t + 1 < length { previous = try encodeFrames(next) }
                }
                onFrame(t)
            }
            return try Tensor.stack(frames, dim: 1)
        }
    }

    /// `generate` with all noise from one generator and, unless `latent` says, the model's natural
    /// latent (its learned prior when it has one, else N(0, I)).
    public func rollout(firstFrame: Tensor, labels: Tensor, generator: RandomGenerator? = nil,
                        latent: LatentSource? = nil, onFrame: ((Int) -> Void)? = nil) throws -> Tensor {
        let s = labels.shape
        guard s.count == 5 else { throw TorchError("rollout: labels must be (B, T, 3, H, W); got \(s)") }
        let shape = noiseShape(batch: s[0], height: s[3], width: s[4])
        return try generate(firstFrame: firstFrame, labels: labels, latent: latent ?? defaultLatent,
                            noise: { _ in try Tensor.randn(shape, generator: generator, device: firstFrame.device) }, onFrame: onFrame ?? { _ in })
    }
}

/// z from eps: a prior's sample, the prior's mean, or eps itself (N(0, I)), as `latent` asks.
func latentSample(_ latent: LatentSource, eps: Tensor, prior: () throws -> Posterior) throws -> Tensor {
    switch latent {
    case .standardNormal: return eps
    case .learnedPrior: return try prior().sample(noise: eps)
    case .priorMean: return try prior().mu
    }
}
