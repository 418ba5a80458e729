import Foundation
import Testing
@testable import Torch

/// A small model with nested modules, an optional child, an array and a BatchNorm.
private final class TinyBlock: Module {
    let conv1: Conv2d
    let depthConv: Conv2d
    let skip: Conv2d?
    init(_ c: Int, _ out: Int) throws {
        conv1 = try Conv2d(c, out, kernel: 3, padding: 1)
        depthConv = try Conv2d(out, out, kernel: 3, padding: 1, groups: out)
        skip = c == out ? nil : try Conv2d(c, out, kernel: 1)
    }
    override func forward(_ x: Tensor) throws -> Tensor {
        let y = try depthConv(conv1(x).leakyRelu())
        return try y + (skip?(x) ?? x)
    }
}

private final class TinyNet: Module {
    let stem: Sequential
    let blocks: [TinyBlock]
    let norm: BatchNorm2d
    override init() {
        // Layer constructors only throw on invalid channel counts, fixed here.
        stem = Sequential(ReflectionPad2d(1), try! Conv2d(3, 4, kernel: 3), LeakyReLU())
        blocks = [try! TinyBlock(4, 4), try! TinyBlock(4, 6)]
        norm = try! BatchNorm2d(6)
    }
    override func forward(_ x: Tensor) throws -> Tensor {
        var y = try stem(x)
        for block in blocks { y = try block(y) }
        return try norm(y)
    }
}

