import Foundation
import Testing
@testable import VidPredData

/// Builds small datasets in the lab layout. Frame k of a video has red = k/255 at pixel (0, 0),
/// its label has green = k/255 there, so pairing and order can be checked after loading.
struct TinyLab {
    let root: URL
    var width = 16, height = 8

    func frame(_ k: Int, label: Bool, width: Int? = nil, height: Int? = nil) -> RGBImage {
        var image = RGBImage(width: width ?? self.width, height: height ?? self.height, fill: SIMD3(0.5, 0.5, 0.5))
        image.setPixel(x: 0, y: 0, label ? SIMD3(1, Float(k % 256) / 255, 1) : SIMD3(Float(k % 256) / 255, 0, 0))
        return image
    }

    func write(_ relative: String, _ image: RGBImage) throws {
        try PNG.write(image, to: root.appendingPathComponent(relative))
    }

    /// train (40 frames, unpadded names frame0..frame39 to test numeric order), val (20), test
    /// videos 0 and 1 (first frame, 20 labels, 20 ground truth).
    static func make(trainFrames: Int = 40, valFrames: Int = 20, testVideos: Int = 2, testLength: Int = 20) throws -> TinyLab {
        let lab = TinyLab(root: try TestSupport.scratchFolder("tinylab"))
        for k in 0..<trainFrames {
            try lab.write("train/train_img/frame\(k).png", lab.frame(k, label: false))
            try lab.write("train/train_label/frame\(k).png", lab.frame(k, label: true))
        }
        for k in 0..<valFrames {
            let name = String(format: "frame%06d.png", k)
            try lab.write("val/val_img/\(name)", lab.frame(k, label: false))
            try lab.write("val/val_label/\(name)", lab.frame(k, label: true))
        }
        for v in 0..<testVideos {
            for k in 0..<testLength {
                let name = String(format: "frame%06d.png", k)
                if k == 0 { try lab.write("test/test_img/\(v)/\(name)", lab.frame(k, label: false)) }
                try lab.write("test/test_label/\(v)/\(name)", lab.frame(k, label: true))
                try lab.write("test/test_gt/\(v)/\(name)", lab.frame(k, label: false))
            }
        }
        return lab
    }

    var options: LabDatasetOptions { LabDatasetOptions(height: height, width: width) }

    func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    func remove(_ relative: String) throws { try FileManager.default.removeItem(at: url(relative)) }

    func load(_ options: LabDatasetOptions? = nil) throws -> LabDataset {
        try LabDataset.load(root: root, options: options ?? self.options)
    }
}

@Suite("Lab dataset loader")
struct LabDatasetTests {
    @Test("loads all splits: counts, numeric order, frame/label pairing, test ground truth")
    func loadsTinyLab() throws {
        let lab = try TinyLab.make()
        defer { TestSupport.cleanUp(lab.root) }
        let data = try lab.load()
        #expect(data.train.count == 1 && data.val.count == 1 && data.test.count == 2)
        let train = try #require(data.train.first)
        #expect(train.length == 40 && train.frames.count == 40)
        #expect(train.frames.names.prefix(3) == ["frame0.png", "frame1.png", "frame2.png"])
        #expect(train.frames.names[10] == "frame10.png")   // numeric, not lexicographic order
        for k in 0..<40 {
            #expect(train.frames.frame(k)[0, 0, 0] == Float(k) / 255)
            #expect(train.labels.frame(k)[1, 0, 0] == Float(k) / 255)
        }
        let test = data.test[1]
        #expect(test.name == "1" && test.frames.count == 1 && test.labels.count == 20 && test.groundTruth?.count == 20)
        #expect(test.referenceFrames?.frame(7)[0, 0, 0] == 7.0 / 255)
        #expect(data.val[0].displayName == "val" && test.displayName == "test/1")
    }

