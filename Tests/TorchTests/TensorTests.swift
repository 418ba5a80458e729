import Testing
@testable import Torch

@Suite struct TensorTests {
    @Test func roundTripsValuesAndShape() throws {
        let t = try Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        #expect(t.shape == [2, 3])
        #expect(t.dtype == .float32)
        #expect(t.device == .cpu)
        #expect(try t.floats() == [1, 2, 3, 4, 5, 6])
        #expect(try t.to(.float64).doubles() == [1, 2, 3, 4, 5, 6])
    }

    @Test func broadcastingArithmetic() throws {
        let a = try Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        let row = try Tensor([10, 20, 30], shape: [3])
        #expect(try (a + row).floats() == [11, 22, 33, 14, 25, 36])
        #expect(try (a * row).floats() == [10, 40, 90, 40, 100, 180])
        #expect(try (a - 1).floats() == [0, 1, 2, 3, 4, 5])
        #expect(try (a / 2).floats() == [0.5, 1, 1.5, 2, 2.5, 3])
        #expect(try a.rsub(1).floats() == [0, -1, -2, -3, -4, -5])
        #expect(try (-a).floats() == [-1, -2, -3, -4, -5, -6])
        #expect(try a.pow(2).floats() == [1, 4, 9, 16, 25, 36])
    }

    @Test func shapeMismatchErrorNamesBothShapes() throws {
        let a = try Tensor.zeros([2, 3]), b = try Tensor.zeros([4])
        do {
            _ = try a + b
            Issue.record("adding shapes [2, 3] and [4] should fail")
        } catch let error as TorchError {
            #expect(error.message.contains("add"))
            #expect(error.message.contains("3") && error.message.contains("4"), "message: \(error.message)")
        }
    }

    @Test func badCountIsAnError() throws {
        #expect(throws: TorchError.self) { try Tensor([1, 2, 3], shape: [2, 2]) }
    }

    @Test func convolutionShapeErrorCarriesShapes() throws {
        let x = try Tensor.zeros([1, 3, 8, 8]), w = try Tensor.zeros([4, 5, 3, 3])
        do {
            _ = try Functional.conv2d(x, weight: w, bias: nil)
            Issue.record("conv2d with 3 input channels and a 5-channel weight should fail")
        } catch let error as TorchError {
            #expect(error.message.contains("[4, 5, 3, 3]") || error.message.contains("4, 5, 3, 3"), "message: \(error.message)")
        }
    }

    @Test func reductions() throws {
        let a = try Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        #expect(try a.sum().item() == 21)
        #expect(try a.mean().item() == 3.5)
        #expect(try a.sum(dims: [1]).floats() == [6, 15])
        #expect(try a.mean(dims: [0], keepDims: true).shape == [1, 3])
        #expect(try a.max().item() == 6)
        #expect(try a.min().item() == 1)
    }

    @Test func reshapePermuteCatSplitChunk() throws {
        let a = try Tensor((0..<24).map(Float.init), shape: [2, 3, 4])
        #expect(try a.reshaped([6, -1]).shape == [6, 4])
        let p = try a.permuted([2, 0, 1])
        #expect(p.shape == [4, 2, 3])
        #expect(try p.contiguous().floats()[0..<6] == [0, 4, 8, 12, 16, 20])
        let c = try Tensor.cat([a, a], dim: 1)
        #expect(c.shape == [2, 6, 4])
        let parts = try a.split(sizes: [1, 2], dim: 1)
        #expect(parts.map(\.shape) == [[2, 1, 4], [2, 2, 4]])
        let halves = try a.chunk(2, dim: 2)
        #expect(try halves[1].contiguous().floats()[0..<2] == [2, 3])
        #expect(try Tensor.stack([a, a], dim: 0).shape == [2, 2, 3, 4])
    }

    @Test func timeStepIndexing() throws {
        // (B, T, C) = (2, 3, 2): step t of every batch item.
        let a = try Tensor((0..<12).map(Float.init), shape: [2, 3, 2])
        #expect(try a.select(dim: 1, index: 2).floats() == [4, 5, 10, 11])
        #expect(try a.narrow(dim: 1, start: 1, length: 2).shape == [2, 2, 2])
        #expect(try a.indexSelect(dim: 1, indices: [2, 0]).contiguous().floats() == [4, 5, 0, 1, 10, 11, 6, 7])
    }

