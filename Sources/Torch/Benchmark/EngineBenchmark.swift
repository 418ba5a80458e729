import Foundation

/// Micro-benchmark of the engine itself: the cost of one tiny op call through the C shim, and one
/// training step of a small conv autoencoder. `reference/bench_engine.py` measures the same two
/// things in Python PyTorch so `Benchmarks/engine.sh` can print ratios from one run.
public enum EngineBenchmark {
    public struct Result: Sendable {
        public var opMicroseconds: Double
        public var convStepMilliseconds: Double
        public var threads: Int
    }

    /// Median of `repeats` timings of `body`, in seconds.
    public static func median(repeats: Int, _ body: () throws -> Void) rethrows -> Double {
        var times: [Double] = []
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        times.sort()
        return times[times.count / 2]
    }

    public static func run(repeats: Int = 7) throws -> Result {
        // Per-op overhead: 1000 additions of one-element tensors.
        let a = try Tensor([1], shape: [1]), b = try Tensor([2], shape: [1])
        let calls = 1000
        let opSeconds = try median(repeats: repeats) {
            for _ in 0..<calls { _ = try a + b }
        }
        // A 3-layer conv autoencoder step on 8x3x32x64 (as in the backend notes' measurement, ../shared/docs/backend.md).
        let g = try RandomGenerator(seed: 0)
        let net = Sequential(try Conv2d(3, 16, kernel: 3, padding: 1, generator: g), ReLU(),
                             try Conv2d(16, 16, kernel: 3, padding: 1, generator: g), ReLU(),
                             try Conv2d(16, 3, kernel: 3, padding: 1, generator: g))
        let optimizer = try Optimizer(.adam, parameters: net.parameters, learningRate: 1e-3)
        let x = try Tensor.rand([8, 3, 32, 64], generator: g)
        func step() throws {
            try optimizer.zeroGrad()
            let loss = try Functional.mseLoss(net(x), x)
            try loss.backward()
            try optimizer.step()
        }
        for _ in 0..<3 { try step() }  // warm-up (oneDNN primitive caches)
        let stepSeconds = try median(repeats: max(repeats, 10)) { try step() }
        return Result(opMicroseconds: opSeconds / Double(calls) * 1e6, convStepMilliseconds: stepSeconds * 1e3,
                      threads: Runtime.threads)
    }
}