    @Test("files of another size are resized (PIL bilinear) to the configured size")
    func resizesOtherSizes() throws {
        var lab = try TinyLab.make(trainFrames: 16, valFrames: 2, testVideos: 1, testLength: 2)
        defer { TestSupport.cleanUp(lab.root) }
        lab.width = 8; lab.height = 4
        let data = try lab.load()
        let frame = data.train[0].frames.frame(3)
        #expect(frame.width == 8 && frame.height == 4)
        let direct = try PNG.read(lab.url("train/train_img/frame3.png"), width: 8, height: 4)
        #expect(frame == direct)
    }

    @Test("only the requested splits are needed")
    func loadsRequestedSplits() throws {
        let lab = try TinyLab.make(trainFrames: 16, valFrames: 2, testVideos: 1, testLength: 2)
        defer { TestSupport.cleanUp(lab.root) }
        try lab.remove("val")
        try lab.remove("test")
        var options = lab.options
        options.splits = [.train]
        let data = try lab.load(options)
        #expect(data.train.count == 1 && data.val.isEmpty && data.test.isEmpty)
    }

    @Test("several val videos as subfolders")
    func valSubfolders() throws {
        let lab = try TinyLab.make(trainFrames: 16, valFrames: 0, testVideos: 1, testLength: 2)
        defer { TestSupport.cleanUp(lab.root) }
        for video in ["2", "10"] {
            for k in 0..<5 {
                try lab.write("val/val_img/\(video)/frame\(k).png", lab.frame(k, label: false))
                try lab.write("val/val_label/\(video)/frame\(k).png", lab.frame(k, label: true))
            }
        }
        let data = try lab.load()
        #expect(data.val.map(\.name) == ["2", "10"])
        #expect(data.val.map(\.length) == [5, 5])
    }

    @Test("hidden files, Thumbs.db and desktop.ini are ignored")
    func ignoresHiddenFiles() throws {
        let lab = try TinyLab.make(trainFrames: 16, valFrames: 2, testVideos: 1, testLength: 2)
        defer { TestSupport.cleanUp(lab.root) }
        for junk in ["train/train_img/.DS_Store", "train/train_label/Thumbs.db", "val/val_img/desktop.ini", "test/test_img/.hidden"] {
            try Data("junk".utf8).write(to: lab.url(junk))
        }
        #expect(try lab.load().train[0].length == 16)
    }

    // MARK: bad input: one test each, asserting the message names the file or folder

    @Test("missing dataset folder")
    func missingRoot() throws {
        let root = URL(fileURLWithPath: "/tmp/no-such-vidpred-dataset-\(UUID().uuidString.prefix(6))")
        let error = expectDataError(.missingPath) { _ = try LabDataset.load(root: root) }
        #expect(error?.text.contains(root.path) == true)
        #expect(error?.text.contains("train/, val/ and test/") == true)
    }

    @Test("missing split folder names the expected path")
    func missingSplit() throws {
        let lab = try TinyLab.make(trainFrames: 16, valFrames: 2, testVideos: 1, testLength: 2)
        defer { TestSupport.cleanUp(lab.root) }
        try lab.remove("val/val_label")
        let error = expectDataError(.missingPath) { _ = try lab.load() }
        #expect(error?.text.contains(lab.url("val/val_label").path + ": not found (expected the validation pose labels") == true, "\(error?.text ?? "")")
    }

    @Test("frames without labels: names the first few missing files")
    func framesWithoutLabels() throws {
        let lab = try TinyLab.make(trainFrames: 40, valFrames: 2, testVideos: 1, testLength: 2)
        defer { TestSupport.cleanUp(lab.root) }
        for k in [3, 7, 11, 12, 13, 14, 15] { try lab.remove("train/train_label/frame\(k).png") }
        let error = expectDataError(.unpairedFiles) { _ = try lab.load() }
        #expect(error?.text.contains("7 files without a label") == true, "\(error?.text ?? "")")
        #expect(error?.text.contains("frame3.png, frame7.png, frame11.png, frame12.png, frame13.png and 2 more") == true)
    }

