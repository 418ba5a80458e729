import Torch

extension LabModel {
    /// How many time steps of labels are encoded per call during generation: one call per chunk
    /// instead of one per frame, without holding a whole 630-frame video's label features
    /// (630 x 32 x 32 x 64 floats = 165 MB per video) at once.
    static let labelChunk = 32

    /// The lab's rollout, without the posterior its test loop computed on ground truth and threw
    /// away, with the labels encoded ahead in chunks, in inference mode; rows are independent
    /// videos (or samples), so several run in one batch.
    public func generate(firstFrame: Tensor, labels: Tensor, latent: LatentSource,
                         noise: (Int) throws -> Tensor, onFrame: (Int) -> Void) throws -> Tensor {
        try checkGenerationInput(firstFrame: firstFrame, labels: labels)
        try check(latent)
        let (batch, length) = (labels.shape[0], labels.shape[1])
        return try inferenceMode {
            var frames = [firstFrame]
            var previous = firstFrame
            var labelFeatures: Tensor? = nil
            var chunkStart = 1
            for t in 1..<length {
                if t == 1 || t - chunkStart == Self.labelChunk {
                    chunkStart = t
                    let steps = min(Self.labelChunk, length - t)
                    labelFeatures = try encodeLabels(timeMajor(labels.narrow(dim: 1, start: t, length: steps)), steps: steps)
                }
                let labelFeature = try stepRows(labelFeatures!, step: t - chunkStart, batch: batch)
                let previousFeature = try encodeFrame(previous)
                let z = try latentSample(latent, eps: noise(t)) {
                    try self.learnedPrior(previousFeature: previousFeature, labelFeature: labelFeature)
                }
                let next = try decode(previousFeature: previousFeature, labelFeature: labelFeature, z: z)
                    .nanToNum(0.5, posinf: 0.5, neginf: 0.5)
                frames.append(next)
                previous = next
                onFrame(t)
            }
            return try Tensor.stack(frames, dim: 1)
        }
    }

    /// The lab's test loop step by step (label encoded at every step), z ~ N(0, I): the reference
    /// `generate` is tested against and the baseline path of `vidpred bench`.
    public func rolloutFrameByFrame(firstFrame: Tensor, labels: Tensor, generator: RandomGenerator? = nil) throws -> Tensor {
        try checkGenerationInput(firstFrame: firstFrame, labels: labels)
        let (batch, length, height, width) = (labels.shape[0], labels.shape[1], labels.shape[3], labels.shape[4])
        return try inferenceMode {
            var frames = [firstFrame]
            var previous = firstFrame
            for t in 1..<length {
                let z = try Tensor.randn(noiseShape(batch: batch, height: height, width: width), generator: generator)
                let next = try step(previous: previous, pose: labels.select(dim: 1, index: t), z: z)
                    .nanToNum(0.5, posinf: 0.5, neginf: 0.5)
                frames.append(next)
                previous = next
            }
            return try Tensor.stack(frames, dim: 1)
        }
    }
}
