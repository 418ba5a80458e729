import Foundation

/// PyTorch's default initialisation of a convolution: weight and bias ~ U(-b, b) with
/// b = 1/sqrt(fan_in) (kaiming_uniform with a = sqrt(5) reduces to this). Draws from `generator`,
/// else from the one bound to `RandomGenerator.initialisation`, else from libtorch's global one.
private func defaultConvParameters(weightShape: [Int], fanIn: Int, biasCount: Int?, generator: RandomGenerator?) throws
    -> (weight: Tensor, bias: Tensor?) {
    let generator = generator ?? RandomGenerator.initialisation
    let bound = 1 / Double(fanIn).squareRoot()
    let weight = try Tensor.zeros(weightShape)
    try weight.uniformFill(-bound, bound, generator: generator)
    guard let biasCount else { return (weight, nil) }
    let bias = try Tensor.zeros([biasCount])
    try bias.uniformFill(-bound, bound, generator: generator)
    return (weight, bias)
}

/// 2-D convolution with PyTorch's default initialisation.
public final class Conv2d: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: Int, padding: Int, dilation: Int, groups: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                dilation: Int = 1, groups: Int = 1, bias: Bool = true, generator: RandomGenerator? = nil) throws {
        guard inChannels % groups == 0, outChannels % groups == 0 else {
            throw TorchError("Conv2d: channels \(inChannels)->\(outChannels) not divisible by groups \(groups)")
        }
        (weight, self.bias) = try defaultConvParameters(
            weightShape: [outChannels, inChannels / groups, kernel, kernel], fanIn: inChannels / groups * kernel * kernel,
            biasCount: bias ? outChannels : nil, generator: generator)
        self.stride = stride; self.padding = padding; self.dilation = dilation; self.groups = groups
        super.init()
        try enableGradients()
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try Functional.conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding,
                              dilation: dilation, groups: groups)
    }
}

/// Transposed 2-D convolution (weight layout in, out/groups, k, k), PyTorch's initialisation.
public final class ConvTranspose2d: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: Int, padding: Int, outputPadding: Int, groups: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                outputPadding: Int = 0, groups: Int = 1, bias: Bool = true, generator: RandomGenerator? = nil) throws {
        // PyTorch computes fan_in from weight.size(1) * k * k = out/groups * k * k for this layer.
        (weight, self.bias) = try defaultConvParameters(
            weightShape: [inChannels, outChannels / groups, kernel, kernel], fanIn: outChannels / groups * kernel * kernel,
            biasCount: bias ? outChannels : nil, generator: generator)
        self.stride = stride; self.padding = padding; self.outputPadding = outputPadding; self.groups = groups
        super.init()
        try enableGradients()
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try Functional.convTranspose2d(x, weight: weight, bias: bias, stride: stride, padding: padding,
                                       outputPadding: outputPadding, groups: groups)
    }
}

/// Batch normalisation over channels, with running statistics used in evaluation mode.
public final class BatchNorm2d: Module {
    /// Running statistics are buffers, not parameters: kept in a struct so reflection skips them.
    public struct RunningStatistics {
        public let mean: Tensor
        public let variance: Tensor
        public let batchesTracked: Tensor
    }

    public let weight: Tensor
    public let bias: Tensor
    public let running: RunningStatistics
    public let momentum: Double
    public let eps: Double
    /// When set, training normalises with the statistics of the whole job's batch (PyTorch's
    /// SyncBatchNorm): the per-channel sums are summed over the ranks, with autograd through the
    /// sum, so every rank's gradient is that of one process with the global batch.
    public var synchronisation: ProcessGroup?

    public init(_ features: Int, momentum: Double = 0.1, eps: Double = 1e-5) throws {
        weight = try Tensor.ones([features])
        bias = try Tensor.zeros([features])
        running = RunningStatistics(mean: try Tensor.zeros([features]), variance: try Tensor.ones([features]),
                                    batchesTracked: try Tensor.zeros([], dtype: .int64))
        self.momentum = momentum
        self.eps = eps
        super.init()
        try enableGradients()
    }

    public override func ownBuffers() -> [(String, Tensor)] {
        [("running_mean", running.mean), ("running_var", running.variance), ("num_batches_tracked", running.batchesTracked)]
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        if isTraining {
            try running.batchesTracked.copyIn(try running.batchesTracked + 1)
            if let group = synchronisation { return try synchronisedForward(x, group: group) }
        }
        return try Functional.batchNorm(x, weight: weight, bias: bias, runningMean: running.mean,
                                        runningVar: running.variance, training: isTraining,
                                        momentum: momentum, eps: eps)
    }

