import Foundation
import Torch

/// Times the lab model's training iteration (teacher forcing on and off) and a rollout, on random
/// inputs of the lab's sizes. `Benchmarks/lab.sh` runs the PyTorch reference on the same sizes.
public enum ModelBenchmark {
    public struct Result: Sendable {
        public var trainOnSeconds: Double
        public var trainOffSeconds: Double
        public var rolloutSeconds: Double
        public var rolloutFrames: Int
        public var rolloutVideos: Int
    }

    public static func run(dimensions: ModelDimensions = .lab, batch: Int = 2, length: Int = 16, height: Int = 32,
                           width: Int = 64, rolloutFrames: Int = 630, rolloutVideos: Int = 1, repeats: Int = 3,
                           bfloat16: Bool = false, channelsLast: Bool = false,
                           log: (String) -> Void = { _ in }) throws -> Result {
        Runtime.seed(0)
        let model = try LabModel(dimensions)
        let optimizer = try Optimizer(.adam, parameters: model.parameters, learningRate: 1e-3)
        let g = try RandomGenerator(seed: 0)
        if channelsLast { try model.convertToChannelsLast() }
        let frames = try Tensor.rand([batch, length, 3, height, width], generator: g)
        let labels = try Tensor.rand([batch, length, 3, height, width], generator: g)
        func iteration(_ forcing: Bool) throws {
            try optimizer.zeroGrad()
            let loss = try autocast(enabled: bfloat16) {
                try model.sequenceLoss(frames: frames, labels: labels, teacherForcing: forcing, beta: 1, generator: g)
            }
            try loss.total.backward()
            try clipGradNorm(model.parameters, maxNorm: 1)
            try optimizer.step()
        }
        try iteration(true)  // warm-up
        let on = try EngineBenchmark.median(repeats: repeats) { try iteration(true) }
        log(String(format: "train iteration, teacher forcing ON:  %.3f s", on))
        let off = try EngineBenchmark.median(repeats: repeats) { try iteration(false) }
        log(String(format: "train iteration, teacher forcing OFF: %.3f s", off))
        model.eval()
        let first = try Tensor.rand([rolloutVideos, 3, height, width], generator: g)
        let poses = try Tensor.rand([rolloutVideos, rolloutFrames, 3, height, width], generator: g)
        let rollout = try EngineBenchmark.median(repeats: 1) {
            _ = try autocast(enabled: bfloat16) { try model.rollout(firstFrame: first, labels: poses, generator: g) }
        }
        log(String(format: "rollout of %d frames x %d video(s): %.2f s", rolloutFrames, rolloutVideos, rollout))
        return Result(trainOnSeconds: on, trainOffSeconds: off, rolloutSeconds: rollout, rolloutFrames: rolloutFrames,
                      rolloutVideos: rolloutVideos)
    }
}
