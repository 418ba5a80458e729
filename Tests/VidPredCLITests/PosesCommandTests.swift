import Foundation
import Testing
import VidPred
import VidPredData

private let root = repositoryRoot

/// Runs this build's vidpred; its status and everything it printed.
private func vidpred(_ arguments: [String]) throws -> (status: Int32, output: String) { try runToEnd(vidpredBinary, arguments) }

/// The three frames OpenPose annotated (edn-video/keypoints), linked into `folder` under the names
/// `naming` gives them (by position and frame name).
private let annotatedFrames = ["frame020001", "frame020005", "frame020009"]
private func linkAnnotatedFrames(into folder: URL, naming: (Int, String) -> String = { "\($1).png" }) throws {
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    for (i, name) in annotatedFrames.enumerated() {
        try FileManager.default.createSymbolicLink(at: folder.appendingPathComponent(naming(i, name)),
                                                   withDestinationURL: root.appendingPathComponent("../shared/data/edn-video/keypoints/\(name).png"))
    }
}

/// A 1024x512 frame of an empty grey room: no person in it.
private func writeEmptyRoom(to url: URL) throws {
    var room = RGBImage(width: 1024, height: 512)
    room.pixels = [Float](repeating: 0.8, count: room.pixels.count)
    try PNG.encode(room).write(to: url)
}

@Suite("vidpred poses (real process of this build)")
struct PosesCommandTests {
    /// A folder of the 3 annotated frames (links to edn-video/keypoints) and an empty grey room:
    /// one label PNG and one OpenPose JSON per input, and the empty one reported by name, with a
    /// blank label and no people.
    @Test(.timeLimit(.minutes(3)))
    func framesGetLabelsAndJSONAndTheEmptyOnesAreReported() throws {
        try #require(FileManager.default.isExecutableFile(atPath: vidpredBinary.path), "\(vidpredBinary.path) is missing: run `swift build` (make test does)")
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("frames"), out = folder.appendingPathComponent("poses")
        try linkAnnotatedFrames(into: input)
        try writeEmptyRoom(to: input.appendingPathComponent("frame020013.png"))
        let (status, output) = try vidpred(["poses", "--input", input.path, "--out", out.path,
                                            "--size", "256x128", "--models", root.appendingPathComponent(".deps/models").path])
        try #require(status == 0, Comment(rawValue: output))
        #expect(output.contains("no person found in 1 frame(s)") && output.contains(": frame020013"), Comment(rawValue: output))
        for name in annotatedFrames {
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
        let again = try vidpred(["poses", "--input", input.path, "--out", out.path])
        #expect(again.status != 0 && again.output.contains("already holds files"), Comment(rawValue: again.output))
    }

    /// `make-data video` without `--labels`: a 4-frame video made from the annotated frames and an
    /// empty room; the poses are extracted at the dataset's size and the last frame becomes val/.
    @Test(.timeLimit(.minutes(3)))
    func makeDataVideoExtractsThePosesAndSplitsOffTheValVideo() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let frames = folder.appendingPathComponent("frames")
        try linkAnnotatedFrames(into: frames) { i, _ in String(format: "%03d.png", i) }
        try writeEmptyRoom(to: frames.appendingPathComponent("003.png"))
        let video = folder.appendingPathComponent("clip.mp4")
        let encoded = try runToEnd(URL(fileURLWithPath: "/usr/bin/ffmpeg"), ["-v", "error", "-framerate", "30", "-i", frames.appendingPathComponent("%03d.png").path,
                                                                      "-c:v", "libx264", "-crf", "10", "-pix_fmt", "yuv420p", video.path])
        try #require(encoded.status == 0, "ffmpeg could not make the test video: \(encoded.output)")
        let out = folder.appendingPathComponent("data")
        let (status, output) = try vidpred(["make-data", "video", "--input", video.path, "--out", out.path, "--size", "64x32",
                                            "--val-frames", "1", "--models", root.appendingPathComponent(".deps/models").path])
        try #require(status == 0, Comment(rawValue: output))
        #expect(output.contains("no person found in 1 frame(s)"), Comment(rawValue: output))
        let dataset = try LabDataset.load(root: out, options: LabDatasetOptions(splits: [.train, .val], trainVideoLength: 2))
        #expect(dataset.train.map(\.length) == [3] && dataset.val.map(\.length) == [1], "\(dataset.train.map(\.length)) \(dataset.val.map(\.length))")
        let labels = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("train/train_label").path).sorted()
        for name in labels {
            let label = try PNG.read(out.appendingPathComponent("train/train_label/\(name)"))
            #expect(label.width == 64 && label.height == 32 && label.pixels.contains { $0 < 0.8 }, "\(name)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).allSatisfy { !$0.hasPrefix(".poses") }, "the extracted labels' folder was left behind")
    }

    /// Motion transfer end to end with a tiny model: the moves of 3 frames, fitted to a dancer in
    /// another frame, come out as a 3-frame MP4 (read back by ffprobe) and a GIF.
    @Test(.timeLimit(.minutes(3)))
    func animateWritesAnMP4OfTheMoves() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let frames = folder.appendingPathComponent("moves")
        try linkAnnotatedFrames(into: frames)
        let data = folder.appendingPathComponent("data"), run = folder.appendingPathComponent("run")
        let made = try vidpred(["make-data", "synthetic", "--out", data.path, "--train-frames", "32", "--val-videos", "1", "--test-videos", "0",
                                "--video-length", "8", "--height", "16", "--width", "32"])
        try #require(made.status == 0, Comment(rawValue: made.output))
        let trained = try vidpred(["train", "--data", data.path, "--out", run.path, "--preset", "pyramid", "--pyramid-frame", "8,8,8",
                                   "--pyramid-pose", "4,4,4", "--noise-dim", "4", "--height", "16", "--width", "32", "--train-vi-len", "4",
                                   "--epochs", "1", "--val-vi-len", "4", "--per-save", "0", "--threads", "1"])
        try #require(trained.status == 0, Comment(rawValue: trained.output))
        // A dataset without test/ (as make-data video makes): predict generates val alone and says so.
        let predicted = try vidpred(["predict", "--run", run.path, "--threads", "1"])
        #expect(predicted.status == 0 && predicted.output.contains("no test/ split: generating the val videos only"), Comment(rawValue: predicted.output))
        let out = folder.appendingPathComponent("dance.mp4")
        let animated = try vidpred(["animate", "--run", run.path, "--poses", frames.path, "--out", out.path,
                                    "--image", root.appendingPathComponent("../shared/data/edn-video/keypoints/frame020009.png").path,
                                    "--models", root.appendingPathComponent(".deps/models").path])
        try #require(animated.status == 0, Comment(rawValue: animated.output))
        #expect(animated.output.contains("fit: scale"), Comment(rawValue: animated.output))
        let probe = try runToEnd(URL(fileURLWithPath: "/usr/bin/ffprobe"), ["-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
                                                                           "stream=nb_read_frames", "-of", "csv=p=0", out.path])
        let counted = probe.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(probe.status == 0 && counted == "3", "ffprobe counted \(counted) frames")
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("dance.gif").path))
    }
}
