import Foundation
import Testing
@testable import Torch

/// The repository root (three levels above this file).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

func fixtureURL(_ name: String) -> URL {
    repositoryRoot.appendingPathComponent("Tests/TorchTests/Fixtures/\(name)")
}

func temporaryFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("torch-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Largest absolute difference between two equally long arrays.
func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "lengths differ: \(a.count) vs \(b.count)")
    return zip(a, b).map { Swift.abs($0 - $1) }.max() ?? 0
}

func maxAbsDifference(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "lengths differ: \(a.count) vs \(b.count)")
    return zip(a, b).map { Swift.abs($0 - $1) }.max() ?? 0
}

/// Deterministic float64 test data.
func randomDoubles(_ count: Int, seed: UInt64) -> [Double] {
    var state = seed &+ 0x9E37_79B9_7F4A_7C15
    return (0..<count).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Double(state >> 11) / Double(1 << 53) * 2 - 1
    }
}

/// Checks autograd's gradient of `function` (a scalar) with respect to each input against central
/// finite differences, in float64, at up to `samples` elements per input.
func checkGradients(_ inputs: [Tensor], samples: Int = 12, step: Double = 1e-6, tolerance: Double = 1e-6,
                    _ function: ([Tensor]) throws -> Tensor) throws {
    for input in inputs { try input.requiringGrad(true) }
    let output = try function(inputs)
    let analytic = try gradients(of: [output], withRespectTo: inputs)
    for (index, input) in inputs.enumerated() {
        let base = try input.doubles()
        let shape = input.shape
        let grad = try #require(analytic[index], "input \(index) got no gradient").doubles()
        let stride = Swift.max(1, base.count / samples)
        for element in Swift.stride(from: 0, to: base.count, by: stride) {
            func value(at shift: Double) throws -> Double {
                var moved = base
                moved[element] += shift
                var args = inputs
                args[index] = try Tensor(float64: moved, shape: shape)
                return try noGrad { try function(args).item() }
            }
            let numeric = (try value(at: step) - value(at: -step)) / (2 * step)
            let scale = Swift.max(1, Swift.abs(numeric))
            #expect(Swift.abs(numeric - grad[element]) / scale < tolerance,
                    "input \(index) element \(element): autograd \(grad[element]) vs finite difference \(numeric)")
        }
    }
}

func float64Tensor(_ shape: [Int], seed: UInt64) throws -> Tensor {
    try Tensor(float64: randomDoubles(shape.reduce(1, *), seed: seed), shape: shape)
}
