import Foundation
import Torch

/// A trained model ready to generate: its weights, the config it was trained with (frame size,
/// dimensions) and where it came from.
public struct TrainedModel {
    public let model: any VideoModel
    public let checkpoint: URL
    /// The run's config.json when found; else a default config with the dimensions read from the
    /// weights' shapes (frame size then defaults to the lab's 32x64).
    public let config: TrainConfig
    /// The run folder the checkpoint belongs to, when it is inside one.
    public let runFolder: URL?

    /// The best checkpoint of a run (`checkpoints/best.safetensors`), or its last one when no
    /// validation has run yet; `which` picks one by name (`best`, `last`, `epoch-0010`).
    public static func load(run: URL, which: String? = nil) throws -> TrainedModel {
        let folder = run.appendingPathComponent("checkpoints")
        let candidates = which.map { [$0] } ?? ["best", "last"]
        let fm = FileManager.default
        guard let name = candidates.first(where: { fm.fileExists(atPath: folder.appendingPathComponent("\($0).safetensors").path) }) else {
            let looked = candidates.map { "\($0).safetensors" }.joined(separator: " or ")
            throw TorchError("\(folder.path) has no \(looked): is \(run.path) a run folder made by `vidpred train --out`?")
        }
        return try load(checkpoint: folder.appendingPathComponent("\(name).safetensors"))
    }

    /// A checkpoint file; its run's config.json is looked for next to its folder
    /// (`RUN/checkpoints/NAME.safetensors` -> `RUN/config.json`).
    public static func load(checkpoint: URL) throws -> TrainedModel {
        guard FileManager.default.fileExists(atPath: checkpoint.path) else {
            throw TorchError("\(checkpoint.path) does not exist: pass a .safetensors checkpoint (e.g. runs/NAME/checkpoints/best.safetensors)")
        }
        let run = checkpoint.deletingLastPathComponent().deletingLastPathComponent()
        let configURL = run.appendingPathComponent("config.json")
        var config = TrainConfig()
        var runFolder: URL?
        if let data = try? Data(contentsOf: configURL) {
            do {
                config = try JSONDecoder().decode(TrainConfig.self, from: data)
            } catch {
                throw TorchError("\(configURL.path) is not a readable config (\(error)); fix or remove it")
            }
            runFolder = run
        } else {
            // A bare checkpoint (e.g. copied out of its run): only the lab preset can be recognised.
            let weights = try SafeTensors.read(checkpoint).tensors
            let dims = try inferDimensions(weights, source: checkpoint)
            config.frameDim = dims.frame; config.labelDim = dims.label
            config.noiseDim = dims.noise; config.decoderDim = dims.decoder
            if weights.keys.contains(where: { $0.hasPrefix("prior.") }) { config.prior = "learned" }
        }
        let model = try makeModel(config)
        try model.load(from: checkpoint)
        if config.usesChannelsLast { try model.convertToChannelsLast() }  // faster generation, same values
        model.eval()
        return TrainedModel(model: model, checkpoint: checkpoint, config: config, runFolder: runFolder)
    }

    /// F, L, N and D from the lab model's weight shapes (for a checkpoint without its config).
    public static func inferDimensions(_ weights: [String: Tensor], source: URL) throws -> ModelDimensions {
        func outChannels(_ name: String) throws -> (Int, Int) {
            guard let w = weights[name], w.rank == 4 else {
                throw TorchError("\(source.path) has no \(name): not a checkpoint of the lab model; pass --run with its run folder")
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
