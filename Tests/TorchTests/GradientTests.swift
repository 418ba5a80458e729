import Testing
@testable import Torch

/// Autograd gradients of every layer function the models use, against central finite differences
/// in float64.
@Suite struct GradientTests {
    @Test func conv2dPaddingStrideDilation() throws {
        let x = try float64Tensor([2, 3, 6, 7], seed: 1), w = try float64Tensor([4, 3, 3, 3], seed: 2)
        let b = try float64Tensor([4], seed: 3)
        try checkGradients([x, w, b]) { a in
            try Functional.conv2d(a[0], weight: a[1], bias: a[2], stride: 2, padding: 2, dilation: 2).square().sum()
        }
    }

    @Test func depthwiseConv2d() throws {
        let x = try float64Tensor([1, 4, 5, 5], seed: 4), w = try float64Tensor([4, 1, 3, 3], seed: 5)
        try checkGradients([x, w]) { a in
            try Functional.conv2d(a[0], weight: a[1], bias: nil, padding: 1, groups: 4).square().sum()
        }
    }

    @Test func convTranspose2d() throws {
        let x = try float64Tensor([1, 3, 4, 4], seed: 6), w = try float64Tensor([3, 2, 4, 4], seed: 7)
        let b = try float64Tensor([2], seed: 8)
        try checkGradients([x, w, b]) { a in
            try Functional.convTranspose2d(a[0], weight: a[1], bias: a[2], stride: 2, padding: 1).square().sum()
        }
    }

    @Test func reflectionPad() throws {
        let x = try float64Tensor([1, 2, 5, 6], seed: 9), weights = try float64Tensor([1, 2, 11, 12], seed: 10)
        try checkGradients([x]) { a in
            try (Functional.reflectionPad2d(a[0], (3, 3, 3, 3)) * weights).sum()
        }
    }

    @Test func batchNormTraining() throws {
        let x = try float64Tensor([4, 3, 3, 3], seed: 11), g = try float64Tensor([3], seed: 12), b = try float64Tensor([3], seed: 13)
        let weights = try float64Tensor([4, 3, 3, 3], seed: 14)
        try checkGradients([x, g, b]) { a in
            try (Functional.batchNorm(a[0], weight: a[1], bias: a[2], runningMean: nil, runningVar: nil, training: true) * weights).sum()
        }
    }

    @Test func activations() throws {
        let x = try float64Tensor([3, 5], seed: 15)
        try checkGradients([x]) { a in try a[0].leakyRelu(0.1).square().sum() }
        try checkGradients([x]) { a in try a[0].sigmoid().square().sum() }
        try checkGradients([x]) { a in try a[0].tanh().square().sum() }
        try checkGradients([x]) { a in try a[0].exp().sum() }
    }

    @Test func upsampling() throws {
        let x = try float64Tensor([1, 2, 3, 4], seed: 16)
        let weights = try float64Tensor([1, 2, 6, 8], seed: 17)
        try checkGradients([x]) { a in try (Functional.upsampleNearest(a[0], height: 6, width: 8) * weights).sum() }
        try checkGradients([x]) { a in try (Functional.upsampleBilinear(a[0], height: 6, width: 8) * weights).sum() }
    }

    @Test func mseLoss() throws {
        let x = try float64Tensor([2, 3, 4], seed: 18), y = try float64Tensor([2, 3, 4], seed: 19)
        try checkGradients([x, y]) { a in try Functional.mseLoss(a[0], a[1]) }
    }

    @Test func gaussianKLAndReparameterization() throws {
        // KL(N(mu, exp(logvar)) || N(0, 1)) summed, as the VAE loss uses it, and the sample path.
        let mu = try float64Tensor([2, 3, 4], seed: 20), logvar = try float64Tensor([2, 3, 4], seed: 21)
        let eps = try float64Tensor([2, 3, 4], seed: 22)
        try checkGradients([mu, logvar]) { a in
            let inner = try (a[1] + 1) - a[0].square() - a[1].exp()
            return try inner.sum() * -0.5
        }
        try checkGradients([mu, logvar]) { a in
            try (a[0] + eps * (a[1] * 0.5).exp()).square().sum()
        }
    }
}
