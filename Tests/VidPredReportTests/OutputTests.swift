import Foundation
import Testing
import VidPred
import VidPredData
import VidPredReport

/// The pictures predict writes, checked with a real GIF decoder, and eval over them.
@Suite("Prediction outputs and eval", .serialized)
struct OutputTests {
    /// (frames, width, height) of a GIF as a real decoder sees it: ffprobe, else Pillow from the
    /// project's Python venv; nil when neither is installed.
    static func decodeGIF(_ url: URL) throws -> (frames: Int, width: Int, height: Int)? {
        if let ffprobe = TestSupport.executable("ffprobe") {
            let r = try TestSupport.run(ffprobe, ["-v", "error", "-count_frames", "-select_streams", "v:0",
                                                  "-show_entries", "stream=nb_read_frames,width,height", "-of", "csv=p=0", url.path])
            let parts = r.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",").compactMap { Int($0) }
            guard r.status == 0, parts.count == 3 else { Issue.record("ffprobe failed on \(url.path): \(r.output)"); return nil }
            return (parts[2], parts[0], parts[1])
        }
        let python = TestSupport.repositoryRoot.appendingPathComponent(".deps/pyenv/bin/python")
        guard FileManager.default.isExecutableFile(atPath: python.path) else { return nil }
        let r = try TestSupport.run(python, ["-c", "import sys; from PIL import Image; im = Image.open(sys.argv[1]); print(im.n_frames, im.size[0], im.size[1])", url.path])
        let parts = r.output.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        guard r.status == 0, parts.count == 3 else { Issue.record("Pillow failed on \(url.path): \(r.output)"); return nil }
        return (parts[0], parts[1], parts[2])
    }

    @Test("GIFs decode with the right frame count and size; frames, contact sheet and samples are where the contract says")
    func videoOutputs() throws {
        let folder = try TestSupport.scratchFolder()
        defer { TestSupport.cleanUp(folder) }
        let (length, h, w) = (7, 32, 64)
        let labels = TestSupport.frames(length, height: h, width: w, seed: 1)
        let truth = TestSupport.frames(length, height: h, width: w, seed: 2)
        let samples = [TestSupport.frames(length, height: h, width: w, seed: 3), TestSupport.frames(length, height: h, width: w, seed: 4)]
        let videoFolder = PredictionLayout(root: folder).videoFolder(split: "test", video: "0")
        try VideoOutputs(labels: labels, groundTruth: truth, samples: samples).write(to: videoFolder)

        for t in 0..<length {
            let png = try PNG.read(videoFolder.appendingPathComponent("frames").appendingPathComponent(PredictionLayout.frameName(t)))
            #expect(png == samples[0][t], "frame \(t) of sample 0 is stored losslessly (values on the 1/255 grid)")
        }
        #expect(FileManager.default.fileExists(atPath: videoFolder.appendingPathComponent("samples/1/frames/frame000006.png").path))
        let sheet = try PNG.read(videoFolder.appendingPathComponent("contact_sheet.png"))
        #expect(sheet.height > 4 * 2 * h, "contact sheet rows: label, ground truth, two samples")

        guard let prediction = try Self.decodeGIF(videoFolder.appendingPathComponent("prediction.gif")),
              let sample1 = try Self.decodeGIF(videoFolder.appendingPathComponent("samples/1/prediction.gif")),
              let side = try Self.decodeGIF(videoFolder.appendingPathComponent("side_by_side.gif")) else {
            // A test that cannot run must not pass: scripts/setup.sh installs both decoders.
            Issue.record("cannot check the GIFs: neither ffprobe nor .deps/pyenv (Pillow) is installed (run scripts/setup.sh)")
            return
        }
        #expect(prediction.frames == length && prediction.width == w && prediction.height == h)
        #expect(sample1.frames == length && sample1.width == w && sample1.height == h)
        // label | prediction | ground truth with 1 px borders, 32-pixel-high frames enlarged 3x.
        #expect(side.frames == length && side.width == 3 * (3 * w) + 4 && side.height == 3 * h + 2)

        // Writing again with one sample replaces the folder: no stale sample 1 is left behind.
        try VideoOutputs(labels: labels, groundTruth: nil, samples: [samples[0]]).write(to: videoFolder)
        #expect(!FileManager.default.fileExists(atPath: videoFolder.appendingPathComponent("samples").path))
        let noTruth = try #require(try Self.decodeGIF(videoFolder.appendingPathComponent("side_by_side.gif")))
        #expect(noTruth.width == 2 * (3 * w) + 3, "without ground truth: label | prediction")
        #expect(PredictionLayout(root: folder).videos().map { "\($0.split)/\($0.name):\($0.samples.count)" } == ["test/0:1"])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: videoFolder.deletingLastPathComponent().path)
        #expect(leftovers == ["0"], "no temporary folders left: \(leftovers)")
    }

    @Test("the predictions manifest round-trips its precision; a manifest from before the option reads as nil (fp32)")
    func manifestPrecision() throws {
        let folder = try TestSupport.scratchFolder()
        defer { TestSupport.cleanUp(folder) }
        let url = folder.appendingPathComponent("manifest.json")
        let data = DataRecord(path: "d", fingerprint: DatasetFingerprint(files: 2, bytes: 20, hash: "00ff"))
        try PredictionManifest(checkpoint: "c", data: data, seed: 1, samples: 1, latent: .standardNormal, precision: .bf16,
                               height: 8, width: 16, videos: [], seconds: 1, generationSeconds: 1, framesPerSecond: 5).write(to: url)
        #expect(try PredictionManifest.read(url)?.precision == .bf16)
        #expect(try PredictionManifest.read(url)?.dataRecord == data)
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        object["precision"] = nil
        try JSONSerialization.data(withJSONObject: object).write(to: url)
        let old = try #require(try PredictionManifest.read(url), "a manifest without precision still reads")
        #expect(old.precision == nil && old.seed == 1)
    }

    @Test("eval scores every sample of every video with ground truth and writes eval.json")
    func evaluateFolder() throws {
        let folder = try TestSupport.scratchFolder()
        defer { TestSupport.cleanUp(folder) }
        let data = folder.appendingPathComponent("data")
        let (length, h, w) = (5, 16, 24)
        try TestSupport.writeLabDataset(at: data, length: length, height: h, width: w, testVideos: 2)
        let dataset = try LabDataset.load(root: data, options: LabDatasetOptions(height: h, width: w, splits: [.val, .test]))
        let layout = PredictionLayout(root: folder.appendingPathComponent("predictions"))
        // "Predictions": the truth itself for val (perfect but for frame 0), a shifted copy for test/0 (two samples).
        let val = dataset.val[0]
        try VideoOutputs(labels: [], groundTruth: nil, samples: [(0..<length).map { val.frames.frame($0) }])
            .write(to: layout.videoFolder(split: "val", video: "0"))
        let gt = try #require(dataset.test[0].groundTruth)
        let shifted = (0..<length).map { t in RGBImage(width: w, height: h, pixels: gt.frame(t).pixels.map { min(1, $0 + 0.1) }) }
        let bright = (0..<length).map { t in RGBImage(width: w, height: h, pixels: gt.frame(t).pixels.map { min(1, $0 + 0.2) }) }
        try VideoOutputs(labels: [], groundTruth: nil, samples: [shifted, bright]).write(to: layout.videoFolder(split: "test", video: "0"))
        // A test video with no ground truth in the data is reported, not scored.
        try VideoOutputs(labels: [], groundTruth: nil, samples: [shifted]).write(to: layout.videoFolder(split: "test", video: "7"))

        let result = try EvaluationResult.evaluate(predictions: layout, dataset: dataset)
        #expect(result.videos.map { "\($0.split)/\($0.name)" } == ["val/0", "test/0"])
        #expect(result.skipped.map(\.video) == ["test/7"])
        let valScore = result.videos[0].scores.samples[0]
        #expect(valScore.psnr == .infinity && valScore.ssimPerFrame.allSatisfy { abs($0 - 1) < 1e-12 })
        let test = result.videos[1].scores
        #expect(test.samples.count == 2 && test.samples[0].psnrPerFrame.count == length - 1)
        #expect(test.bestPSNR == test.samples[0].psnr && test.samples[0].psnr > test.samples[1].psnr)
        // The frames went through 8-bit PNG: compare with the quantised prediction.
        let expected = Metrics.psnr(shifted[1].pixels.map { Float(RGBImage.quantize($0)) / 255 }, gt.frame(1).pixels)
        #expect(abs(test.samples[0].psnrPerFrame[0] - expected) < 1e-9)
        #expect(result.table().contains("test/0") && result.table().contains("baseline: repeat the first frame"))
        // The baseline: frame 0 of the truth for every frame, scored the same way.
        for (video, truth) in [(result.videos[0], val.frames), (result.videos[1], gt)] {
            let repeated = Metrics.psnr(truth.frame(0).pixels.map { Float(RGBImage.quantize($0)) / 255 }, truth.frame(2).pixels)
            #expect(abs(video.baseline.psnrPerFrame[1] - repeated) < 1e-9, "\(video.split)/\(video.name)")
            #expect(video.baseline.psnrPerFrame.count == length - 1)
        }

        let url = folder.appendingPathComponent("eval.json")
        try result.writeJSON(to: url, predictions: layout.root, data: data)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let videos = try #require(json["videos"] as? [[String: Any]])
        #expect(videos.count == 2)
        let samples = try #require(videos[1]["samples"] as? [[String: Any]])
        #expect((samples[0]["psnr_per_frame"] as? [Any])?.count == length - 1)
        #expect((samples[0]["ssim_per_frame"] as? [Any])?.count == length - 1)
        #expect(videos[1]["best"] != nil && videos[1]["mean"] != nil && (json["splits"] as? [String: Any])?["test"] != nil)
        // The report's reader sees the same numbers.
        let read = try #require(try EvaluationFile.read(url))
        #expect(read.videos.count == 2 && abs(read.videos[1].bestPSNR - test.bestPSNR) < 1e-9)
        #expect(abs(read.videos[1].baselinePSNR - result.videos[1].baseline.psnr) < 1e-9 && read.videos[1].baselinePSNRPerFrame.count == length - 1)
        let splits = try #require(json["splits"] as? [String: [String: Any]])
        #expect((splits["test"]?["baseline"] as? [String: Any])?["method"] as? String == "repeat the first frame")
    }
}