    @Test func elementwiseFunctions() throws {
        let a = try Tensor([-2, 0, 1], shape: [3])
        #expect(try a.clamped(-1, 0.5).floats() == [-1, 0, 0.5])
        #expect(try a.relu().floats() == [0, 0, 1])
        #expect(try a.leakyRelu(0.1).floats() == [-0.2, 0, 1])
        #expect(try a.exp().log().floats().enumerated().allSatisfy { Swift.abs($0.element - [-2, 0, 1][$0.offset]) < 1e-6 })
        #expect(try a.abs().floats() == [2, 0, 1])
        let bad = try Tensor([1, .nan, .infinity], shape: [3])
        #expect(try !bad.allFinite())
        #expect(try a.allFinite())
        #expect(try bad.nanToNum(0.5, posinf: 1, neginf: 0).floats() == [1, 0.5, 1])
    }

    @Test func seededGeneratorsAreReproducible() throws {
        let g1 = try RandomGenerator(seed: 42), g2 = try RandomGenerator(seed: 42), g3 = try RandomGenerator(seed: 43)
        let a = try Tensor.randn([100], generator: g1).floats()
        let b = try Tensor.randn([100], generator: g2).floats()
        let c = try Tensor.randn([100], generator: g3).floats()
        #expect(a == b)
        #expect(a != c)
        // Saving and restoring the state replays the same draws (exact resume).
        let state = try g1.state()
        let next = try Tensor.randn([10], generator: g1).floats()
        try g1.setState(state)
        #expect(try Tensor.randn([10], generator: g1).floats() == next)
    }

    @Test func backwardAccumulatesGradients() throws {
        let x = try Tensor([1, 2, 3], shape: [3]).requiringGrad()
        let y = try (x * x).sum()
        try y.backward()
        #expect(try #require(x.grad).floats() == [2, 4, 6])
        try x.clearGrad()
        #expect(x.grad == nil)
    }

    @Test func noGradRecordsNothing() throws {
        let x = try Tensor([1, 2], shape: [2]).requiringGrad()
        let y = try noGrad { try x * 2 }
        #expect(!y.requiresGrad)
        let z = try x * 2
        #expect(z.requiresGrad)
        let w = try inferenceMode { try x * 3 }
        #expect(!w.requiresGrad)
    }

    @Test func autocastStateIsVisibleInsideOnly() throws {
        #expect(!Runtime.isAutocastEnabled())
        let inside = try autocast { Runtime.isAutocastEnabled() }
        #expect(inside)
        #expect(try autocast(enabled: false) { Runtime.isAutocastEnabled() } == false)
        #expect(!Runtime.isAutocastEnabled(), "autocast is off again after the block")
        // Its own generator: suites run in parallel, and the global one seeds other tests' models.
        let g = try RandomGenerator(seed: 2)
        let conv = try Conv2d(3, 4, kernel: 3, padding: 1, generator: g)
        let x = try Tensor.rand([1, 3, 8, 8], generator: g)
        #expect(try autocast { try conv(x).dtype } == .bfloat16, "convolutions run in bfloat16 under autocast")
        #expect(try conv(x).dtype == .float32)
        // Suspended for one block, autocast resumes after it; a float32 output head sees float32.
        let (suspended, resumed) = try autocast { (try withoutAutocast { try conv(x).dtype }, try conv(x).dtype) }
        #expect(suspended == .float32 && resumed == .bfloat16)
        let head = Sequential(try Conv2d(3, 4, kernel: 3, padding: 1, generator: g), try Conv2d(4, 2, kernel: 1, generator: g))
        #expect(try autocast { try head.forwardWithFloat32Output(x).dtype } == .float32)
        #expect(try autocast { try head(x).dtype } == .bfloat16)
        let exact = try head.forwardWithFloat32Output(x), mixed = try autocast { try head.forwardWithFloat32Output(x) }
        #expect(try (exact - mixed).abs().max().item() < 0.05, "only the first layer's bfloat16 rounding")
    }

    @Test func threadsCanBeSet() throws {
        let before = Runtime.threads
        Runtime.threads = 1
        #expect(Runtime.threads == 1)
        Runtime.threads = before
        #expect(Runtime.threads == before)
        #expect(Runtime.version.hasPrefix("2.") || Runtime.version.hasPrefix("1."))
    }

    @Test func channelsLastKeepsValues() throws {
        let x = try Tensor.randn([2, 3, 4, 5], generator: RandomGenerator(seed: 1))
        let y = try x.channelsLast()
        #expect(!y.isContiguous)
        #expect(y.isChannelsLast && !x.isChannelsLast)
        #expect(try y.floats() == x.floats())
    }
}