    @Test("labels without frames")
    func labelsWithoutFrames() throws {
        let lab = try TinyLab.make(trainFrames: 16, valFrames: 4, testVideos: 1, testLength: 2)
        defer { TestSupport.cleanUp(lab.root) }
        try lab.remove("val/val_img/frame000002.png")
        let error = expectDataError(.unpairedFiles) { _ = try lab.load() }
        #expect(error?.text.contains("1 file without a frame in \(lab.url("val/val_img").path): frame000002.png") == true, "\(error?.text ?? "")")
    }

    @Test("count mismatch in a test video (ground truth shorter than labels)")
    func testCountMismatch() throws {
        let lab = try TinyLab.make(trainFrames: 16, valFrames: 2, testVideos: 2, testLength: 6)
        defer { TestSupport.cleanUp(lab.root) }
        try lab.remove("test/test_gt/1/frame000005.png")
        let error = expectDataError(.countMismatch) { _ = try lab.load() }
        #expect(error?.text.contains(lab.url("test/test_gt/1").path + ": 5 ground-truth frames but") == true, "\(error?.text ?? "")")
        #expect(error?.text.contains("missing: frame000005.png") == true)
    }

    @Test("a test video without its label folder")
    func testVideoWithoutLabels() throws {
        let lab = try TinyLab.make(trainFrames: 16, valFrames: 2, testVideos: 2, testLength: 3)
        defer { TestSupport.cleanUp(lab.root) }
        try lab.remove("test/test_label/1")
        let error = expectDataError(.missingPath) { _ = try lab.load() }
        #expect(error?.text.contains(lab.url("test/test_label/1").path) == true, "\(error?.text ?? "")")
    }

    @Test("images of different sizes inside one video")
    func mixedSizes() throws {
        let lab = try TinyLab.make(trainFrames: 16, valFrames: 2, testVideos: 1, testLength: 2)
        defer { TestSupport.cleanUp(lab.root) }
        try lab.write("train/train_img/frame9.png", lab.frame(9, label: false, width: 32, height: 16))
        let error = expectDataError(.sizeMismatch) { _ = try lab.load() }
        #expect(error?.text.contains("frame9.png: 32x16 but the other frames of this video are 16x8") == true, "\(error?.text ?? "")")
    }

    @Test("a truncated PNG among the frames")
    func truncatedFrame() throws {
        let lab = try TinyLab.make(trainFrames: 16, valFrames: 2, testVideos: 1, testLength: 2)
        defer { TestSupport.cleanUp(lab.root) }
        let url = lab.url("train/train_label/frame5.png")
        let bytes = try Data(contentsOf: url)
        try bytes.prefix(bytes.count - 30).write(to: url)
        let error = expectDataError(.corruptPNG) { _ = try lab.load() }
        #expect(error?.text.contains("train_label/frame5.png: truncated or corrupt PNG") == true, "\(error?.text ?? "")")
    }

