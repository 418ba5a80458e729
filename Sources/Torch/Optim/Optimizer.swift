import CTorch

/// Adam or AdamW, run by libtorch's own implementation (bit-identical to PyTorch's default,
/// non-foreach path). The learning rate can be changed between steps (schedules).
public final class Optimizer {
    public enum Kind: String, Sendable, Codable, CaseIterable { case adam, adamw }

    let handle: ct_optimizer
    public let kind: Kind
    public let parameters: [Tensor]

    public init(_ kind: Kind, parameters: [Tensor], learningRate: Double, betas: (Double, Double) = (0.9, 0.999),
                eps: Double = 1e-8, weightDecay: Double? = nil, amsgrad: Bool = false) throws {
        // PyTorch's defaults: Adam weight_decay 0, AdamW 0.01.
        let decay = weightDecay ?? (kind == .adamw ? 0.01 : 0)
        let handles: [ct_tensor?] = parameters.map { $0.handle }
        var out: ct_optimizer?
        try check(ct_optimizer_new(kind == .adamw ? 1 : 0, handles, Int32(handles.count), learningRate, betas.0, betas.1,
                                   eps, decay, amsgrad ? 1 : 0, &out), "Optimizer")
        handle = out!
        self.kind = kind
        self.parameters = parameters
    }

    deinit { ct_optimizer_free(handle) }

    public func step() throws { try check(ct_optimizer_step(handle), "Optimizer.step") }

    /// Drops every parameter's gradient (set_to_none, PyTorch's default).
    public func zeroGrad() throws { try check(ct_optimizer_zero_grad(handle), "Optimizer.zeroGrad") }

    public var learningRate: Double {
        get {
            var lr: Double = 0
            _ = ct_optimizer_get_lr(handle, &lr)
            return lr
        }
    }

    public func setLearningRate(_ lr: Double) throws {
        try check(ct_optimizer_set_lr(handle, lr), "Optimizer.setLearningRate")
    }

    /// Per-parameter moments and step counts, named `<prefix>.<index>.exp_avg` etc., for checkpoints.
    /// Step counts are stored as 0-d int64 tensors `<prefix>.<index>.step`.
    public func stateTensors(prefix: String = "optimizer") throws -> [(String, Tensor)] {
        var result: [(String, Tensor)] = []
        for index in parameters.indices {
            var has: Int32 = 0, step: Int64 = 0
            var m: ct_tensor?, v: ct_tensor?, vmax: ct_tensor?
            try check(ct_optimizer_get_state(handle, Int32(index), &has, &step, &m, &v, &vmax), "Optimizer.state")
            guard has != 0, let m, let v else { continue }
            result.append(("\(prefix).\(index).step", try Tensor.full([], Double(step), dtype: .int64)))
            result.append(("\(prefix).\(index).exp_avg", Tensor(handle: m)))
            result.append(("\(prefix).\(index).exp_avg_sq", Tensor(handle: v)))
            if let vmax { result.append(("\(prefix).\(index).max_exp_avg_sq", Tensor(handle: vmax))) }
        }
        return result
    }

    /// Restores what `stateTensors` saved. Parameters without saved state keep none (as before
    /// their first step).
    public func loadState(_ tensors: [String: Tensor], prefix: String = "optimizer") throws {
        for index in parameters.indices {
            guard let step = tensors["\(prefix).\(index).step"] else { continue }
            guard let m = tensors["\(prefix).\(index).exp_avg"], let v = tensors["\(prefix).\(index).exp_avg_sq"] else {
                throw TorchError("optimizer state for parameter \(index) is incomplete (exp_avg/exp_avg_sq missing)")
            }
            let vmax = tensors["\(prefix).\(index).max_exp_avg_sq"]
            try check(ct_optimizer_set_state(handle, Int32(index), Int64(try step.item()), m.handle, v.handle, vmax?.handle),
                      "Optimizer.loadState")
        }
    }
}

/// Scales all gradients so their global L2 norm is at most `maxNorm`; returns the norm before clipping.
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Double) throws -> Double {
    let handles: [ct_tensor?] = parameters.map { $0.handle }
    var norm: Double = 0
    try check(ct_clip_grad_norm(handles, Int32(handles.count), maxNorm, &norm), "clipGradNorm")
    return norm
}
