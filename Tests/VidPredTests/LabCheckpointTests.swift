import Foundation
import Testing
import Torch
@testable import VidPred

/// The lab's `.ckpt` files (PyTorch's torch.save zip format) read and written by VidPred, checked
/// against PyTorch both ways: fixtures made by `reference/lab_ckpt.py make-fixture` (PyTorch
/// writes, VidPred reads and generates) and `reference/lab_ckpt.py check-export` run in
/// .deps/pyenv (VidPred writes, PyTorch loads it as the lab's Tester.py does and generates).
@Suite struct LabCheckpointTests {
    let fixtures = repositoryRoot.appendingPathComponent("Tests/VidPredTests/Fixtures")

    private func maxDifference(_ a: Tensor, _ b: Tensor) throws -> Double { try (a - b).abs().max().item() }

    /// Frames 0..T-1 of `model` fed its own predictions with z_t = eps[t-1], in eval mode.
    private func rollout(_ model: any VideoModel, _ io: [String: Tensor]) throws -> Tensor {
        let eps = try #require(io["eps"])
        return try model.generate(firstFrame: #require(io["first"]), labels: #require(io["labels"]), latent: .standardNormal,
                                  noise: { try eps.select(dim: 0, index: $0 - 1) }, onFrame: { _ in })
    }

