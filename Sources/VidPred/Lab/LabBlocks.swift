import Torch

// The lab's building blocks, with the lab's attribute names so checkpoints match PyTorch's
// state_dict keys (e.g. `frame_transformation.1.block.0.depth_conv.weight`).

/// conv3x3 -> LeakyReLU(0.01) -> conv3x3 -> LeakyReLU(0.01), plus a skip (1x1 conv when the
/// channel count changes).
public final class ResidualBlock: Module {
    let conv1: Conv2d
    let conv2: Conv2d
    let skip: Conv2d?

    public init(_ inChannels: Int, _ outChannels: Int) throws {
        conv1 = try Conv2d(inChannels, outChannels, kernel: 3, padding: 1)
        conv2 = try Conv2d(outChannels, outChannels, kernel: 3, padding: 1)
        skip = inChannels == outChannels ? nil : try Conv2d(inChannels, outChannels, kernel: 1)
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        let out = try conv2(conv1(x).leakyRelu(0.01)).leakyRelu(0.01)
        return try out + (skip?(x) ?? x)
    }
}

/// conv1x1 -> LeakyReLU(0.01) -> depthwise 3x3 -> conv1x1, plus a skip (1x1 `adaptor` when the
/// channel count changes).
public final class DepthConv: Module {
    let conv1: Sequential
    let depthConv: Conv2d
    let conv2: Conv2d
    let adaptor: Conv2d?

    public init(_ inChannels: Int, _ outChannels: Int) throws {
        conv1 = Sequential(try Conv2d(inChannels, inChannels, kernel: 1), LeakyReLU(slope: 0.01))
        depthConv = try Conv2d(inChannels, inChannels, kernel: 3, padding: 1, groups: inChannels)
        conv2 = try Conv2d(inChannels, outChannels, kernel: 1)
        adaptor = inChannels == outChannels ? nil : try Conv2d(inChannels, outChannels, kernel: 1)
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        let out = try conv2(depthConv(conv1(x)))
        return try out + (adaptor?(x) ?? x)
    }
}

/// conv1x1 (c -> 4c), halves a, b -> a * LeakyReLU(0.1)(b) -> conv1x1 (2c -> c), plus identity.
public final class ConvFFN: Module {
    let conv: Conv2d
    let convOut: Conv2d

    public init(_ channels: Int) throws {
        conv = try Conv2d(channels, channels * 4, kernel: 1)
        convOut = try Conv2d(channels * 2, channels, kernel: 1)
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        let halves = try conv(x).chunk(2, dim: 1)
        return try x + convOut(halves[0] * halves[1].leakyRelu(0.1))
    }
}

/// DepthConv followed by ConvFFN.
public final class DepthConvBlock: Module {
    let block: Sequential

    public init(_ inChannels: Int, _ outChannels: Int) throws {
        block = Sequential(try DepthConv(inChannels, outChannels), try ConvFFN(outChannels))
    }

    public override func forward(_ x: Tensor) throws -> Tensor { try block(x) }
}
