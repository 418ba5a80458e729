import Foundation

/// Runs a TFLite model on libtorch: the operator subset of convolutional vision models (BlazePose's
/// detector and landmark models among them), each mapped to the libtorch op that computes the
/// same thing. TFLite lays images out NHWC; here every 4-D value is kept NCHW (weights transposed
/// once: OHWI to OIHW, depthwise 1HWC to C1HW), and converted back where an operator's meaning
/// depends on the layout (RESHAPE, CONCATENATION's axis, DEPTH_TO_SPACE's channel order) and at
/// the outputs. TF's "SAME" padding, which puts the odd pixel after, becomes an explicit pad.
/// Constant sub-graphs (DENSIFY, DEQUANTIZE of the fp16 weights) are computed once, at load.
public final class TFLiteGraph {
    public let model: TFLiteModel
    /// Constants and folded values by tensor index (4-D ones NCHW, weights in libtorch's layout).
    private let constants: [Int: Tensor]
    /// The operators that depend on the input, in order.
    private let live: [TFLiteModel.Operator]

    public convenience init(contentsOf url: URL) throws {
        try self.init(model: TFLiteModel(contentsOf: url))
    }

    public init(model: TFLiteModel) throws {
        self.model = model
        var constants: [Int: Tensor] = [:]
        for index in model.tensors.indices {
            if let value = try model.constant(index) { constants[index] = value }
        }
        var live: [TFLiteModel.Operator] = []
        for op in model.operators {
            if op.inputs.allSatisfy({ $0 < 0 || constants[$0] != nil }) && !model.inputs.contains(where: op.inputs.contains) {
                try Self.run(op, model: model, values: &constants)
            } else {
                live.append(op)
            }
        }
        self.constants = constants
        self.live = live
    }

    /// The model's outputs for `inputs` (NHWC float32, as TFLite takes them), in the model's order,
    /// each in TFLite's layout.
    public func callAsFunction(_ inputs: [Tensor]) throws -> [Tensor] {
        guard inputs.count == model.inputs.count else {
            throw TorchError("\(model.buffer.source) takes \(model.inputs.count) input(s), \(inputs.count) given")
        }
        var values = constants
        for (index, tensor) in zip(model.inputs, inputs) {
            let expected = model.tensors[index].shape
            guard tensor.shape.count == expected.count, zip(tensor.shape, expected).allSatisfy({ $1 <= 0 || $0 == $1 }) else {
                throw TorchError("\(model.buffer.source): input \(model.tensors[index].name) must be \(expected) (NHWC), got \(tensor.shape)")
            }
            values[index] = tensor.shape.count == 4 ? try tensor.permuted([0, 3, 1, 2]) : tensor
        }
        try inferenceMode {
            for op in live { try Self.run(op, model: model, values: &values) }
        }
        return try model.outputs.map { index in
            guard let value = values[index] else { throw TorchError("\(model.buffer.source): output \(model.tensors[index].name) was not computed") }
            return value.shape.count == 4 ? try value.permuted([0, 2, 3, 1]).contiguous() : value
        }
    }

    // MARK: operators