    /// Training-mode batch norm over the batches of all ranks (each rank must hold as many rows):
    /// mean and biased variance from the summed per-channel sums of x and x² (in float32), the
    /// running statistics updated as nn.BatchNorm2d does (unbiased variance, `momentum`).
    private func synchronisedForward(_ x: Tensor, group: ProcessGroup) throws -> Tensor {
        let s = x.shape, channels = s[1]
        let values = try x.to(.float32)
        let local = try Tensor.cat([values.sum(dims: [0, 2, 3]), values.square().sum(dims: [0, 2, 3])], dim: 0)
        let global = try group.allReduceSumDifferentiable(local)
        let count = Double(s[0] * s[2] * s[3] * group.worldSize)
        let mean = try global.narrow(dim: 0, start: 0, length: channels) / count
        let variance = try global.narrow(dim: 0, start: channels, length: channels) / count - mean.square()
        let shape = [1, channels, 1, 1]
        let scale = try (variance + eps).sqrt().reshaped(shape)
        let y = try (values - mean.reshaped(shape)) / scale * weight.reshaped(shape) + bias.reshaped(shape)
        try noGrad {
            try running.mean.copyIn(running.mean * (1 - momentum) + mean.detached() * momentum)
            try running.variance.copyIn(running.variance * (1 - momentum) + variance.detached() * (momentum * count / max(count - 1, 1)))
        }
        return try y.to(x.dtype)
    }

    /// Training-mode batch norm of `groups` stacked batches (consecutive blocks of rows): the
    /// same as `groups` separate calls, which is what it makes (statistics per block, running
    /// statistics updated block after block), so that a model can batch the other layers over
    /// all time steps of a clip while keeping the frame-by-frame BatchNorm semantics. libtorch's
    /// own kernel per block also gives the same gradients as separate calls: a composite of
    /// mean/variance ops differed from them by 0.2% on a CPU without AVX-512.
    public func forward(_ x: Tensor, groups: Int) throws -> Tensor {
        guard isTraining, groups > 1 else { return try forward(x) }
        let s = x.shape
        guard s.count == 4, s[0] % groups == 0 else {
            throw TorchError("BatchNorm2d: \(s[0]) rows cannot be split into \(groups) equal groups (shape \(s))")
        }
        let rows = s[0] / groups
        return try Tensor.cat((0..<groups).map { try forward(x.narrow(dim: 0, start: $0 * rows, length: rows)) }, dim: 0)
    }
}

/// Pads each side by reflecting the border (nn.ReflectionPad2d).
public final class ReflectionPad2d: Module {
    public let padding: Int
    public init(_ padding: Int) { self.padding = padding }
    public override func forward(_ x: Tensor) throws -> Tensor {
        try Functional.reflectionPad2d(x, (padding, padding, padding, padding))
    }
}

public final class LeakyReLU: Module {
    public let slope: Double
    /// PyTorch's default slope is 0.01. (The lab's `nn.LeakyReLU(True)` means slope 1.0: identity.)
    public init(slope: Double = 0.01) { self.slope = slope }
    public override func forward(_ x: Tensor) throws -> Tensor {
        slope == 1.0 ? x : try x.leakyRelu(slope)
    }
}

public final class ReLU: Module {
    public override init() {}
    public override func forward(_ x: Tensor) throws -> Tensor { try x.relu() }
}

public final class Sigmoid: Module {
    public override init() {}
    public override func forward(_ x: Tensor) throws -> Tensor { try x.sigmoid() }
}

public final class Tanh: Module {
    public override init() {}
    public override func forward(_ x: Tensor) throws -> Tensor { try x.tanh() }
}

/// Spatial upsampling by an integer factor.
public final class Upsample: Module {
    public enum Mode: String, Sendable { case nearest, bilinear }
    public let factor: Int
    public let mode: Mode
    public init(factor: Int, mode: Mode = .nearest) { self.factor = factor; self.mode = mode }
    public override func forward(_ x: Tensor) throws -> Tensor {
        let s = x.shape
        guard s.count == 4 else { throw TorchError("Upsample expects (N,C,H,W), got \(s)") }
        switch mode {
        case .nearest: return try Functional.upsampleNearest(x, height: s[2] * factor, width: s[3] * factor)
        case .bilinear: return try Functional.upsampleBilinear(x, height: s[2] * factor, width: s[3] * factor)
        }
    }
}
