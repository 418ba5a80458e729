import CTorch

/// Stateless neural-network functions (PyTorch's `torch.nn.functional`).
public enum Functional {
    public static func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0,
                              dilation: Int = 1, groups: Int = 1) throws -> Tensor {
        let s: [Int64] = [Int64(stride), Int64(stride)], p: [Int64] = [Int64(padding), Int64(padding)]
        let d: [Int64] = [Int64(dilation), Int64(dilation)]
        let y = try Tensor.make("conv2d") { ct_conv2d(x.handle, weight.handle, bias?.handle, s, p, d, Int64(groups), $0) }
        FlopCounter.addConvolution(output: y.shape, weight: weight.shape)
        return y
    }

    /// Weight layout (in, out/groups, kh, kw), as in PyTorch.
    public static func convTranspose2d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0,
                                       outputPadding: Int = 0, groups: Int = 1, dilation: Int = 1) throws -> Tensor {
        let s: [Int64] = [Int64(stride), Int64(stride)], p: [Int64] = [Int64(padding), Int64(padding)]
        let op: [Int64] = [Int64(outputPadding), Int64(outputPadding)], d: [Int64] = [Int64(dilation), Int64(dilation)]
        let y = try Tensor.make("convTranspose2d") {
            ct_conv_transpose2d(x.handle, weight.handle, bias?.handle, s, p, op, Int64(groups), d, $0)
        }
        // A transposed conv does the multiply-adds of the conv it transposes: input x weight.
        FlopCounter.addConvolution(output: x.shape, weight: [weight.shape[0], weight.shape[1] * groups / max(groups, 1), weight.shape[2], weight.shape[3]])
        return y
    }

    /// Reflection padding of (left, right, top, bottom).
    public static func reflectionPad2d(_ x: Tensor, _ pad: (Int, Int, Int, Int)) throws -> Tensor {
        let p: [Int64] = [Int64(pad.0), Int64(pad.1), Int64(pad.2), Int64(pad.3)]
        return try Tensor.make("reflectionPad2d") { ct_reflection_pad2d(x.handle, p, $0) }
    }

    public static func zeroPad2d(_ x: Tensor, _ pad: (Int, Int, Int, Int)) throws -> Tensor {
        let p: [Int64] = [Int64(pad.0), Int64(pad.1), Int64(pad.2), Int64(pad.3)]
        return try Tensor.make("zeroPad2d") { ct_zero_pad2d(x.handle, p, $0) }
    }

    /// Batch normalisation; in training mode the running statistics are updated in place.
    public static func batchNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, runningMean: Tensor?, runningVar: Tensor?,
                                 training: Bool, momentum: Double = 0.1, eps: Double = 1e-5) throws -> Tensor {
        try Tensor.make("batchNorm") {
            ct_batch_norm(x.handle, weight?.handle, bias?.handle, runningMean?.handle, runningVar?.handle,
                          training ? 1 : 0, momentum, eps, $0)
        }
    }

    public static func groupNorm(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, eps: Double = 1e-5) throws -> Tensor {
        try Tensor.make("groupNorm") { ct_group_norm(x.handle, Int64(groups), weight?.handle, bias?.handle, eps, $0) }
    }

    public static func upsampleNearest(_ x: Tensor, height: Int, width: Int) throws -> Tensor {
        try Tensor.make("upsampleNearest") { ct_upsample_nearest2d(x.handle, Int64(height), Int64(width), $0) }
    }

    public static func upsampleBilinear(_ x: Tensor, height: Int, width: Int, alignCorners: Bool = false) throws -> Tensor {
        try Tensor.make("upsampleBilinear") {
            ct_upsample_bilinear2d(x.handle, Int64(height), Int64(width), alignCorners ? 1 : 0, $0)
        }
    }

    public static func avgPool2d(_ x: Tensor, kernel: Int, stride: Int? = nil) throws -> Tensor {
        try Tensor.make("avgPool2d") { ct_avg_pool2d(x.handle, Int64(kernel), Int64(stride ?? kernel), $0) }
    }

    /// What `gridSample` reads outside the image.
    public enum GridPadding: Int32 { case zeros = 0, border = 1 }

    /// Bilinear samples of x (N, C, H, W) at `grid` (N, Ho, Wo, 2), each (x, y) in [-1, 1] across
    /// the image (pixel edges, align_corners false); outside it zeros or the nearest border pixel
    /// (PyTorch's grid_sample with padding_mode "zeros" or "border").
    public static func gridSample(_ x: Tensor, grid: Tensor, padding: GridPadding = .zeros) throws -> Tensor {
        try Tensor.make("gridSample") { ct_grid_sample(x.handle, grid.handle, padding.rawValue, 0, $0) }
    }

    public static func maxPool2d(_ x: Tensor, kernel: Int, stride: Int? = nil) throws -> Tensor {
        try Tensor.make("maxPool2d") { ct_max_pool2d(x.handle, Int64(kernel), Int64(stride ?? kernel), $0) }
    }

    public static func pixelShuffle(_ x: Tensor, factor: Int) throws -> Tensor {
        try Tensor.make("pixelShuffle") { ct_pixel_shuffle(x.handle, Int64(factor), $0) }
    }

    public static func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) throws -> Tensor {
        try Tensor.make("linear") { ct_linear(x.handle, weight.handle, bias?.handle, $0) }
    }

    /// Mean squared error, mean over all elements (PyTorch's default reduction).
    public static func mseLoss(_ prediction: Tensor, _ target: Tensor) throws -> Tensor {
        try Tensor.make("mseLoss") { ct_mse_loss(prediction.handle, target.handle, $0) }
    }
}
