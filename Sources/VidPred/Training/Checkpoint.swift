import Foundation
import Torch

/// A checkpoint is two files written atomically: `NAME.safetensors` holds only the model's state
/// dict under PyTorch's names (`model.load_state_dict(safetensors.torch.load_file(...))` works on
/// reference/lab_model.py's VAEModel), and `NAME.state.safetensors` holds what an exact resume
/// also needs: Adam's moments and step counts, the noise generator's state, and in its metadata the
/// epoch to continue with, the iteration count and the best val PSNR so far. The state file is
/// written first; both carry the same `epoch` so a mismatched pair is detected.
public struct Checkpoint {
    public struct Progress: Sendable {
        /// The next epoch to run when resuming.
        public var nextEpoch: Int
        public var iteration: Int
        public var bestPSNR: Double
        public var bestEpoch: Int
        public var validationsSinceBest: Int
    }

    public static func write(model: Module, optimizer: Optimizer, generator: RandomGenerator, progress: Progress,
                             to weightsURL: URL) throws {
        let metadata = ["format": "pt", "next_epoch": String(progress.nextEpoch), "iteration": String(progress.iteration),
                        "best_psnr": String(progress.bestPSNR), "best_epoch": String(progress.bestEpoch),
                        "validations_since_best": String(progress.validationsSinceBest)]
        var state = try optimizer.stateTensors()
        state.append(("generator.state", try generator.state()))
        try SafeTensors.write(state, metadata: metadata, to: stateURL(for: weightsURL))
        try model.save(to: weightsURL, metadata: ["format": "pt", "next_epoch": String(progress.nextEpoch)])
    }

    public static func stateURL(for weightsURL: URL) -> URL {
        weightsURL.deletingPathExtension().appendingPathExtension("state.safetensors")
    }

    /// Loads weights, optimizer and generator state; returns where to continue.
    public static func restore(model: Module, optimizer: Optimizer, generator: RandomGenerator,
                               from weightsURL: URL) throws -> Progress {
        try model.load(from: weightsURL)
        let stateFile = try SafeTensors.read(stateURL(for: weightsURL))
        let weightsEpoch = try SafeTensors.read(weightsURL).metadata["next_epoch"]
        let m = stateFile.metadata
        guard let next = m["next_epoch"].flatMap(Int.init), weightsEpoch == m["next_epoch"] else {
            throw TorchError("\(weightsURL.path) and its .state.safetensors are from different epochs; resume from a matching pair (checkpoints/last.*)")
        }
        try optimizer.loadState(stateFile.tensors)
        if let g = stateFile.tensors["generator.state"] { try generator.setState(g) }
        return Progress(nextEpoch: next, iteration: Int(m["iteration"] ?? "") ?? 0,
                        bestPSNR: Double(m["best_psnr"] ?? "") ?? -.infinity, bestEpoch: Int(m["best_epoch"] ?? "") ?? -1,
                        validationsSinceBest: Int(m["validations_since_best"] ?? "") ?? 0)
    }
}
