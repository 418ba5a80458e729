import Foundation
import Testing
@testable import Torch

/// Readers and writers that must never crash, load damaged data or leave partial files behind.
@Suite struct FileSafetyTests {
    private func refusal(_ data: Data) -> String {
        do { _ = try SafeTensors.decode(data, source: "hostile.safetensors"); return "accepted" } catch { return "\(error)" }
    }

    /// A file whose header is `header` followed by `dataBytes` zero bytes, without a checksum.
    private func file(header: String, dataBytes: Int = 48) -> Data {
        var out = Data()
        var length = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        out.append(Data(header.utf8))
        out.append(Data(count: dataBytes))
        return out
    }

    @Test func crc32cMatchesTheStandardCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        // Continuing over pieces gives the checksum of the whole.
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let first = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<333])) }
        let whole = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[333...]), continuing: first) }
        #expect(whole == CRC32C.checksum(bytes))
    }

    @Test func damagedWeightsAreRefusedByTheirChecksum() throws {
        let data = try SafeTensors.encode([("w", try Tensor.ones([64]))])
        for offset in [data.count - 1, data.count - 100, data.count - 256] {
            var damaged = data
            damaged[offset] ^= 0x10
            let message = refusal(damaged)
            #expect(message.contains("hostile.safetensors") && message.contains("damaged"), "\(message)")
        }
        #expect(refusal(data) == "accepted")
    }

    /// The headers that crashed `predict --run` and `train --resume`: shapes and offsets whose
    /// products and sums overflow, negative sizes, lengths beyond the file.
    @Test func extremeShapesAndOffsetsAreRefusedNotTrusted() {
        let cases = [
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,48]}}",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[-3,-4],\"data_offsets\":[0,48]}}",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[12],\"data_offsets\":[9223372036854775800,9223372036854775807]}}",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[12],\"data_offsets\":[-48,0]}}",
            "{\"w\":{\"dtype\":\"F64\",\"shape\":[3037000500,3037000500],\"data_offsets\":[0,48]}}",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[1e30],\"data_offsets\":[0,48]}}",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[12],\"data_offsets\":[48,0]}}",
        ]
        for header in cases {
            let message = refusal(file(header: header))
            #expect(message.contains("hostile.safetensors") && message != "accepted", "\(header): \(message)")
        }
        var hugeLength = file(header: "{}")
        for k in 0..<8 { hugeLength[k] = 0xFF }
        #expect(refusal(hugeLength).contains("exceeds the file size"))
    }

    @Test func metadataIsReadFromTheHeaderAlone() throws {
        let url = try temporaryFolder().appendingPathComponent("m.safetensors")
        try SafeTensors.write([("w", try Tensor.ones([4]))], metadata: ["epochs_done": "3"], to: url)
        let metadata = try SafeTensors.readMetadata(url)
        #expect(metadata["epochs_done"] == "3" && metadata[SafeTensors.checksumKey] != nil)
    }

    @Test func temporaryFilesOfDeadWritersAreRemovedAndLiveOnesKept() throws {
        let folder = try temporaryFolder()
        // A process id that is not running: a child that has exited and been reaped.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let dead = child.processIdentifier
        let names = [".last.safetensors.tmp-\(dead)-12345", ".dat.nosync1a2b", ".config.json.tmp-\(getpid())-7", "last.safetensors", ".hidden"]
        for name in names { try Data("x".utf8).write(to: folder.appendingPathComponent(name)) }
        let removed = AtomicFile.removeStaleTemporaryFiles(in: folder)
        #expect(removed == [".dat.nosync1a2b", ".last.safetensors.tmp-\(dead)-12345"])
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: folder.path)) == [".config.json.tmp-\(getpid())-7", "last.safetensors", ".hidden"])
    }

    @Test func aWriteThatCannotHappenNamesTheFileAndLeavesNothing() throws {
        let folder = try temporaryFolder()
        let blocker = folder.appendingPathComponent("not-a-folder")
        try Data("x".utf8).write(to: blocker)
        let target = blocker.appendingPathComponent("last.safetensors")
        do {
            try AtomicFile.write(Data(count: 10), to: target)
            Issue.record("writing under a file should fail")
        } catch {
            #expect("\(error)".contains("last.safetensors"), "\(error)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["not-a-folder"])
        // Not enough space is told before any work, naming the folder and both sizes.
        do {
            try DiskSpace.require(Int64.max / 2, at: folder, for: "saving checkpoints")
            Issue.record("no disk has that much space")
        } catch {
            #expect("\(error)".contains(folder.path) && "\(error)".contains("free"), "\(error)")
        }
    }
}