    private static func run(_ op: TFLiteModel.Operator, model: TFLiteModel, values: inout [Int: Tensor]) throws {
        func input(_ i: Int) throws -> Tensor {
            guard i < op.inputs.count, let value = values[op.inputs[i]] else {
                throw TorchError("\(model.buffer.source): operator \(op.code) is missing input \(i)")
            }
            return value
        }
        func image(_ i: Int) throws -> Tensor {
            let t = try input(i)
            guard t.shape.count == 4 else { throw TorchError("\(model.buffer.source): operator \(op.code) needs a 4-D input \(i), got \(t.shape)") }
            return t
        }
        /// The NHWC view of a value (for layout-dependent operators).
        func nhwc(_ t: Tensor) throws -> Tensor { t.shape.count == 4 ? try t.permuted([0, 2, 3, 1]) : t }
        let options = op.options
        let output: Tensor
        switch op.code {
        case TFLiteModel.Code.dequantize:
            output = try input(0).to(.float32)
        case TFLiteModel.Code.densify:
            output = try input(0)  // made dense when the constant was read
        case TFLiteModel.Code.conv2d, TFLiteModel.Code.depthwiseConv2d:
            let depthwise = op.code == TFLiteModel.Code.depthwiseConv2d
            // Conv2DOptions: padding 0, stride_w 1, stride_h 2, activation 3, dilation 4, 5.
            // DepthwiseConv2DOptions: padding 0, stride_w 1, stride_h 2, multiplier 3, activation 4, dilation 5, 6.
            let padding = try options?.byte(0) ?? 0, strideW = try options?.int(1, default: 1) ?? 1, strideH = try options?.int(2, default: 1) ?? 1
            let activation = try options?.byte(depthwise ? 4 : 3) ?? 0
            let dilation = try options?.int(depthwise ? 5 : 4, default: 1) ?? 1
            guard strideW == strideH, dilation == 1 else { throw TorchError("\(model.buffer.source): unequal strides or dilation are not supported") }
            let x = try image(0), w = try image(1)
            // OHWI -> OIHW; depthwise 1HW(C*M) -> (C*M)1HW with one group per input channel.
            let weight = try (depthwise ? w.permuted([3, 0, 1, 2]) : w.permuted([0, 3, 1, 2])).contiguous()
            let bias = op.inputs.count > 2 && op.inputs[2] >= 0 ? try input(2) : nil
            let (kh, kw) = (weight.shape[2], weight.shape[3])
            let padded = padding == 0 ? try samePad(x, kernel: (kh, kw), stride: strideH) : x
            let y = try Functional.conv2d(padded, weight: weight, bias: bias, stride: strideH, groups: depthwise ? x.shape[1] : 1)
            output = try activate(y, activation)
        case TFLiteModel.Code.add:
            output = try activate(try input(0) + input(1), try options?.byte(0) ?? 0)
        case TFLiteModel.Code.pad:
            let x = try image(0), pads = try input(1).to(.int64).ints()  // NHWC pairs
            guard x.shape.count == 4, pads.count == 8, pads[0] == 0, pads[1] == 0 else { throw TorchError("\(model.buffer.source): PAD of a non-image or of the batch") }
            var y = try Functional.zeroPad2d(x, (pads[4], pads[5], pads[2], pads[3]))
            if pads[6] > 0 || pads[7] > 0 {  // channels, zeros before and after (a residual that widens)
                let s = y.shape
                y = try Tensor.cat([Tensor.zeros([s[0], pads[6], s[2], s[3]], dtype: y.dtype, device: y.device), y,
                                    Tensor.zeros([s[0], pads[7], s[2], s[3]], dtype: y.dtype, device: y.device)], dim: 1)
            }
            output = y
        case TFLiteModel.Code.maxPool2d:
            // Pool2DOptions: padding 0, stride_w 1, stride_h 2, filter_w 3, filter_h 4, activation 5.
            let stride = try options?.int(1, default: 1) ?? 1, filter = try options?.int(3, default: 1) ?? 1
            guard try options?.byte(0) == 1 || filter == stride else { throw TorchError("\(model.buffer.source): MAX_POOL_2D with SAME padding is not supported") }
            output = try activate(Functional.maxPool2d(try image(0), kernel: filter, stride: stride), try options?.byte(5) ?? 0)
        case TFLiteModel.Code.logistic:
            output = try input(0).sigmoid()
        case TFLiteModel.Code.resizeBilinear:
            let size = try input(1).to(.int64).ints()
            guard size.count == 2, size.allSatisfy({ (1...16384).contains($0) }) else { throw TorchError("\(model.buffer.source): RESIZE_BILINEAR to \(size)") }
            let alignCorners = try options?.bool(2) ?? false, halfPixel = try options?.bool(3) ?? false
            guard alignCorners || halfPixel else { throw TorchError("\(model.buffer.source): RESIZE_BILINEAR without half-pixel centers or aligned corners is not supported") }
            output = try Functional.upsampleBilinear(try image(0), height: size[0], width: size[1], alignCorners: alignCorners)
        case TFLiteModel.Code.reshape:
            let shape = model.tensors[op.outputs[0]].shape
            let y = try nhwc(try input(0)).contiguous().reshaped(shape)
            output = shape.count == 4 ? try y.permuted([0, 3, 1, 2]) : y
        case TFLiteModel.Code.concatenation:
            let parts = try op.inputs.indices.map { try input($0) }
            let rank = parts.first?.shape.count ?? 0
            var axis = try options?.int(0) ?? 0
            if axis < 0 { axis += rank }
            guard (0..<rank).contains(axis) else { throw TorchError("\(model.buffer.source): CONCATENATION along axis \(axis) of rank \(rank)") }
            output = try Tensor.cat(parts, dim: rank == 4 ? [0, 2, 3, 1][axis] : axis)
        case TFLiteModel.Code.depthToSpace:
            // TF's order: output channel c of block (i, j) is input channel (i * b + j) * C + c.
            let b = try options?.int(0) ?? 2, x = try image(0), s = x.shape
            guard b >= 1, s[1] % (b * b) == 0 else { throw TorchError("\(model.buffer.source): DEPTH_TO_SPACE of \(s[1]) channels in blocks of \(b)") }
            let c = s[1] / (b * b)
            output = try x.reshaped([s[0], b, b, c, s[2], s[3]]).permuted([0, 3, 4, 1, 5, 2]).contiguous().reshaped([s[0], c, s[2] * b, s[3] * b])
        default:
            throw TorchError("\(model.buffer.source): TFLite operator \(op.code) is not supported (supported: ADD, CONCATENATION, CONV_2D, DEPTHWISE_CONV_2D, DEPTH_TO_SPACE, DEQUANTIZE, DENSIFY, LOGISTIC, MAX_POOL_2D, PAD, RESHAPE, RESIZE_BILINEAR)")
        }
        values[op.outputs[0]] = output
    }

    /// TF's SAME padding: the output is ceil(input / stride); the odd pixel of padding goes after.
    private static func samePad(_ x: Tensor, kernel: (Int, Int), stride: Int) throws -> Tensor {
        func pads(_ size: Int, _ k: Int) -> (Int, Int) {
            let total = max((size + stride - 1) / stride * stride - stride + k - size, 0)
            return (total / 2, total - total / 2)
        }
        let (top, bottom) = pads(x.shape[2], kernel.0), (left, right) = pads(x.shape[3], kernel.1)
        return top + bottom + left + right == 0 ? x : try Functional.zeroPad2d(x, (left, right, top, bottom))
    }

    /// TFLite's fused activations: NONE 0, RELU 1, RELU_N1_TO_1 2, RELU6 3.
    private static func activate(_ x: Tensor, _ activation: Int) throws -> Tensor {
        switch activation {
        case 0: return x
        case 1: return try x.relu()
        case 2: return try x.clamped(-1, 1)
        case 3: return try x.clamped(0, 6)
        default: throw TorchError("TFLite fused activation \(activation) is not supported")
        }
    }
}
