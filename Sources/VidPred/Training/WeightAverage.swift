import Foundation
import Torch

/// An exponential moving average of a model's trainable parameters (the `ema_decay` setting;
/// timm's ModelEmaV2, PyTorch's `torch.optim.swa_utils.AveragedModel` with an EMA function):
/// after each optimizer step, average = d x average + (1 - d) x parameter. Validation, the
/// checkpoints' weights files (what `predict`, `eval` and `report` read) and so the best
/// checkpoint's choice all use the average; training continues from the raw parameters, which
/// the state files keep for resuming with the average beside them.
///
/// d starts low and rises to `decay` as (1 + n) / (10 + n) after n steps (TensorFlow's
/// `ExponentialMovingAverage` with `num_updates`), so the random initial weights do not linger in
/// a short run. n is the run's iteration count, which a resume restores: a resumed run averages
/// exactly as an uninterrupted one. Buffers (the lab model's BatchNorm running statistics) are
/// the raw model's, not averaged (AveragedModel's default).
final class WeightAverage {
    let decay: Double
    /// The model's live parameters, in `namedParameters` order.
    private let parameters: [(name: String, tensor: Tensor)]
    private(set) var averages: [Tensor]

    /// Starts the average at the model's current weights.
    init(model: Module, decay: Double) throws {
        self.decay = decay
        let parameters = model.namedParameters().map { (name: $0.0, tensor: $0.1) }
        self.parameters = parameters
        averages = try noGrad { try parameters.map { try $0.tensor.detached().clone() } }
    }

    /// Starts again at the model's current weights (a run's initial weights, loaded after `init`).
    func reset() throws {
        try Self.copy(parameters.map(\.tensor), into: averages)
    }

    /// The decay used at the step after `iteration` steps.
    func decay(afterIterations iteration: Int) -> Double {
        min(decay, Double(1 + iteration) / Double(10 + iteration))
    }

    /// Moves the average towards the current parameters (after the optimizer step that made
    /// them; `iteration`: steps before this one).
    func update(afterIterations iteration: Int) throws {
        let d = decay(afterIterations: iteration)
        try noGrad {
            for (average, parameter) in zip(averages, parameters) {
                try average.copyIn(average * d + parameter.tensor.detached() * (1 - d))
            }
        }
    }

    /// Runs `body` with the averaged weights in the model, then puts the raw ones back (also
    /// when `body` throws).
    func withAveragedWeights<T>(_ body: () throws -> T) throws -> T {
        let live = parameters.map(\.tensor)
        let raw = try noGrad { try live.map { try $0.detached().clone() } }
        try Self.copy(averages, into: live)
        defer { try? Self.copy(raw, into: live) }
        return try body()
    }

    /// Copies each of `sources` into the tensor at the same index, outside autograd.
    private static func copy(_ sources: [Tensor], into targets: [Tensor]) throws {
        try noGrad { for (target, source) in zip(targets, sources) { try target.copyIn(source) } }
    }

    /// The model's state dict with the averages in place of the parameters (a weights file).
    func averagedStateDict(of model: Module) -> [(String, Tensor)] {
        let byName = Dictionary(uniqueKeysWithValues: zip(parameters.map(\.name), averages))
        return model.stateDict().map { ($0.0, byName[$0.0] ?? $0.1) }
    }

    static let prefix = "ema."

    /// The averages under `ema.NAME`, for a checkpoint's state file.
    var stateTensors: [(String, Tensor)] { zip(parameters, averages).map { (Self.prefix + $0.0.name, $0.1) } }

    /// Restores what `stateTensors` saved; `file` names the checkpoint in errors.
    func load(_ tensors: [String: Tensor], file: String) throws {
        let missing = parameters.filter { tensors[Self.prefix + $0.name] == nil }.map(\.name)
        guard missing.isEmpty else {
            throw RunError("\(file) holds no weight average for \(missing.prefix(3).joined(separator: ", "))\(missing.count > 3 ? " (+\(missing.count - 3) more)" : ""), which this run (ema_decay \(decay)) keeps: resume from a checkpoint of this run")
        }
        try noGrad {
            for (average, parameter) in zip(averages, parameters) {
                let saved = tensors[Self.prefix + parameter.name]!
                guard saved.shape == average.shape else {
                    throw RunError("\(file): weight average \(parameter.name) has shape \(saved.shape), the model \(average.shape)")
                }
                try average.copyIn(saved)
            }
        }
    }
}
