import Foundation
import Torch

/// A trained model ready to generate: its weights, the settings it was trained with (frame size,
/// dimensions) and the run it belongs to.
public struct TrainedModel {
    public let model: any VideoModel
    public let checkpoint: URL
    /// The run's config.json when the checkpoint is inside a run; else a lab config with the
    /// dimensions read from the weights' shapes (frame size then 32x64).
    public let config: TrainConfig
    /// The run the checkpoint belongs to, when it is inside one.
    public let run: RunFolder?

    /// The best checkpoint of a run (`checkpoints/best.safetensors`), or its last one when no
    /// validation has run yet; `which` picks one by name (`best`, `last`, `epoch-0010`).
    public static func load(run: RunFolder, which: String? = nil) throws -> TrainedModel {
        let candidates = which.map { [$0] } ?? ["best", "last"]
        guard let url = candidates.map(run.checkpoint(named:)).first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            let looked = candidates.map { "\($0).safetensors" }.joined(separator: " or ")
            throw RunError("\(run.checkpoints.path) has no \(looked): is \(run.path) a run folder made by training?", kind: .noCheckpoint)
        }
        return try load(checkpoint: url)
    }

    /// A checkpoint file; the settings of its run are read when it lies in one
    /// (`RUN/checkpoints/NAME.safetensors` with `RUN/config.json`).
    public static func load(checkpoint: URL) throws -> TrainedModel {
        guard FileManager.default.fileExists(atPath: checkpoint.path) else {
            throw RunError("\(checkpoint.path) does not exist: name a .safetensors checkpoint (e.g. runs/NAME/checkpoints/best.safetensors) or a lab .ckpt", kind: .noCheckpoint)
        }
        if LabCheckpoint.isLabCheckpoint(checkpoint) { return try load(labCheckpoint: checkpoint) }
        let folder = RunFolder(checkpoint.deletingLastPathComponent().deletingLastPathComponent())
        let run = FileManager.default.fileExists(atPath: folder.config.path) ? folder : nil
        var config = TrainConfig()
        if let run {
            config = try run.readConfig()
        } else {
            // A bare checkpoint (e.g. copied out of its run): only the lab preset can be recognised.
            let weights = try SafeTensors.read(checkpoint).tensors
            let dims = try inferDimensions(weights, source: checkpoint)
            config.frameDim = dims.frame; config.labelDim = dims.label
            config.noiseDim = dims.noise; config.decoderDim = dims.decoder
            if weights.keys.contains(where: { $0.hasPrefix("prior.") }) { config.prior = .learned }
        }
        let model = try config.makeModel()
        try model.load(from: checkpoint)
        if config.usesChannelsLast { try model.convertToChannelsLast() }  // faster generation, same values
        model.eval()
        return TrainedModel(model: model, checkpoint: checkpoint, config: config, run: run)
    }

    /// A checkpoint of the lab's own code (`epoch=N.ckpt`, PyTorch's format): the lab preset with
    /// the dimensions its weights have, at the lab's frame size (32x64).
    static func load(labCheckpoint url: URL) throws -> TrainedModel {
        let checkpoint = try LabCheckpoint.read(url)
        let model = try checkpoint.makeModel(source: url)
        var config = TrainConfig()
        let dims = model.dimensions
        config.frameDim = dims.frame; config.labelDim = dims.label; config.noiseDim = dims.noise; config.decoderDim = dims.decoder
        if let lr = checkpoint.lr { config.lr = lr }
        if let tfr = checkpoint.tfr { config.tfr = tfr }
        model.eval()
        return TrainedModel(model: model, checkpoint: url, config: config, run: nil)
    }

    /// F, L, N and D from the lab model's weight shapes (for a checkpoint without its config).
    public static func inferDimensions(_ weights: [String: Tensor], source: URL) throws -> ModelDimensions {
        func outChannels(_ name: String) throws -> (Int, Int) {
            guard let w = weights[name], w.rank == 4 else {
                throw RunError("\(source.path) has no \(name): it is not a checkpoint of the lab model, and without its run folder (config.json) its settings are unknown")
            }
            return (w.shape[0], w.shape[1])
        }
        let frame = try outChannels("frame_transformation.6.weight").0
        let noise = try outChannels("Gaussian_Predictor.6.weight").0 / 2
        let decoder = try outChannels("Decoder_Fusion.5.weight").0
        let label = try outChannels("Gaussian_Predictor.0.conv1.weight").1 - frame
        return ModelDimensions(frame: frame, label: label, noise: noise, decoder: decoder)
    }
}
