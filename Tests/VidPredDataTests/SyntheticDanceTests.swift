import Foundation
import Testing
@testable import VidPredData

@Suite("Synthetic dance data")
struct SyntheticDanceTests {
    static let small = SyntheticDanceOptions(trainFrames: 40, clipLength: 16, valVideos: 1, testVideos: 2, videoLength: 20, seed: 7)

    /// Relative path -> bytes of every file under `root`.
    static func contents(_ root: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
        while let url = enumerator?.nextObject() as? URL {
            guard !FileSystem.isDirectory(url) else { continue }
            files[String(url.path.dropFirst(root.path.count))] = try Data(contentsOf: url)
        }
        return files
    }

    @Test("same seed, same bytes; the result loads as a lab dataset with the right counts")
    func deterministicAndLoadable() throws {
        let folder = try TestSupport.scratchFolder()
        defer { TestSupport.cleanUp(folder) }
        let first = try SyntheticDance.generate(Self.small, to: folder.appendingPathComponent("a"))
        try SyntheticDance.generate(Self.small, to: folder.appendingPathComponent("b"))
        #expect(!first.reused && first.frameCount == 40 + 20 + 2 * 20)
        let a = try Self.contents(folder.appendingPathComponent("a")), b = try Self.contents(folder.appendingPathComponent("b"))
        #expect(a.count == 40 * 2 + 20 * 2 + 2 * (1 + 20 + 20) + 2)   // + README.txt and the manifest
        #expect(a == b)
        // Nothing else was left next to the outputs (no partial folders).
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["a", "b"])

