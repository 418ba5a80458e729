import Foundation
import Testing
import VidPred
import VidPredData

private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
private let binary = root.appendingPathComponent(".build/debug/vidpred")

@Suite("vidpred poses (real process of this build)")
struct PosesCommandTests {
    /// A folder of the 3 annotated frames (links to edn-video/keypoints) and an empty grey room:
    /// one label PNG and one OpenPose JSON per input, and the empty one reported by name, with a
    /// blank label and no people.
    @Test(.timeLimit(.minutes(3)))
    func framesGetLabelsAndJSONAndTheEmptyOnesAreReported() throws {
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "\(binary.path) is missing: run `swift build` (make test does)")
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("vidpred-poses-\(UUID().uuidString.prefix(8))")
        let input = scratch.appendingPathComponent("frames"), out = scratch.appendingPathComponent("poses")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        for name in ["frame020001", "frame020005", "frame020009"] {
            try FileManager.default.createSymbolicLink(at: input.appendingPathComponent("\(name).png"),
                                                       withDestinationURL: root.appendingPathComponent("../shared/data/edn-video/keypoints/\(name).png"))
        }
        var room = RGBImage(width: 1024, height: 512)
        room.pixels = [Float](repeating: 0.8, count: room.pixels.count)
        try PNG.encode(room).write(to: input.appendingPathComponent("frame020013.png"))
        let process = Process()
        process.executableURL = binary
        process.arguments = ["poses", "--input", input.path, "--out", out.path,
                             "--size", "256x128", "--models", root.appendingPathComponent(".deps/models").path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, Comment(rawValue: output))
        #expect(output.contains("no person found in 1 frame(s)") && output.contains(": frame020013"), Comment(rawValue: output))
        for name in ["frame020001", "frame020005", "frame020009"] {
            let label = try PNG.read(out.appendingPathComponent("\(name).png"))
            #expect(label.width == 256 && label.height == 128)
            #expect(label.pixels.contains { $0 < 0.5 }, "\(name): blank label")
            let points = try Body25.readOpenPoseJSON(try Data(contentsOf: out.appendingPathComponent("\(name)_keypoints.json")), name: name)
            #expect(points?.filter { $0.confidence > 0 }.count ?? 0 >= 15, "\(name)")
        }
        let empty = "frame020013"
        #expect(try Body25.readOpenPoseJSON(try Data(contentsOf: out.appendingPathComponent("\(empty)_keypoints.json")), name: empty) == nil)
        #expect(try PNG.read(out.appendingPathComponent("\(empty).png")).pixels.allSatisfy { $0 == 1 })
        // A second run into the same folder is refused rather than mixing two extractions.
        let again = Process()
        again.executableURL = binary
        again.arguments = ["poses", "--input", input.path, "--out", out.path]
        again.standardOutput = FileHandle.nullDevice
        again.standardError = FileHandle.nullDevice
        try again.run()
        again.waitUntilExit()
        #expect(again.terminationStatus != 0)
    }
}
