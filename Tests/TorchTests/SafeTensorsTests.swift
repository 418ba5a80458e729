import Foundation
import Testing
@testable import Torch

@Suite struct SafeTensorsTests {
    @Test func roundTripKeepsNamesShapesDtypesAndValues() throws {
        let g = try RandomGenerator(seed: 5)
        let tensors: [(String, Tensor)] = [
            ("encoder.block1.conv1.weight", try Tensor.randn([4, 3, 3, 3], generator: g)),
            ("encoder.block1.conv1.bias", try Tensor.randn([4], generator: g)),
            ("norm.num_batches_tracked", try Tensor.full([], 7, dtype: .int64)),
            ("half", try Tensor.randn([5], generator: g).to(.bfloat16)),
        ]
        let url = try temporaryFolder().appendingPathComponent("a.safetensors")
        try SafeTensors.write(tensors, metadata: ["format": "pt"], to: url)
        let file = try SafeTensors.read(url)
        #expect(file.metadata["format"] == "pt")
        #expect(file.metadata[SafeTensors.checksumKey]?.count == 8, "files carry the checksum of their data")
        #expect(Set(file.tensors.keys) == Set(tensors.map(\.0)))
        for (name, t) in tensors {
            let loaded = try #require(file.tensors[name])
            #expect(loaded.shape == t.shape, "\(name)")
            #expect(loaded.dtype == t.dtype, "\(name)")
            #expect(try loaded.floats() == t.floats(), "\(name)")
        }
    }

    @Test func truncatedFileIsRejectedWithItsPath() throws {
        let data = try SafeTensors.encode([("w", try Tensor.ones([100]))])
        let url = try temporaryFolder().appendingPathComponent("cut.safetensors")
        try data.prefix(data.count - 10).write(to: url)
        do {
            _ = try SafeTensors.read(url)
            Issue.record("a truncated file should not load")
        } catch let error as TorchError {
            #expect(error.message.contains("cut.safetensors") && error.message.contains("truncated"))
        }
    }

    @Test func atomicWriteLeavesNoTemporaryFiles() throws {
        let folder = try temporaryFolder()
        let url = folder.appendingPathComponent("w.safetensors")
        try SafeTensors.write([("w", try Tensor.ones([3]))], to: url)
        try SafeTensors.write([("w", try Tensor.zeros([3]))], to: url)  // overwrite
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        #expect(names == ["w.safetensors"])
        #expect(try SafeTensors.read(url).tensors["w"]?.floats() == [0, 0, 0])
    }

    /// Python's `safetensors` package (numpy backend, installed by scripts/setup.sh into .deps/pyenv)
    /// reads our file with the right names, shapes and values, and writes one that we load.
    @Test func interoperatesWithPythonSafetensors() throws {
        let python = repositoryRoot.appendingPathComponent(".deps/pyenv/bin/python")
        try #require(FileManager.default.isExecutableFile(atPath: python.path),
                     "Python interop tools missing: run scripts/setup.sh (it creates .deps/pyenv)")
        let folder = try temporaryFolder()
        let ours = folder.appendingPathComponent("ours.safetensors")
        let theirs = folder.appendingPathComponent("theirs.safetensors")
        let w = try Tensor((0..<24).map { Float($0) * 0.5 - 3 }, shape: [2, 3, 4])
        try SafeTensors.write([("model.layer.weight", w), ("model.step", try Tensor.full([], 3, dtype: .int64))], to: ours)
        let script = """
        import sys, numpy as np
        from safetensors.numpy import load_file, save_file
        d = load_file(sys.argv[1])
        w = d["model.layer.weight"]
        assert w.shape == (2, 3, 4) and w.dtype == np.float32, (w.shape, w.dtype)
        assert np.array_equal(w.reshape(-1), np.arange(24, dtype=np.float32) * 0.5 - 3)
        assert d["model.step"].dtype == np.int64 and int(d["model.step"]) == 3
        save_file({"from_python.weight": (np.arange(6, dtype=np.float32) / 4).reshape(3, 2)}, sys.argv[2])
        print("ok")
        """
        let process = Process()
        process.executableURL = python
        process.arguments = ["-c", script, ours.path, theirs.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "python said: \(output)")
        let loaded = try SafeTensors.read(theirs)
        let t = try #require(loaded.tensors["from_python.weight"])
        #expect(t.shape == [3, 2])
        #expect(try t.floats() == [0, 0.25, 0.5, 0.75, 1, 1.25])
    }
}
