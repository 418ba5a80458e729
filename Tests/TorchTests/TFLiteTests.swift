import Foundation
import Testing
@testable import Torch

/// BlazePose's models, as scripts/setup.sh extracts them from mediapipe's wheel.
private func poseModel(_ name: String) throws -> URL {
    let url = repositoryRoot.appendingPathComponent(".deps/models/\(name)")
    try #require(FileManager.default.fileExists(atPath: url.path), "\(url.path) is missing: run scripts/setup.sh (make test does)")
    return url
}

/// reference/make_pose_fixtures.py's input: x[0, h, w, c] = ((h * 31 + w * 17 + c * 7) % 97) / 96, NHWC.
private func formulaInput(_ size: Int) throws -> Tensor {
    var values: [Float] = []
    values.reserveCapacity(size * size * 3)
    for h in 0..<size { for w in 0..<size { for c in 0..<3 { values.append(Float((h * 31 + w * 17 + c * 7) % 97) / 96) } } }
    return try Tensor(values, shape: [1, size, size, 3])
}

/// Every `step`-th row and column of an NHWC tensor, as the fixture keeps them.
private func sampled(_ t: Tensor, every step: Int) throws -> Tensor {
    let s = t.shape
    let rows = try t.indexSelect(dim: 1, indices: Array(stride(from: 0, to: s[1], by: step)))
    return try rows.indexSelect(dim: 2, indices: Array(stride(from: 0, to: s[2], by: step)))
}

@Suite("TFLite models on libtorch: BlazePose against TFLite's own interpreter")
struct TFLiteTests {
    static let fixtures = Result { try SafeTensors.read(fixtureURL("blazepose.safetensors")).tensors }

    /// Every output within 2e-4 of its largest value (TFLite's XNNPACK and libtorch sum in other
    /// orders; measured: up to 5e-5): the detector (sparse fp16 weights: DENSIFY,
    /// DEQUANTIZE; DEPTH_TO_SPACE, RESIZE_BILINEAR, CONCATENATION, RESHAPE) and the landmark model
    /// (MAX_POOL_2D, LOGISTIC, five outputs).
    @Test(arguments: [("pose_detection.tflite", 224, ["detector.0", "detector.1"], [1, 1]),
                      ("pose_landmark_full.tflite", 256, ["landmark.0", "landmark.1", "landmark.2.every16", "landmark.3.every8", "landmark.4"], [1, 1, 16, 8, 1])])
    func outputsMatchTFLite(model: String, size: Int, keys: [String], sampling: [Int]) throws {
        let fixtures = try Self.fixtures.get()
        let graph = try TFLiteGraph(contentsOf: try poseModel(model))
        let outputs = try graph([try formulaInput(size)])
        #expect(outputs.count == keys.count)
        for (index, key) in keys.enumerated() {
            var output = outputs[index]
            if sampling[index] > 1 { output = try sampled(output, every: sampling[index]) }
            let expected = try #require(fixtures[key])
            #expect(output.shape == expected.shape, "\(key)")
            let scale = try expected.abs().max().item()
            let difference = maxAbsDifference(try output.floats(), try expected.floats())
            #expect(Double(difference) <= 2e-4 * scale + 1e-5, "\(key): largest difference \(difference), largest value \(scale)")
        }
    }

    @Test func aWrongInputSizeIsRefusedNamingTheExpectedShape() throws {
        let graph = try TFLiteGraph(contentsOf: try poseModel("pose_detection.tflite"))
        #expect {
            _ = try graph([try Tensor.zeros([1, 100, 100, 3])])
        } throws: { error in
            "\(error)".contains("[1, 224, 224, 3]")
        }
    }

    /// A cut, a damaged identifier or flipped bytes are refused with the file's name, never a crash.
    @Test func damagedModelsAreRefusedNamingTheFile() throws {
        let bytes = [UInt8](try Data(contentsOf: try poseModel("pose_detection.tflite")))
        var notTFLite = bytes
        notTFLite[4] = UInt8(ascii: "X")
        var damagedRoot = bytes
        for i in 0..<4 { damagedRoot[i] = 0xFF }
        for (label, damaged) in [("cut", Array(bytes.prefix(5000))), ("identifier", notTFLite), ("root offset", damagedRoot), ("empty", [])] {
            #expect(throws: TorchError.self, "\(label)") {
                _ = try TFLiteModel(bytes: damaged, source: "model.tflite")
            }
            do { _ = try TFLiteModel(bytes: damaged, source: "model.tflite") } catch { #expect("\(error)".contains("model.tflite"), "\(label): \(error)") }
        }
        // Seeded byte flips anywhere: each model either reads or is refused.
        var state: UInt64 = 7
        for _ in 0..<16 {
            var mutated = bytes
            for _ in 0..<8 {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                mutated[Int(state >> 33) % mutated.count] ^= UInt8(truncatingIfNeeded: state >> 20) | 1
            }
            if let model = try? TFLiteModel(bytes: mutated, source: "mutated.tflite") { _ = try? TFLiteGraph(model: model) }
        }
    }
}