    @Test func aCheckpointWrittenByPyTorchGeneratesPyTorchsFrames() throws {
        let url = fixtures.appendingPathComponent("lab_tiny.ckpt")
        let trained = try TrainedModel.load(checkpoint: url)
        #expect(trained.config.dimensions == ModelDimensions(frame: 16, label: 8, noise: 4, decoder: 24))
        #expect(trained.config.lr == 1e-4 && trained.config.tfr == 0.7)
        #expect(trained.run == nil)
        let checkpoint = try LabCheckpoint.read(url)
        #expect(checkpoint.lastEpoch == 7)
        // BatchNorm's buffers come across too: 3 training steps of 3 frames each ran in PyTorch,
        // one label-encoder call per frame.
        let batches = try #require(checkpoint.stateDict.first { $0.0 == "label_transformation.2.num_batches_tracked" }?.1)
        let batchCount = try batches.to(.float32).item()
        #expect(batches.dtype == .int64 && batchCount == 9)
        let io = try SafeTensors.read(fixtures.appendingPathComponent("lab_tiny_rollout.safetensors")).tensors
        let frames = try rollout(trained.model, io)
        let difference = try maxDifference(frames, #require(io["frames"]))
        #expect(difference < 1e-5, "VidPred's frames differ from PyTorch's by \(difference)")
    }

    @Test func viewsOfALargerStorageReadAsTheirValues() throws {
        let archive = try TorchSave.read(fixtures.appendingPathComponent("torch_views.pt"))
        for name in ["transposed", "offset", "strided"] {
            let view = try archive.tensor(#require(archive.root[name]), name: name)
            let expected = try archive.tensor(#require(archive.root["expected." + name]), name: name)
            #expect(view.shape == expected.shape, "\(name)")
            #expect(try view.floats() == expected.floats(), "\(name)")
        }
        let integers = try archive.tensor(#require(archive.root["int64"]), name: "int64")
        let integerValues = try integers.to(.float32).floats()
        #expect(integers.dtype == .int64 && integerValues == [-2, -1, 0, 1, 2])
        let scalar = try archive.tensor(#require(archive.root["scalar"]), name: "scalar")
        let scalarValue = try scalar.item()
        #expect(scalar.shape == [] && scalarValue == 2.5)
    }

    @Test func writingAndReadingAgainGivesTheSameCheckpoint() throws {
        let model = try RandomGenerator.initialising(seed: 3) { try LabModel(ModelDimensions(frame: 16, label: 8, noise: 4, decoder: 24)) }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vidpred-\(UUID().uuidString)/epoch=4.ckpt")
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        try LabCheckpoint(stateDict: model.stateDict(), lr: 2.5e-4, tfr: 0.3, lastEpoch: 4).write(to: url)
        let back = try LabCheckpoint.read(url)
        #expect(back.lr == 2.5e-4 && back.tfr == 0.3 && back.lastEpoch == 4)
        #expect(back.stateDict.map(\.0) == model.stateDict().map(\.0))
        for ((name, a), (_, b)) in zip(back.stateDict, model.stateDict()) {
            #expect(a.dtype == b.dtype && a.shape == b.shape, "\(name)")
            #expect(try a.bytes() == b.bytes(), "\(name)")
        }
    }

    static let python = repositoryRoot.appendingPathComponent(".deps/pyenv/bin/python")

    /// Whether .deps/pyenv can import torch (scripts/setup.sh installs its CPU build where a local
    /// wheel or PyTorch's package index is reachable, and says so when neither is).
    static let pyenvHasTorch: Bool = {
        guard FileManager.default.isExecutableFile(atPath: python.path) else { return false }
        let process = Process()
        process.executableURL = python
        process.arguments = ["-c", "import torch"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    @Test(.enabled(if: LabCheckpointTests.pyenvHasTorch,
                   "PyTorch is not installed in .deps/pyenv: scripts/setup.sh installs its CPU build from TORCH_WHEELS (default /opt/wheels) or download.pytorch.org"))
    func pyTorchLoadsAnExportAndGeneratesVidPredsFrames() throws {
        let python = Self.python
        let model = try RandomGenerator.initialising(seed: 9) { try LabModel(ModelDimensions(frame: 16, label: 8, noise: 4, decoder: 24)) }
        model.eval()
        let generator = try RandomGenerator(seed: 11)
        let io = ["first": try Tensor.rand([1, 3, 8, 16], generator: generator), "labels": try Tensor.rand([1, 6, 3, 8, 16], generator: generator),
                  "eps": try Tensor.randn([5, 1, 4, 8, 16], generator: generator)]
        var saved = io
        saved["frames"] = try rollout(model, io)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vidpred-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let ckpt = folder.appendingPathComponent("epoch=12.ckpt"), rolloutFile = folder.appendingPathComponent("rollout.safetensors")
        try LabCheckpoint(stateDict: model.stateDict(), lr: 1e-5, tfr: 0.2, lastEpoch: 12).write(to: ckpt)
        try SafeTensors.write(saved.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, to: rolloutFile)

        let process = Process()
        process.executableURL = python
        process.arguments = [repositoryRoot.appendingPathComponent("reference/lab_ckpt.py").path, "check-export", ckpt.path, rolloutFile.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "PyTorch's check failed: \(output)")
        #expect(output.contains("lr 1e-05 tfr 0.2 last_epoch 12"), "\(output)")
    }

    @Test func aDamagedOrForeignFileIsRefusedByName() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vidpred-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let original = try [UInt8](Data(contentsOf: fixtures.appendingPathComponent("lab_tiny.ckpt")))

        func error(_ bytes: [UInt8]) -> String {
            let url = folder.appendingPathComponent("bad-\(UUID().uuidString).ckpt")
            try? Data(bytes).write(to: url)
            do { _ = try TrainedModel.load(checkpoint: url); return "no error" } catch { return "\(error)" }
        }
        var flipped = original
        flipped[original.count / 2] ^= 0x40  // inside some tensor's data
        #expect(error(flipped).contains("does not match its CRC-32"))
        #expect(error(Array(original.prefix(original.count - 100))).contains("not a readable zip archive"))

        // A pickle that asks for a function other than PyTorch's tensor rebuilders is not run.
        let writer = TorchSave.Writer()
        let evil = PickleValue.call(function: "os.system", arguments: [.string("echo hi")], state: nil)
        let url = folder.appendingPathComponent("evil.ckpt")
        try writer.write(.dict([(.string("state_dict"), .dict([(.string("frame_transformation.0.weight"), evil)]))]), to: url)
        do {
            _ = try LabCheckpoint.read(url)
            Issue.record("a call of os.system was accepted")
        } catch {
            #expect("\(error)".contains("os.system, which VidPred does not read"), "\(error)")
        }
    }
}