    @Test("a non-PNG file named .png among the frames")
    func notPNGFrame() throws {
        let lab = try TinyLab.make(trainFrames: 16, valFrames: 2, testVideos: 1, testLength: 2)
        defer { TestSupport.cleanUp(lab.root) }
        try Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]).write(to: lab.url("val/val_img/frame000001.png"))
        let error = expectDataError(.notPNG) { _ = try lab.load() }
        #expect(error?.text.contains("val_img/frame000001.png: not a PNG file (starts with bytes FF D8 FF E0)") == true, "\(error?.text ?? "")")
    }

    @Test("a .jpg among the frames is an error naming it")
    func strayJPEG() throws {
        let lab = try TinyLab.make(trainFrames: 16, valFrames: 2, testVideos: 1, testLength: 2)
        defer { TestSupport.cleanUp(lab.root) }
        try Data([0xFF, 0xD8]).write(to: lab.url("train/train_img/frame16.jpg"))
        let error = expectDataError(.unexpectedFile) { _ = try lab.load() }
        #expect(error?.text.contains(lab.url("train/train_img").path + ": 1 file is not PNG: frame16.jpg") == true, "\(error?.text ?? "")")
    }

    @Test("an empty frame folder")
    func emptyFolder() throws {
        let lab = try TinyLab.make(trainFrames: 16, valFrames: 2, testVideos: 1, testLength: 2)
        defer { TestSupport.cleanUp(lab.root) }
        try lab.remove("val/val_img")
        try lab.remove("val/val_label")
        try FileManager.default.createDirectory(at: lab.url("val/val_img"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: lab.url("val/val_label"), withIntermediateDirectories: true)
        try Data().write(to: lab.url("val/val_img/.DS_Store"))
        let error = expectDataError(.emptyFolder) { _ = try lab.load() }
        #expect(error?.text.contains(lab.url("val/val_img").path + ": no PNG frames") == true, "\(error?.text ?? "")")
    }

    @Test("a training video shorter than train_vi_len")
    func shortTrainVideo() throws {
        let lab = try TinyLab.make(trainFrames: 10, valFrames: 2, testVideos: 1, testLength: 2)
        defer { TestSupport.cleanUp(lab.root) }
        let error = expectDataError(.tooShort) { _ = try lab.load() }
        #expect(error?.text.contains(lab.url("train/train_img").path + ": 10 frames, fewer than one training window (train_vi_len = 16)") == true,
                "\(error?.text ?? "")")
    }

    // MARK: the check command

    @Test("DatasetCheck reports counts and sizes of a good dataset")
    func checkGoodDataset() throws {
        let lab = try TinyLab.make(trainFrames: 16, valFrames: 3, testVideos: 2, testLength: 4)
        defer { TestSupport.cleanUp(lab.root) }
        let report = DatasetCheck.run(root: lab.root)
        #expect(report.isValid)
        #expect(report.frameCount(.train) == 16 && report.frameCount(.val) == 3 && report.frameCount(.test) == 2)
        let summary = report.summary
        #expect(summary.contains("train: 1 video, 16 frames, 16 labels"))
        #expect(summary.contains("test/1: 1 frame, 4 labels, 4 ground truth, size 16x8"))
        #expect(summary.contains("No problems found."))
    }

    @Test("DatasetCheck reports a video whose labels have another size than its frames")
    func checkFramesAndLabelsOfDifferentSizes() throws {
        let lab = try TinyLab.make(trainFrames: 16, valFrames: 3, testVideos: 1, testLength: 4)
        defer { TestSupport.cleanUp(lab.root) }
        for i in 0..<3 { try lab.write("val/val_label/frame00000\(i).png", lab.frame(i, label: true, width: 32, height: 16)) }
        let report = DatasetCheck.run(root: lab.root)
        #expect(report.problems.map(\.kind) == [.sizeMismatch])
        #expect(report.summary.contains("val_label: images are 32x16 but") && !report.summary.contains("No problems found"), "\(report.summary)")
    }

    @Test("DatasetCheck lists every problem, not only the first")
    func checkListsAllProblems() throws {
        let lab = try TinyLab.make(trainFrames: 16, valFrames: 3, testVideos: 1, testLength: 4)
        defer { TestSupport.cleanUp(lab.root) }
        try lab.remove("train/train_label/frame4.png")
        try Data("GIF89a".utf8).write(to: lab.url("val/val_img/frame000001.png"))
        try lab.write("test/test_label/0/frame000002.png", lab.frame(2, label: true, width: 8, height: 8))
        let report = DatasetCheck.run(root: lab.root)
        #expect(report.problems.map(\.kind) == [.unpairedFiles, .notPNG, .sizeMismatch])
        #expect(report.summary.contains("3 problems:"))
        #expect(report.summary.contains("frame000001.png: not a PNG file"))
    }
}
