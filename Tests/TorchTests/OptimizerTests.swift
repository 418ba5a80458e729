import Foundation
import Testing
@testable import Torch

@Suite struct OptimizerTests {
    /// A small regression problem: loss = mean((x w - y)^2).
    private func loss(_ w: Tensor, _ x: Tensor, _ y: Tensor) throws -> Tensor {
        try (x.matmul(w) - y).square().mean()
    }

    private func problem() throws -> (Tensor, Tensor, Tensor) {
        let g = try RandomGenerator(seed: 7)
        return (try Tensor.randn([5, 3], generator: g), try Tensor.randn([8, 5], generator: g), try Tensor.randn([8, 3], generator: g))
    }

    @Test(arguments: [Optimizer.Kind.adam, .adamw])
    func resumeFromSavedStateIsExact(kind: Optimizer.Kind) throws {
        let (w0, x, y) = try problem()
        // Uninterrupted: 6 steps.
        let wA = try w0.clone().requiringGrad()
        let optA = try Optimizer(kind, parameters: [wA], learningRate: 0.05)
        for _ in 0..<6 {
            try optA.zeroGrad(); try loss(wA, x, y).backward(); try clipGradNorm([wA], maxNorm: 1); try optA.step()
        }
        // Interrupted after 3: save weights + optimizer state to a file, rebuild, load, continue.
        let wB = try w0.clone().requiringGrad()
        let optB = try Optimizer(kind, parameters: [wB], learningRate: 0.05)
        for _ in 0..<3 {
            try optB.zeroGrad(); try loss(wB, x, y).backward(); try clipGradNorm([wB], maxNorm: 1); try optB.step()
        }
        let url = try temporaryFolder().appendingPathComponent("state.safetensors")
        try SafeTensors.write([("w", wB)] + optB.stateTensors(), to: url)
        let file = try SafeTensors.read(url)
        let wC = try #require(file.tensors["w"]).requiringGrad()
        let optC = try Optimizer(kind, parameters: [wC], learningRate: 0.05)
        try optC.loadState(file.tensors)
        for _ in 0..<3 {
            try optC.zeroGrad(); try loss(wC, x, y).backward(); try clipGradNorm([wC], maxNorm: 1); try optC.step()
        }
        #expect(try wC.floats() == wA.floats())
    }

    /// Restored moments take the parameter's memory layout, as fresh ones do: a channels-last
    /// parameter with contiguous moments took another kernel path, and resumed runs drifted by ~1e-7.
    @Test func restoredStateKeepsAChannelsLastParametersLayoutAndTheRunExact() throws {
        let g = try RandomGenerator(seed: 3)
        let w0 = try Tensor.randn([8, 4, 3, 3], generator: g), x = try Tensor.randn([2, 4, 6, 6], generator: g)
        func step(_ w: Tensor, _ opt: Optimizer) throws {
            try opt.zeroGrad()
            try Functional.conv2d(x, weight: w, bias: nil, padding: 1).square().mean().backward()
            try opt.step()
        }
        let wA = try w0.clone().requiringGrad()
        try wA.setChannelsLast()
        let optA = try Optimizer(.adam, parameters: [wA], learningRate: 0.01)
        for _ in 0..<6 { try step(wA, optA) }
        let wB = try w0.clone().requiringGrad()
        try wB.setChannelsLast()
        let optB = try Optimizer(.adam, parameters: [wB], learningRate: 0.01)
        for _ in 0..<3 { try step(wB, optB) }
        let url = try temporaryFolder().appendingPathComponent("state.safetensors")
        try SafeTensors.write([("w", wB)] + optB.stateTensors(), to: url)
        let file = try SafeTensors.read(url)
        let wC = try w0.clone().requiringGrad()
        try wC.setChannelsLast()
        try noGrad { try wC.copyIn(#require(file.tensors["w"])) }
        let optC = try Optimizer(.adam, parameters: [wC], learningRate: 0.01)
        try optC.loadState(file.tensors)
        for (name, moment) in try optC.stateTensors() where moment.rank == 4 {
            #expect(moment.isChannelsLast, "\(name) lost the parameter's channels-last layout")
        }
        for _ in 0..<3 { try step(wC, optC) }
        #expect(try wC.floats() == wA.floats())
    }

    @Test func learningRateCanBeChanged() throws {
        let w = try Tensor.zeros([2]).requiringGrad()
        let opt = try Optimizer(.adam, parameters: [w], learningRate: 1e-3)
        #expect(opt.learningRate == 1e-3)
        try opt.setLearningRate(0.5)
        #expect(opt.learningRate == 0.5)
        // Adam's first step moves each coordinate by about lr.
        try (w - 1).square().sum().backward()
        try opt.step()
        #expect(try w.floats().allSatisfy { Swift.abs($0 - 0.5) < 1e-3 })
    }

    @Test func clippingScalesToTheMaximumNorm() throws {
        let w = try Tensor([3, 4], shape: [2]).requiringGrad()
        try (w.square().sum() * 0.5).backward()  // gradient = w = (3, 4), norm 5
        let norm = try clipGradNorm([w], maxNorm: 1)
        #expect(Swift.abs(norm - 5) < 1e-6)
        let g = try #require(w.grad).floats()
        #expect(Swift.abs(g[0] - 0.6) < 1e-5 && Swift.abs(g[1] - 0.8) < 1e-5)
    }

    @Test func schedulesArePureFunctionsOfTheEpoch() {
        let lab = LRSchedule.multiStep(milestones: [2, 5], gamma: 0.1)
        let rates = (0..<7).map { lab.learningRate(base: 1e-3, epoch: $0) }
        let expected = [1e-3, 1e-3, 1e-4, 1e-4, 1e-4, 1e-5, 1e-5]
        for (r, e) in zip(rates, expected) { #expect(Swift.abs(r - e) < 1e-12) }
        #expect(LRSchedule.constant.learningRate(base: 0.01, epoch: 50) == 0.01)
        let cosine = LRSchedule.cosine(totalEpochs: 10, warmupEpochs: 2, minFactor: 0.1)
        #expect(cosine.learningRate(base: 1, epoch: 0) == 0.5)
        #expect(cosine.learningRate(base: 1, epoch: 1) == 1.0)
        #expect(Swift.abs(cosine.learningRate(base: 1, epoch: 2) - 1.0) < 1e-12)
        #expect(Swift.abs(cosine.learningRate(base: 1, epoch: 6) - 0.55) < 1e-12)
        #expect(Swift.abs(cosine.learningRate(base: 1, epoch: 10) - 0.1) < 1e-12)
        let decreasing = (2...10).map { cosine.learningRate(base: 1, epoch: $0) }
        #expect(zip(decreasing, decreasing.dropFirst()).allSatisfy { $0 >= $1 })
    }
}
