import Foundation
import Testing
@testable import Torch

/// Layer outputs, gradients and optimizer trajectories against values computed by PyTorch
/// (fixtures made by reference/make_engine_fixtures.py; the tensor names are documented there).
@Suite struct PyTorchFixtureTests {
    let f: [String: Tensor]

    init() throws {
        f = try SafeTensors.read(fixtureURL("layers.safetensors")).tensors
    }

    private func t(_ name: String) throws -> Tensor { try #require(f[name], "fixture tensor \(name) missing") }

    private func expectClose(_ actual: Tensor, _ name: String, tolerance: Float = 1e-5) throws {
        let expected = try t(name)
        #expect(actual.shape == expected.shape, "\(name): shape \(actual.shape) vs \(expected.shape)")
        let diff = maxAbsDifference(try actual.floats(), try expected.floats())
        #expect(diff < tolerance, "\(name): max difference \(diff)")
    }

    @Test func convolutions() throws {
        let x = try t("conv.input")
        try expectClose(Functional.conv2d(x, weight: t("conv.weight"), bias: t("conv.bias"), padding: 1), "conv.output")
        try expectClose(Functional.conv2d(x, weight: t("conv_sd.weight"), bias: t("conv_sd.bias"), stride: 2, padding: 2, dilation: 2),
                        "conv_sd.output")
        try expectClose(Functional.conv2d(x, weight: t("dw.weight"), bias: t("dw.bias"), padding: 1, groups: 4), "dw.output")
        try expectClose(Functional.convTranspose2d(x, weight: t("convT.weight"), bias: t("convT.bias"), stride: 2, padding: 1),
                        "convT.output")
    }

    @Test func convolutionModulesMatchTheFunctions() throws {
        let conv = try Conv2d(4, 6, kernel: 3, padding: 1)
        try conv.weight.copyIn(t("conv.weight")); try conv.bias!.copyIn(t("conv.bias"))
        try expectClose(conv(t("conv.input")), "conv.output")
        let convT = try ConvTranspose2d(4, 3, kernel: 4, stride: 2, padding: 1)
        try convT.weight.copyIn(t("convT.weight")); try convT.bias!.copyIn(t("convT.bias"))
        try expectClose(convT(t("conv.input")), "convT.output")
        try expectClose(ReflectionPad2d(3)(t("conv.input")), "reflect.output")
    }

    @Test func batchNormTrainAndEval() throws {
        let bn = try BatchNorm2d(4)
        try bn.weight.copyIn(t("bn.weight")); try bn.bias.copyIn(t("bn.bias"))
        try expectClose(bn(t("conv.input")), "bn.train_output")
        try expectClose(bn.running.mean, "bn.running_mean")
        try expectClose(bn.running.variance, "bn.running_var")
        bn.eval()
        try expectClose(bn(t("conv.input")), "bn.eval_output")
    }

    @Test func activationsAndUpsampling() throws {
        let x = try t("conv.input")
        try expectClose(LeakyReLU()(x), "act.leaky001")
        try expectClose(LeakyReLU(slope: 0.1)(x), "act.leaky01")
        try expectClose(Sigmoid()(x), "act.sigmoid")
        try expectClose(Tanh()(x), "act.tanh")
        try expectClose(ReLU()(x), "act.relu")
        try expectClose(Upsample(factor: 2)(x), "up.nearest")
        try expectClose(Upsample(factor: 2, mode: .bilinear)(x), "up.bilinear")
        try expectClose(Functional.upsampleBilinear(x, height: 12, width: 16, alignCorners: true), "up.bilinear_ac")
    }

    @Test func convStackOutputLossAndGradients() throws {
        let x = try t("conv.input").clone().requiringGrad()
        let c1 = try Conv2d(4, 8, kernel: 3, padding: 1)
        let dw = try Conv2d(8, 8, kernel: 3, padding: 1, groups: 8)
        let c2 = try Conv2d(8, 3, kernel: 1)
        for (name, layer) in [("c1", c1), ("dw", dw), ("c2", c2)] {
            try layer.weight.copyIn(t("stack.\(name).weight"))
            try layer.bias!.copyIn(t("stack.\(name).bias"))
        }
        let stack = Sequential(c1, LeakyReLU(), dw, c2, Sigmoid())
        let output = try stack(x)
        try expectClose(output, "stack.output")
        let loss = try output.square().mean()
        try expectClose(loss, "stack.loss")
        try loss.backward()
        for (name, layer) in [("c1", c1), ("dw", dw), ("c2", c2)] {
            try expectClose(#require(layer.weight.grad), "stack.grad.\(name).weight", tolerance: 1e-6)
            try expectClose(#require(layer.bias!.grad), "stack.grad.\(name).bias", tolerance: 1e-6)
        }
        try expectClose(#require(x.grad), "stack.grad.input", tolerance: 1e-6)
    }

    @Test(arguments: [("adam", Optimizer.Kind.adam, true), ("adamw", .adamw, true), ("adam_noclip", .adam, false)])
    func optimizerTrajectoryMatchesPyTorch(prefix: String, kind: Optimizer.Kind, clip: Bool) throws {
        let a = try SafeTensors.read(fixtureURL("adam.safetensors")).tensors
        let x = try #require(a["adam.x"]), y = try #require(a["adam.y"])
        let w = try #require(a["adam.w0"]).clone().requiringGrad()
        let trajectory = try #require(a["\(prefix).trajectory"]).floats()
        let losses = try #require(a["\(prefix).losses"]).floats()
        let optimizer = try Optimizer(kind, parameters: [w], learningRate: 0.1, weightDecay: kind == .adamw ? 0.01 : 0)
        for step in 0..<10 {
            try optimizer.zeroGrad()
            let loss = try (x.matmul(w) - y).square().mean()
            #expect(Swift.abs(try loss.float() - losses[step]) < 1e-5, "\(prefix) loss at step \(step)")
            try loss.backward()
            if clip { try clipGradNorm([w], maxNorm: 1) }
            try optimizer.step()
            let expected = Array(trajectory[(step * 15)..<((step + 1) * 15)])
            let diff = maxAbsDifference(try w.floats(), expected)
            #expect(diff < 1e-5, "\(prefix) weights after step \(step + 1): max difference \(diff)")
        }
    }
}