        let data = try LabDataset.load(root: folder.appendingPathComponent("a"))
        #expect(data.train[0].length == 40 && data.val[0].length == 20 && data.test.count == 2)
        #expect(data.test[1].frames.count == 1 && data.test[1].labels.count == 20 && data.test[1].groundTruth?.count == 20)
        #expect(data.test[1].frames.frame(0) == data.test[1].groundTruth?.frame(0))
        // A different seed gives different frames.
        var other = Self.small
        other.seed = 8
        try SyntheticDance.generate(other, to: folder.appendingPathComponent("c"))
        let c = try Self.contents(folder.appendingPathComponent("c"))
        #expect(c["/train/train_img/frame000000.png"] != a["/train/train_img/frame000000.png"])
    }

    @Test("an existing complete dataset with the same options is reused; anything else is left alone")
    func existingOutput() throws {
        let folder = try TestSupport.scratchFolder()
        defer { TestSupport.cleanUp(folder) }
        let out = folder.appendingPathComponent("dance")
        var options = Self.small
        options.trainFrames = 16
        options.testVideos = 0
        try SyntheticDance.generate(options, to: out)
        #expect(try SyntheticDance.generate(options, to: out).reused)
        options.seed += 1
        let error = expectDataError(.alreadyExists) { try SyntheticDance.generate(options, to: out) }
        #expect(error?.text.contains(out.path + ": already exists") == true)
        let unrelated = folder.appendingPathComponent("photos")
        try FileManager.default.createDirectory(at: unrelated, withIntermediateDirectories: true)
        try Data("jpeg".utf8).write(to: unrelated.appendingPathComponent("holiday.jpg"))
        _ = expectDataError(.alreadyExists) { try SyntheticDance.generate(options, to: unrelated) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: unrelated.path) == ["holiday.jpg"])
        // An empty folder is simply filled.
        let empty = folder.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        #expect(try !SyntheticDance.generate(options, to: empty).reused)
        #expect(FileManager.default.fileExists(atPath: empty.appendingPathComponent("synthetic-dance.json").path))
    }

    @Test("an unwritable output folder is named and nothing is left behind")
    func unwritableOutput() throws {
        let folder = try TestSupport.scratchFolder()
        defer { TestSupport.cleanUp(folder) }
        let file = folder.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: file)
        let error = expectDataError(.notWritable) { try SyntheticDance.generate(Self.small, to: file.appendingPathComponent("dance")) }
        #expect(error?.text.contains("a-file") == true, "\(error?.text ?? "")")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["a-file"])
    }

    @Test func oneDancerDancesInOneRoomInEveryVideoUnlessEachClipGetsItsOwn() throws {
        for cast in SyntheticCast.allCases {
            let options = SyntheticDanceOptions(trainFrames: 2 * 40, clipLength: 40, valVideos: 1, testVideos: 1, videoLength: 40,
                                                height: 16, width: 32, noise: 0, cast: cast)
            let clips = try [(LabSplit.train, 0), (.train, 1), (.val, 0), (.test, 0)].map { try #require(SyntheticDance.clip(options, split: $0.0, index: $0.1)) }
            let rooms = clips.map { $0.renderBackground().pixels }
            let poses = clips.map { $0.pose(at: 20).points }
            // The dances differ in any case; the room (and dancer) is shared only by one dancer's clips.
            #expect(Set(poses.map { "\($0)" }).count == clips.count, "\(cast)")
            #expect(Set(rooms).count == (cast == .oneDancer ? 1 : clips.count), "\(cast)")
        }
    }

    @Test("keypoints lie on the rendered body, and the label is drawn there")
    func labelsLineUpWithTheFigure() throws {
        // Twice the lab's size and no camera noise, so each keypoint's pixel is well covered.
        let options = SyntheticDanceOptions(trainFrames: 4 * 160, valVideos: 0, testVideos: 0, height: 64, width: 128, seed: 3, noise: 0,
                                            cast: .newDancerPerClip)
        var checked = 0
        for clipIndex in 0..<4 {
            let clip = try #require(SyntheticDance.clip(options, split: .train, index: clipIndex))
            let background = clip.renderBackground()
            for frame in stride(from: 5, to: 160, by: 31) {
                let pose = clip.pose(at: frame)
                let image = clip.renderFrame(frame), label = clip.renderLabel(frame)
                for keypoint in BodyKeypoint.allCases where pose.isVisible(keypoint) {
                    let pixel = try #require(pose.pixel(keypoint, width: 128, height: 64), "\(keypoint) outside the frame")
                    let delta: SIMD3<Float> = image.pixel(x: pixel.x, y: pixel.y) - background.pixel(x: pixel.x, y: pixel.y)
                    let difference = max(abs(delta.x), abs(delta.y), abs(delta.z))
                    #expect(difference > 2.0 / 255, "clip \(clipIndex) frame \(frame): \(keypoint) at \(pixel) is on the background")
                    #expect(label.pixel(x: pixel.x, y: pixel.y).min() < 0.9, "clip \(clipIndex) frame \(frame): no label ink at \(keypoint)")
                    checked += 1
                }
            }
        }
        #expect(checked > 4 * 5 * 13)
    }

    @Test("motion is smooth (small steps between frames) but varied (the dancer moves and turns)")
    func motionIsSmoothAndVaried() throws {
        let options = SyntheticDanceOptions(trainFrames: 0, valVideos: 3, testVideos: 0)
        var steps: [Double] = [], faceHidden = 0, frames = 0
        for video in 0..<3 {
            let clip = try #require(SyntheticDance.clip(options, split: .val, index: video))
            var xs: [Double] = []
            for f in 0..<clip.frameCount {
                let pose = clip.pose(at: f)
                xs.append(pose[.neck].x)
                frames += 1
                if !pose.isVisible(.nose) { faceHidden += 1 }
                if f > 0 {
                    let previous = clip.pose(at: f - 1)
                    steps.append(BodyKeypoint.allCases.map { ((pose[$0] - previous[$0]) * (pose[$0] - previous[$0])).sum().squareRoot() }.max() ?? 0)
                }
            }
            #expect((xs.max() ?? 0) - (xs.min() ?? 0) > 5, "video \(video): the dancer stays in place")
        }
        // 32x64 frames at 30 fps: the fastest keypoint moves at most a few pixels per frame.
        steps.sort()
        #expect((steps.last ?? 0) < 5, "a keypoint jumped \(steps.last ?? 0) px between frames")
        #expect(steps[steps.count * 99 / 100] < 3, "99th percentile step \(steps[steps.count * 99 / 100]) px")
        #expect(faceHidden > frames / 50 && faceHidden < frames / 2, "face hidden in \(faceHidden) of \(frames) frames")
    }

    @Test("other sizes render too (e.g. 48x48), labels white with a skeleton")
    func otherSizes() throws {
        let clip = try #require(SyntheticDance.clip(SyntheticDanceOptions(trainFrames: 20, height: 48, width: 48), split: .train, index: 0))
        let frame = clip.renderFrame(3), label = clip.renderLabel(3)
        #expect(frame.width == 48 && frame.height == 48)
        let white = label.pixels.filter { $0 > 0.99 }.count
        #expect(white > label.pixels.count / 2 && white < label.pixels.count)
    }

    @Test("bad options are refused")
    func badOptions() throws {
        let folder = try TestSupport.scratchFolder()
        defer { TestSupport.cleanUp(folder) }
        var options = Self.small
        options.width = 4
        _ = expectDataError(.invalidArgument) { try SyntheticDance.generate(options, to: folder.appendingPathComponent("x")) }
    }
}
