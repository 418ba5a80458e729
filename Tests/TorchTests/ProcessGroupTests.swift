import Foundation
import Testing
@testable import Torch

/// Runs `body` as `world` ranks of one job on threads of this process (c10d's TCPStore and gloo
/// over loopback, exactly as separate processes use them); returns each rank's result.
func withRanks<T: Sendable>(_ world: Int, timeout: Double = 30, _ body: @escaping @Sendable (ProcessGroup) throws -> T) throws -> [T] {
    let port = try ProcessGroup.freePort()
    let results = RankResults<T>(world)
    let done = DispatchGroup()
    for rank in 0..<world {
        done.enter()
        let thread = Thread {
            defer { done.leave() }
            results.set(rank, Result {
                let group = try ProcessGroup(host: "127.0.0.1", port: port, rank: rank, worldSize: world, timeoutSeconds: timeout)
                return try body(group)
            })
        }
        thread.stackSize = 8 << 20
        thread.start()
    }
    done.wait()
    return try results.all.map { try $0!.get() }
}

final class RankResults<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Result<T, Error>?]
    init(_ count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ rank: Int, _ value: Result<T, Error>) { lock.lock(); values[rank] = value; lock.unlock() }
    var all: [Result<T, Error>?] { lock.lock(); defer { lock.unlock() }; return values }
}

@Suite("Process groups: PyTorch's c10d (TCPStore, gloo) through the shim, ranks on threads")
struct ProcessGroupTests {
    @Test func allReduceSumsAndBroadcastCopiesRootsValues() throws {
        let results = try withRanks(3) { group -> ([Float], [Float], [Double], [Float]) in
            let r = Float(group.rank)
            let sum = try Tensor([1 + r, 10 * r, -r])
            try group.allReduceSum([sum])
            let bf16 = try Tensor([0.5 + r, 2]).to(.bfloat16)
            try group.allReduceSum([bf16])
            let numbers = try group.broadcast([Double(group.rank) + 0.25, 7], from: 1)
            let fromRoot = try Tensor([r, r * 2])
            try group.broadcast([fromRoot], from: 2)
            return (try sum.floats(), try bf16.to(.float32).floats(), numbers, try fromRoot.floats())
        }
        for (sum, bf16, numbers, fromRoot) in results {
            #expect(sum == [6, 30, -3])
            #expect(bf16 == [4.5, 6])
            #expect(numbers == [1.25, 7])
            #expect(fromRoot == [2, 4])
        }
    }

    /// Gradients packed into several small buckets come back summed into every parameter; a
    /// parameter with a gradient on one rank only gets one (zeros elsewhere) on every rank, one
    /// without a gradient anywhere stays without.
    @Test func gradientsAreSummedInBuckets() throws {
        let results = try withRanks(2) { group -> ([[Float]], Bool, Int) in
            let r = Double(group.rank + 1)
            let a = try Tensor([1, 2, 3]).requiringGrad(), b = try Tensor([1, 1, 1, 1], shape: [2, 2]).requiringGrad()
            let c = try Tensor([5]).requiringGrad(), unused = try Tensor([9]).requiringGrad()
            var loss = try (a * r).sum() + (b * (2 * r)).sum()
            if group.rank == 1 { loss = try loss + (c * 3).sum() }
            try loss.backward()
            let buckets = try group.allReduceGradients([a, b, c, unused], bucketBytes: 8)
            return ([try a.grad!.floats(), try b.grad!.floats(), try c.grad?.floats() ?? []], unused.grad == nil, buckets)
        }
        for (grads, unusedHasNone, buckets) in results {
            #expect(grads[0] == [3, 3, 3])     // 1 + 2
            #expect(grads[1] == [6, 6, 6, 6])  // 2 + 4
            #expect(grads[2] == [3])           // rank 1's only
            #expect(unusedHasNone)
            #expect(buckets >= 2, "8-byte buckets: the 3 gradients cannot share one")
        }
    }

    /// SyncBatchNorm over 2 ranks equals BatchNorm over the whole batch: outputs, the gradients of
    /// each rank's inputs, the summed gradients of weight and bias, and the running statistics.
    @Test func synchronisedBatchNormEqualsOneBatchNormOverTheGlobalBatch() throws {
        let (n, c, h, w) = (4, 3, 5, 6)
        let values = randomDoubles(n * c * h * w, seed: 11).map { Float($0 * 2 + 0.5) }
        let weights = randomDoubles(n * c * h * w, seed: 12).map(Float.init)
        func reference() throws -> (y: [Float], dx: [Float], dw: [Float], db: [Float], mean: [Float], variance: [Float]) {
            let norm = try BatchNorm2d(c)
            try norm.weight.copyIn(try Tensor([1.5, 0.5, 2]))
            let x = try Tensor(values, shape: [n, c, h, w]).requiringGrad()
            let y = try norm(x)
            try (y * Tensor(weights, shape: [n, c, h, w])).sum().backward()
            return (try y.floats(), try x.grad!.floats(), try norm.weight.grad!.floats(), try norm.bias.grad!.floats(),
                    try norm.running.mean.floats(), try norm.running.variance.floats())
        }
        let whole = try reference()
        let half = values.count / 2
        let ranks = try withRanks(2) { group -> ([Float], [Float], [Float], [Float], [Float], [Float]) in
            let norm = try BatchNorm2d(c)
            try norm.weight.copyIn(try Tensor([1.5, 0.5, 2]))
            norm.synchronisation = group
            let rows = group.rank * half..<(group.rank + 1) * half
            let x = try Tensor(Array(values[rows]), shape: [n / 2, c, h, w]).requiringGrad()
            let y = try norm(x)
            try (y * Tensor(Array(weights[rows]), shape: [n / 2, c, h, w])).sum().backward()
            try group.allReduceGradients([norm.weight, norm.bias])
            return (try y.floats(), try x.grad!.floats(), try norm.weight.grad!.floats(), try norm.bias.grad!.floats(),
                    try norm.running.mean.floats(), try norm.running.variance.floats())
        }
        #expect(maxAbsDifference(ranks[0].0 + ranks[1].0, whole.y) < 1e-4)
        #expect(maxAbsDifference(ranks[0].1 + ranks[1].1, whole.dx) < 1e-4)
        for rank in ranks {
            #expect(maxAbsDifference(rank.2, whole.dw) < 1e-3)
            #expect(maxAbsDifference(rank.3, whole.db) < 1e-3)
            #expect(maxAbsDifference(rank.4, whole.mean) < 1e-5)
            #expect(maxAbsDifference(rank.5, whole.variance) < 1e-5)
        }
    }

    /// A rank whose peers never come fails after the timeout instead of waiting for ever.
    @Test func aJobWhosePeersNeverComeFailsAfterTheTimeout() throws {
        let port = try ProcessGroup.freePort()
        let start = Date()
        #expect(throws: TorchError.self) {
            _ = try ProcessGroup(host: "127.0.0.1", port: port, rank: 0, worldSize: 2, timeoutSeconds: 2)
        }
        #expect(Date().timeIntervalSince(start) < 30)
    }

    @Test func ranksOutsideTheJobAreRefused() throws {
        #expect(throws: TorchError.self) { _ = try ProcessGroup(host: "127.0.0.1", port: 29500, rank: 2, worldSize: 2, timeoutSeconds: 1) }
        #expect(throws: TorchError.self) { _ = try ProcessGroup(host: "127.0.0.1", port: 70000, rank: 0, worldSize: 2, timeoutSeconds: 1) }
    }
}
