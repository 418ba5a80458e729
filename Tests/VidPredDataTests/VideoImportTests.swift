import Foundation
import Testing
@testable import VidPredData

@Suite("Video import (ffmpeg)")
struct VideoImportTests {
    static let ffmpeg = TestSupport.executable("ffmpeg")

    /// A lossless test video made with ffmpeg's lavfi sources.
    static func makeVideo(_ url: URL, source: String = "testsrc", seconds: Double = 1, rate: Int = 10) throws {
        let tool = try #require(ffmpeg)
        let result = try TestSupport.run(tool, ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "\(source)=size=128x64:rate=\(rate)",
                                                "-t", "\(seconds)", "-c:v", "ffv1", url.path])
        #expect(result.status == 0, "ffmpeg could not make the test video: \(result.error)")
    }

    @Test("a video and a label video become a train split of the right size and count",
          .enabled(if: ffmpeg != nil, "ffmpeg is not installed: skipped (apt-get install ffmpeg)"))
    func importsTrainSplit() throws {
        let folder = try TestSupport.scratchFolder()
        defer { TestSupport.cleanUp(folder) }
        let video = folder.appendingPathComponent("dance.mkv"), labels = folder.appendingPathComponent("pose.mkv")
        try Self.makeVideo(video)
        try Self.makeVideo(labels, source: "testsrc2")
        let out = folder.appendingPathComponent("data")
        let result = try VideoImport.run(input: video, labels: labels, out: out, width: 64, height: 32, fps: 5)
        #expect(result.frameCount == 5)
        var options = LabDatasetOptions(splits: [.train], trainVideoLength: 5)
        options.parallel = false
        let data = try LabDataset.load(root: out, options: options)
        #expect(data.train[0].length == 5 && data.train[0].frames.width == 64 && data.train[0].frames.height == 32)
        #expect(data.train[0].frames.names.first == "frame000000.png")
        // Frames and labels differ (two different sources), and nothing but the splits was left behind.
        #expect(data.train[0].frames.frame(0) != data.train[0].labels.frame(0))
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path) == ["train"])
    }

    @Test("a test video: first frame in test_img, all frames in test_gt, labels from a folder of PNGs",
          .enabled(if: ffmpeg != nil, "ffmpeg is not installed: skipped"))
    func importsTestVideoWithLabelFolder() throws {
        let folder = try TestSupport.scratchFolder()
        defer { TestSupport.cleanUp(folder) }
        let video = folder.appendingPathComponent("dance.mkv")
        try Self.makeVideo(video, seconds: 0.8)  // 8 frames at 10 fps
        let labelFolder = folder.appendingPathComponent("poses")
        for k in 0..<8 { try PNG.write(TestSupport.patternImage(width: 32, height: 16, seed: k), to: labelFolder.appendingPathComponent("pose\(k).png")) }
        try Data().write(to: labelFolder.appendingPathComponent(".DS_Store"))
        let out = folder.appendingPathComponent("data")
        try VideoImport.run(input: video, labels: labelFolder, out: out, split: .test(3))
        let data = try LabDataset.load(root: out, options: LabDatasetOptions(splits: [.test]))
        let test = try #require(data.test.first)
        #expect(test.name == "3" && test.frames.count == 1 && test.labels.count == 8 && test.groundTruth?.count == 8)
        // Label 5 is pose5.png resized exactly like the loader does.
        let expected = try PNG.read(labelFolder.appendingPathComponent("pose5.png"), width: 64, height: 32)
        let same = test.labels.frame(5) == expected
        #expect(same, "label 5 is not pose5.png resized")
    }

    @Test("frame counts that differ are refused and nothing is written",
          .enabled(if: ffmpeg != nil, "ffmpeg is not installed: skipped"))
    func countMismatch() throws {
        let folder = try TestSupport.scratchFolder()
        defer { TestSupport.cleanUp(folder) }
        let video = folder.appendingPathComponent("dance.mkv"), labels = folder.appendingPathComponent("pose.mkv")
        try Self.makeVideo(video, seconds: 1)
        try Self.makeVideo(labels, seconds: 2)
        let out = folder.appendingPathComponent("data")
        let error = expectDataError(.countMismatch) { try VideoImport.run(input: video, labels: labels, out: out) }
        #expect(error?.text.contains("pose.mkv: 20 labels but") == true, "\(error?.text ?? "")")
        #expect(error?.text.contains("dance.mkv gave 10 frames") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).isEmpty)
    }

    @Test("ffmpeg failing shows its message and names the file",
          .enabled(if: ffmpeg != nil, "ffmpeg is not installed: skipped"))
    func ffmpegFails() throws {
        let folder = try TestSupport.scratchFolder()
        defer { TestSupport.cleanUp(folder) }
        let notAVideo = folder.appendingPathComponent("notes.mp4")
        try Data("this is not a video".utf8).write(to: notAVideo)
        let error = expectDataError(.toolFailed) {
            try VideoImport.run(input: notAVideo, labels: notAVideo, out: folder.appendingPathComponent("data"))
        }
        #expect(error?.text.contains("notes.mp4: ffmpeg failed") == true, "\(error?.text ?? "")")
        #expect(error?.text.contains("Invalid data") == true, "the tail of ffmpeg's stderr is shown: \(error?.text ?? "")")
    }

    @Test("a missing ffmpeg says how to install it")
    func ffmpegMissing() throws {
        let folder = try TestSupport.scratchFolder()
        defer { TestSupport.cleanUp(folder) }
        let error = expectDataError(.toolMissing) {
            try VideoImport.run(input: folder, labels: folder, out: folder.appendingPathComponent("data"),
                                ffmpeg: URL(fileURLWithPath: "/nonexistent/ffmpeg"))
        }
        #expect(error?.text.contains("apt-get install ffmpeg, or run scripts/setup.sh") == true)
    }

    @Test("an existing split is not overwritten",
          .enabled(if: ffmpeg != nil, "ffmpeg is not installed: skipped"))
    func refusesToOverwrite() throws {
        let lab = try TinyLab.make(trainFrames: 16, valFrames: 2, testVideos: 1, testLength: 2)
        defer { TestSupport.cleanUp(lab.root) }
        let tool = try #require(Self.ffmpeg)
        let error = expectDataError(.alreadyExists) {
            try VideoImport.run(input: lab.root, labels: lab.root, out: lab.root, ffmpeg: tool)
        }
        #expect(error?.text.contains(lab.url("train/train_img").path + ": already holds files") == true)
    }

    @Test("the PNG stream splitter cuts concatenated files at IEND, across chunk boundaries")
    func splitter() throws {
        let a = try PNG.encode(TestSupport.patternImage(width: 5, height: 3)), b = try PNG.encode(TestSupport.patternImage(width: 7, height: 2))
        var splitter = PNGStreamSplitter()
        var found: [Data] = []
        let stream = a + b
        for start in stride(from: 0, to: stream.count, by: 10) {
            splitter.append(stream[(stream.startIndex + start)..<(stream.startIndex + min(start + 10, stream.count))])
            while let png = splitter.next() { found.append(png) }
        }
        #expect(found == [a, b])
    }
}