@Suite struct ModuleTests {
    @Test func dottedNamesFollowPyTorch() throws {
        let net = try TinyNet()
        let names = net.stateDict().map(\.0)
        #expect(names == [
            "stem.1.weight", "stem.1.bias",
            "blocks.0.conv1.weight", "blocks.0.conv1.bias", "blocks.0.depth_conv.weight", "blocks.0.depth_conv.bias",
            "blocks.1.conv1.weight", "blocks.1.conv1.bias", "blocks.1.depth_conv.weight", "blocks.1.depth_conv.bias",
            "blocks.1.skip.weight", "blocks.1.skip.bias",
            "norm.weight", "norm.bias", "norm.running_mean", "norm.running_var", "norm.num_batches_tracked",
        ])
        #expect(net.namedParameters().count == 14)
        // stem 3*4*9+4, block0 (4*4*9+4) + (4*9+4), block1 (4*6*9+6) + (6*9+6) + (4*6+6), norm 6+6
        #expect(net.parameterCount == 112 + 188 + 312 + 12)
    }

    @Test func defaultInitialisationBounds() throws {
        let conv = try Conv2d(8, 16, kernel: 3)
        let bound = 1 / Float(72).squareRoot()
        let w = try conv.weight.floats()
        #expect(w.allSatisfy { Swift.abs($0) <= bound })
        #expect(w.max()! > bound * 0.8 && w.min()! < -bound * 0.8, "uniform over the whole range")
        #expect(conv.weight.requiresGrad)
        let bn = try BatchNorm2d(4)
        #expect(try bn.weight.floats() == [1, 1, 1, 1])
        #expect(try bn.running.variance.floats() == [1, 1, 1, 1])
    }

    @Test func boundInitialisationGeneratorIgnoresGlobalDraws() throws {
        func weights(_ net: TinyNet) throws -> [[Float]] { try net.stateDict().map { try $1.floats() } }
        func built(seed: UInt64) throws -> [[Float]] {
            try RandomGenerator.initialising(seed: seed) {
                _ = try Tensor.rand([64])  // a draw from the global generator, as another thread might make
                return try weights(TinyNet())
            }
        }
        let first = try built(seed: 7)
        Runtime.seed(123)
        #expect(try built(seed: 7) == first, "same seed, same weights whatever the global generator did")
        #expect(try built(seed: 8) != first, "the bound generator's seed decides the weights")
        // An explicitly passed generator takes precedence over the bound one.
        let explicit = try Conv2d(3, 4, kernel: 3, generator: RandomGenerator(seed: 7)).weight.floats()
        let insideBinding = try RandomGenerator.$initialisation.withValue(try RandomGenerator(seed: 9)) {
            try Conv2d(3, 4, kernel: 3, generator: RandomGenerator(seed: 7)).weight.floats()
        }
        #expect(insideBinding == explicit)
        #expect(RandomGenerator.initialisation == nil, "the binding ends with its block")
    }

    @Test func trainAndEvalModesReachEveryChild() throws {
        let net = try TinyNet()
        net.eval()
        #expect(!net.norm.isTraining && !net.blocks[1].conv1.isTraining)
        net.train()
        #expect(net.norm.isTraining)
    }

    @Test func batchNormTracksRunningStatisticsOnlyInTraining() throws {
        let bn = try BatchNorm2d(2)
        let x = try Tensor.randn([4, 2, 3, 3], generator: RandomGenerator(seed: 3))
        _ = try bn(x)
        let mean = try bn.running.mean.floats()
        #expect(mean != [0, 0])
        #expect(try bn.running.batchesTracked.item() == 1)
        bn.eval()
        _ = try bn(x)
        #expect(try bn.running.mean.floats() == mean)
    }

    @Test func saveAndLoadRoundTrip() throws {
        let folder = try temporaryFolder()
        let a = try TinyNet(), b = try TinyNet()
        _ = try a(Tensor.randn([2, 3, 5, 5], generator: RandomGenerator(seed: 1)))  // move BN stats
        let url = folder.appendingPathComponent("net.safetensors")
        try a.save(to: url)
        try b.load(from: url)
        for ((name, x), (_, y)) in zip(a.stateDict(), b.stateDict()) {
            #expect(try x.floats() == y.floats(), "\(name) differs after loading")
        }
        a.eval(); b.eval()
        let input = try Tensor.randn([1, 3, 5, 5], generator: RandomGenerator(seed: 2))
        #expect(try a(input).floats() == b(input).floats())
    }

    @Test func strictLoadingNamesMissingExtraAndMisshapenTensors() throws {
        let net = try TinyNet()
        var state = Dictionary(uniqueKeysWithValues: net.stateDict())
        state["blocks.0.conv1.bias"] = nil
        state["blocks.9.extra"] = try Tensor.zeros([1])
        state["norm.weight"] = try Tensor.zeros([7])
        do {
            try net.load(stateDict: state)
            Issue.record("loading a mismatched state dict should fail")
        } catch let error as TorchError {
            #expect(error.message.contains("missing: blocks.0.conv1.bias"))
            #expect(error.message.contains("unexpected: blocks.9.extra"))
            #expect(error.message.contains("norm.weight: checkpoint has shape [7], model expects [6]"))
        }
    }

    @Test func unreadableCheckpointIsAClearError() throws {
        let folder = try temporaryFolder()
        let url = folder.appendingPathComponent("broken.safetensors")
        try Data("not a checkpoint".utf8).write(to: url)
        do {
            try TinyNet().load(from: url)
            Issue.record("a corrupt file should not load")
        } catch let error as TorchError {
            #expect(error.message.contains("broken.safetensors"))
            #expect(error.message.contains("not a readable safetensors file"))
        }
        #expect(throws: TorchError.self) { try TinyNet().load(from: folder.appendingPathComponent("absent.safetensors")) }
    }
}

@Suite struct FlopCounterTests {
    @Test func countsThisThreadsConvolutionsOnly() throws {
        let conv = try Conv2d(4, 8, kernel: 3, padding: 1)
        let x = try Tensor.rand([2, 4, 5, 6], generator: RandomGenerator(seed: 1))
        let done = DispatchSemaphore(value: 0)
        let flops = try FlopCounter.count {
            // A convolution on another thread meanwhile (tests run in parallel) must not count.
            let work = UncheckedBox(value: (conv, x))  // the test waits for the thread: no overlap
            let other = Thread { _ = try? work.value.0(work.value.1); done.signal() }
            other.start()
            done.wait()
            _ = try conv(x)
        }
        // 2 FLOPs per multiply-add: output 2*8*5*6 values, 4*3*3 multiply-adds each.
        #expect(flops == 2 * Double(2 * 8 * 5 * 6) * Double(4 * 3 * 3))
    }
}

private struct UncheckedBox<T>: @unchecked Sendable { let value: T }
