import Torch

extension LabModel {
    /// Generates a whole video autoregressively: frame 0 is given, every later frame is predicted
    /// from the previous prediction, the pose and z ~ N(0, I) (the lab's test-time behaviour; the
    /// posterior is not computed since its output would be thrown away).
    ///
    /// - Parameters:
    ///   - firstFrame: (B, 3, H, W), one row per video (or per sample of a video).
    ///   - labels: (B, T, 3, H, W), all poses; label 0 is unused.
    ///   - onFrame: called after each predicted frame with its index (progress display).
    /// - Returns: (B, T, 3, H, W) with frame 0 = the given frame. Non-finite outputs are replaced by
    ///   0.5 as the lab did, so one diverging pixel does not poison the rest of the video.
    public func rollout(firstFrame: Tensor, labels: Tensor, generator: RandomGenerator? = nil,
                        onFrame: ((Int) -> Void)? = nil) throws -> Tensor {
        let shape = labels.shape
        guard shape.count == 5, firstFrame.shape == [shape[0], shape[2], shape[3], shape[4]] else {
            throw TorchError("rollout: first frame \(firstFrame.shape) does not match labels \(shape) (B,T,3,H,W)")
        }
        let (batch, length, height, width) = (shape[0], shape[1], shape[3], shape[4])
        return try inferenceMode {
            var frames = [firstFrame]
            var previous = firstFrame
            for t in 1..<length {
                let z = try Tensor.randn(noiseShape(batch: batch, height: height, width: width), generator: generator)
                let next = try step(previous: previous, pose: labels.select(dim: 1, index: t), z: z)
                    .nanToNum(0.5, posinf: 0.5, neginf: 0.5)
                frames.append(next)
                previous = next
                onFrame?(t)
            }
            return try Tensor.stack(frames, dim: 1)
        }
    }
}
