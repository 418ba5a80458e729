import Foundation
import Torch

/// A checkpoint is two files written atomically: `NAME.safetensors` holds only the model's state
/// dict under PyTorch's names (`model.load_state_dict(safetensors.torch.load_file(...))` works on
/// reference/lab_model.py's VAEModel), and `NAME.state.safetensors` holds what an exact resume
/// also needs: Adam's moments and step counts, the noise generator's state, and in its metadata the
/// epochs done, the iteration count and the best val PSNR so far. The state file is written first;
/// both carry the same `epochs_done` so a mismatched pair is detected.
public struct Checkpoint {
    public struct Progress: Sendable {
        /// Epochs completed: resuming continues with epoch `epochsDone + 1`.
        public var epochsDone: Int
        public var iteration: Int
        public var bestPSNR: Double
        /// The epoch (1-based) of the best val PSNR; 0 before any validation.
        public var bestEpoch: Int
        public var validationsSinceBest: Int

        public static let start = Progress(epochsDone: 0, iteration: 0, bestPSNR: -.infinity, bestEpoch: 0, validationsSinceBest: 0)
    }

    public static func write(model: Module, optimizer: Optimizer, generator: RandomGenerator, progress: Progress,
                             to weightsURL: URL) throws {
        let metadata = ["format": "pt", "epochs_done": String(progress.epochsDone), "iteration": String(progress.iteration),
                        "best_psnr": String(progress.bestPSNR), "best_epoch": String(progress.bestEpoch),
                        "validations_since_best": String(progress.validationsSinceBest)]
        var state = try optimizer.stateTensors()
        state.append(("generator.state", try generator.state()))
        try SafeTensors.write(state, metadata: metadata, to: stateURL(for: weightsURL))
        try model.save(to: weightsURL, metadata: ["format": "pt", "epochs_done": String(progress.epochsDone)])
    }

    public static func stateURL(for weightsURL: URL) -> URL {
        weightsURL.deletingPathExtension().appendingPathExtension("state.safetensors")
    }

    /// Loads weights, optimizer and generator state; returns where to continue. Checkpoints of
    /// earlier versions (`next_epoch`, 0-based `best_epoch`) read the same.
    public static func restore(model: Module, optimizer: Optimizer, generator: RandomGenerator,
                               from weightsURL: URL) throws -> Progress {
        try model.load(from: weightsURL)
        let stateFile = try SafeTensors.read(stateURL(for: weightsURL))
        let weights = try SafeTensors.read(weightsURL).metadata
        let m = stateFile.metadata
        let legacy = m["epochs_done"] == nil
        let key = legacy ? "next_epoch" : "epochs_done"
        guard let done = m[key].flatMap(Int.init), weights[key] == m[key] else {
            throw RunError("\(weightsURL.path) and its .state.safetensors are from different epochs; resume from a matching pair (checkpoints/last.*)")
        }
        try optimizer.loadState(stateFile.tensors)
        if let g = stateFile.tensors["generator.state"] { try generator.setState(g) }
        let bestEpoch = Int(m["best_epoch"] ?? "").map { legacy ? $0 + 1 : $0 } ?? 0
        return Progress(epochsDone: done, iteration: Int(m["iteration"] ?? "") ?? 0,
                        bestPSNR: Double(m["best_psnr"] ?? "") ?? -.infinity, bestEpoch: bestEpoch,
                        validationsSinceBest: Int(m["validations_since_best"] ?? "") ?? 0)
    }
}
