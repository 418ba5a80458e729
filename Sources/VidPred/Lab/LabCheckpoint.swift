import Foundation
import Torch

/// The lab template's checkpoint file (`epoch=N.ckpt`): `torch.save` of
/// `{"state_dict": model.state_dict(), "optimizer": ..., "lr": float, "tfr": float, "last_epoch": int}`
/// (../shared/docs/lab.md). The template stores the state dict again under "optimizer" (a bug), so
/// only the state dict, lr, tfr and last_epoch are read; writing repeats the state dict there too,
/// so the file is the template's in every key.
public struct LabCheckpoint {
    /// The lab `VAE_Model`'s state dict, in file order.
    public var stateDict: [(String, Tensor)]
    /// The learning rate, teacher-forcing ratio and epoch count when it was saved (absent when
    /// the file is a bare `torch.save(model.state_dict())`).
    public var lr: Double?
    public var tfr: Double?
    public var lastEpoch: Int?

    public init(stateDict: [(String, Tensor)], lr: Double?, tfr: Double?, lastEpoch: Int?) {
        self.stateDict = stateDict; self.lr = lr; self.tfr = tfr; self.lastEpoch = lastEpoch
    }

    /// True for a file in PyTorch's zip format (a `.ckpt` or `.pt`), rather than safetensors.
    public static func isLabCheckpoint(_ url: URL) -> Bool { TorchSave.isArchive(url) }

    public static func read(_ url: URL) throws -> LabCheckpoint {
        try LabCheckpoint(archive: TorchSave.read(url))
    }

    /// A checkpoint held in memory; `source` names it in errors.
    public static func decode(_ data: Data, source: String) throws -> LabCheckpoint {
        try LabCheckpoint(archive: TorchSave.decode(data, source: source))
    }

    private init(archive: TorchSave.Archive) throws {
        let root = archive.root
        // The template's dict, or a bare state dict (torch.save(model.state_dict())).
        let dict = root["state_dict"] ?? root
        var weights = try archive.tensors(in: dict, what: root["state_dict"] == nil ? "the saved dict" : "state_dict")
        // nn.DataParallel / DistributedDataParallel prefix every key with "module.".
        if !weights.isEmpty, weights.allSatisfy({ $0.0.hasPrefix("module.") }) {
            weights = weights.map { (String($0.0.dropFirst("module.".count)), $0.1) }
        }
        guard !weights.isEmpty else { throw RunError("\(archive.source) holds no tensors: is it a checkpoint of the lab's model?") }
        self.init(stateDict: weights, lr: root["lr"]?.double, tfr: root["tfr"]?.double, lastEpoch: root["last_epoch"]?.int)
    }

    /// The state dict by name (what `Module.load(stateDict:)` takes).
    public var weights: [String: Tensor] { Dictionary(stateDict, uniquingKeysWith: { first, _ in first }) }

    /// The lab model's dimensions (F, L, N, D) from the weights' shapes.
    public func dimensions(source: URL) throws -> ModelDimensions {
        try TrainedModel.inferDimensions(weights, source: source)
    }

    /// A lab model holding these weights (float32, as the lab trains).
    public func makeModel(source: URL) throws -> LabModel {
        let weights = self.weights
        let model = try LabModel(try TrainedModel.inferDimensions(weights, source: source))
        do {
            try model.load(stateDict: weights)
        } catch {
            throw RunError("\(source.path) does not fit the lab's model: \(error)")
        }
        return model
    }

    /// Writes the template's dict atomically (floating-point weights as float32, as the lab trains);
    /// the lab's `Tester.py` / `Trainer.py --ckpt_path` load it.
    public func write(to url: URL) throws {
        let writer = TorchSave.Writer()
        let state = Pickle.orderedDict(try stateDict.map { name, tensor in
            (PickleValue.string(name), try writer.tensor(tensor.dtype.isFloatingPoint ? tensor.to(.float32) : tensor))
        })
        var items: [(PickleValue, PickleValue)] = [(.string("state_dict"), state), (.string("optimizer"), state)]
        if let lr { items.append((.string("lr"), .float(lr))) }
        if let tfr { items.append((.string("tfr"), .float(tfr))) }
        if let lastEpoch { items.append((.string("last_epoch"), .int(lastEpoch))) }
        let stem = url.deletingPathExtension().lastPathComponent
        try writer.write(.dict(items), to: url, name: stem.isEmpty || stem.contains("/") ? "archive" : stem)
    }
}
