import Foundation
import Testing
import Torch
import VidPred
import VidPredData
import VidPredReport

/// Generation with the Predictor and the lab's submission.csv, on a tiny model.
@Suite("Prediction and submission.csv", .serialized)
struct PredictionTests {
    static func inputs(count: Int, length: Int, height: Int = 8, width: Int = 16) throws -> [PredictionInput] {
        try (0..<count).map { v in
            let frames = TestSupport.frames(1, height: height, width: width, seed: 10 + UInt64(v))
            let labels = TestSupport.frames(length, height: height, width: width, seed: 20 + UInt64(v))
            return try PredictionInput(firstFrame: frames[0].pixels, labels: labels.flatMap(\.pixels), length: length, height: height, width: width)
        }
    }

    static func generate(_ predictor: Predictor, _ inputs: [PredictionInput], samples: Int) throws -> [[Int]: PredictedSample] {
        var out: [[Int]: PredictedSample] = [:]
        try predictor.predict(inputs, samples: samples) { out[[$0.video, $0.sample]] = $0 }
        return out
    }

    @Test("with z ~ N(0, I) and one row, the Predictor's rollout equals LabModel.rollout with the same generator")
    func sameAsLabRollout() throws {
        let model = try TestSupport.tinyModel()
        let input = try Self.inputs(count: 1, length: 5)[0]
        let first = try Tensor(input.firstFrame, shape: [1, 3, 8, 16])
        let labels = try Tensor(input.labels, shape: [1, 5, 3, 8, 16])
        let predictor = Predictor(model: model)
        let ours = try predictor.rollout(firstFrame: first, labels: labels, generators: [RandomGenerator(seed: 9)])
        let lab = try model.rollout(firstFrame: first, labels: labels, generator: RandomGenerator(seed: 9))
        #expect(try ours.floats() == lab.floats())
    }

    @Test("every video and sample is generated once; frame 0 is the given frame; a sample does not depend on K or the batch")
    func samplesAndBatching() throws {
        let model = try TestSupport.tinyModel()
        let inputs = try Self.inputs(count: 3, length: 4)
        let batched = try Self.generate(Predictor(model: model, seed: 5, maxBatch: 16), inputs, samples: 2)
        #expect(batched.count == 6)
        for (key, sample) in batched {
            #expect(sample.frames.count == 4 * 3 * 8 * 16)
            #expect(sample.frame(0) == inputs[key[0]].firstFrame, "frame 0 of video \(key[0]) is the given frame")
            #expect(sample.frames.allSatisfy { $0 >= 0 && $0 <= 1 }, "outputs are clamped to [0, 1]")
        }
        #expect(batched[[0, 0]]!.frames != batched[[0, 1]]!.frames, "two samples of one video differ")
        // One rollout at a time, and only one sample: the same noise per (video, sample).
        let single = try Self.generate(Predictor(model: model, seed: 5, maxBatch: 1), inputs, samples: 1)
        for v in 0..<3 {
            let a = batched[[v, 0]]!.frames, b = single[[v, 0]]!.frames
            let diff = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            #expect(diff < 1e-4, "video \(v) sample 0 differs by \(diff) between batch sizes")
        }
        // Another seed gives another video.
        let other = try Self.generate(Predictor(model: model, seed: 6), inputs, samples: 1)
        #expect(other[[0, 0]]!.frames != single[[0, 0]]!.frames)
    }

    @Test("rollout runs rows batchSize at a time: the same videos as one batch, progress counts every frame once, the default is the model's preference")
    func rolloutInBatches() throws {
        let model = try TestSupport.tinyModel()
        let inputs = try Self.inputs(count: 5, length: 4)
        let first = try Tensor.cat(inputs.map { try Tensor($0.firstFrame, shape: [1, 3, 8, 16]) }, dim: 0)
        let labels = try Tensor.cat(inputs.map { try Tensor($0.labels, shape: [1, 4, 3, 8, 16]) }, dim: 0)
        func generators() throws -> [RandomGenerator] { try (0..<5).map { try RandomGenerator(seed: 40 + UInt64($0)) } }
        let whole = try Predictor(model: model, maxBatch: 5).rollout(firstFrame: first, labels: labels, generators: generators())
        var reported: [Int] = []
        let split = try Predictor(model: model, maxBatch: 2).rollout(firstFrame: first, labels: labels, generators: generators()) {
            reported.append($0)
        }
        #expect(split.shape == [5, 4, 3, 8, 16])
        let difference = try (split - whole).abs().max().item()
        #expect(difference < 1e-5, "batches of 2, 2, 1 differ from one batch of 5 by \(difference)")
        #expect(reported == reported.sorted() && reported.last == 5 * 3, "progress \(reported) should rise to 15 frames")
        #expect(Predictor(model: model).batchSize == model.preferredGenerationBatch(bfloat16: false))
        #expect(try autocast { Predictor(model: model).batchSize } == model.preferredGenerationBatch(bfloat16: true))
        #expect(Predictor(model: model, maxBatch: 7).batchSize == 7)
    }

    @Test("the test-time mirror: frame 0 stays the given frame, progress counts both rollouts, and mirroring the input mirrors the averaged video")
    func mirrorAverage() throws {
        let model = try TestSupport.tinyModel()
        let (length, height, width) = (4, 8, 16)
        let plane = height * width
        // Labels of pure colours of mirror pairs (shoulders, elbows, wrists) on white, so that
        // swapping the colours twice gives the labels back and the mirror of the mirror is the input.
        let palette = [2, 3, 4, 5, 6, 7].map { PoseLabel.colours[$0] }
        var state: UInt64 = 77
        var labels = [Float](repeating: 1, count: length * 3 * plane)
        for t in 0..<length {
            for i in 0..<plane {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                let pick = Int(state >> 59)  // 0..31: most pixels stay white
                guard pick < palette.count else { continue }
                let c = palette[pick]
                for (channel, value) in [c.0, c.1, c.2].enumerated() { labels[(t * 3 + channel) * plane + i] = Float(value) / 255 }
            }
        }
        let swappedTwice = PoseLabel.mirroredColours(PoseLabel.mirroredColours(labels, height: height, width: width), height: height, width: width)
        #expect(zip(swappedTwice, labels).allSatisfy { abs($0 - $1) < 1e-6 }, "the test's labels must come back from two colour swaps")
        let first = TestSupport.frames(1, height: height, width: width, seed: 3)[0].pixels
        let input = try PredictionInput(firstFrame: first, labels: labels, length: length, height: height, width: width)
        func flippedX(_ planar: [Float], frames: Int) throws -> [Float] {
            try Tensor(planar, shape: [frames, 3, height, width]).flipped([3]).contiguous().floats()
        }
        let mirroredInput = try PredictionInput(firstFrame: flippedX(first, frames: 1),
                                                labels: flippedX(PoseLabel.mirroredColours(labels, height: height, width: width), frames: length),
                                                length: length, height: height, width: width)
        var progress: [Int] = []
        var averaged: PredictedSample?
        try Predictor(model: model, seed: 4, mirrorAverage: true).predict([input], samples: 1, onProgress: { done, all in
            progress.append(done)
            #expect(all == 2 * (length - 1))
        }) { averaged = $0 }
        let ofMirrored = try Self.generate(Predictor(model: model, seed: 4, mirrorAverage: true), [mirroredInput], samples: 1)[[0, 0]]!
        let plain = try Self.generate(Predictor(model: model, seed: 4), [input], samples: 1)[[0, 0]]!
        let result = try #require(averaged)
        #expect(result.frame(0) == first, "frame 0 is the given frame")
        #expect(progress.last == 2 * (length - 1), "progress \(progress) should reach both rollouts' frames")
        let mirroredBack = try flippedX(ofMirrored.frames, frames: length)
        let difference = zip(mirroredBack, result.frames).map { abs($0 - $1) }.max() ?? .infinity
        #expect(difference < 1e-5, "the averaged video of the mirrored input, flipped back, differs by \(difference)")
        let change = zip(plain.frames, result.frames).map { abs($0 - $1) }.max() ?? 0
        #expect(change > 1e-3, "the average should differ from the plain rollout (by \(change))")
    }

    @Test("with a learned prior, prior-mean samples are identical and learned-prior samples differ; a model without one refuses")
    func learnedPriorLatents() throws {
        let model = try RandomGenerator.initialising(seed: 1) { try LabModel(ModelDimensions(frame: 16, label: 8, noise: 4, decoder: 24), learnedPrior: true) }
        model.eval()
        let inputs = try Self.inputs(count: 1, length: 3)
        let mean = try Self.generate(Predictor(model: model, latent: .priorMean, seed: 1), inputs, samples: 2)
        #expect(mean[[0, 0]]!.frames == mean[[0, 1]]!.frames)
        let sampled = try Self.generate(Predictor(model: model, latent: .learnedPrior, seed: 1), inputs, samples: 2)
        #expect(sampled[[0, 0]]!.frames != sampled[[0, 1]]!.frames)
        #expect(Predictor(model: model).latent == .learnedPrior, "a model with a learned prior samples from it by default")
        let plain = try TestSupport.tinyModel()
        do {
            _ = try Self.generate(Predictor(model: plain, latent: .priorMean, seed: 1), inputs, samples: 1)
            Issue.record("prior-mean accepted without a learned prior")
        } catch {
            #expect("\(error)".contains("needs a model trained with a learned prior"))
        }
    }

    @Test("submission.csv: header id,0..N-1, ids 630*i+t, integers in [0,255], frame 0 = the given frame")
    func submissionFormat() throws {
        let folder = try TestSupport.scratchFolder()
        defer { TestSupport.cleanUp(folder) }
        let (height, width, length) = (32, 64, 5)
        let model = try TestSupport.tinyModel()
        let inputs = try Self.inputs(count: 2, length: length, height: height, width: width)
        let samples = try Self.generate(Predictor(model: model, seed: 3), inputs, samples: 1)
        let url = folder.appendingPathComponent("submission.csv")
        let writer = try SubmissionWriter(url: url, valuesPerFrame: 3 * height * width)
        for v in 0..<2 { try writer.append(video: v, frames: samples[[v, 0]]!.frames, count: length) }
        #expect(!FileManager.default.fileExists(atPath: url.path), "nothing appears before finish()")
        try writer.finish()

        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.last == "", "the file ends with a newline")
        let rows = lines.dropLast().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows[0] == ["id"] + (0..<6144).map(String.init), "header id,0,1,...,6143")
        #expect(rows.count == 1 + 2 * length)
        for (r, row) in rows.dropFirst().enumerated() {
            let video = r / length, t = r % length
            #expect(row.count == 6145)
            #expect(row[0] == String(630 * video + t), "row \(r + 1): id \(row[0]), expected \(630 * video + t)")
            let values = row.dropFirst().map { Int($0) }
            #expect(values.allSatisfy { $0 != nil && (0...255).contains($0!) }, "row \(r + 1): every value an integer in [0, 255]")
            // Values are rint(x * 255) of the prediction in C, H, W order.
            let frame = samples[[video, 0]]!.frame(t)
            #expect(values.map { $0! } == frame.map { Int(RGBImage.quantize($0)) })
            if t == 0 {
                #expect(values.map { $0! } == inputs[video].firstFrame.map { Int(($0 * 255).rounded()) }, "frame 0 is the given frame")
            }
        }
    }

    @Test("submission.csv rejects a repeated id and a video longer than the id stride")
    func submissionErrors() throws {
        let folder = try TestSupport.scratchFolder()
        defer { TestSupport.cleanUp(folder) }
        let writer = try SubmissionWriter(url: folder.appendingPathComponent("s.csv"), valuesPerFrame: 3, idStride: 2)
        try writer.append(video: 0, frames: [0, 0.5, 1, 1, 1, 1], count: 2)
        #expect(throws: ReportError.self) { try writer.append(video: 0, frames: [0, 0, 0], count: 1) }
        #expect(throws: ReportError.self) { try writer.append(video: 1, frames: [Float](repeating: 0, count: 9), count: 3) }
    }
}

@Suite("Loading a trained model", .serialized)
struct TrainedModelTests {
    @Test("a run folder gives its best checkpoint and config; a lone checkpoint gets its dimensions from the weights")
    func loadRunAndCheckpoint() throws {
        let folder = try TestSupport.scratchFolder()
        defer { TestSupport.cleanUp(folder) }
        let run = try RunFixture.make(in: folder)
        let trained = try TrainedModel.load(run: RunFolder(run))
        #expect(trained.checkpoint.lastPathComponent == "best.safetensors")
        #expect(trained.config == RunFixture.tinyConfig() && trained.run?.url.standardizedFileURL.path == run.standardizedFileURL.path)
        #expect(try TrainedModel.load(run: RunFolder(run), which: "last").checkpoint.lastPathComponent == "last.safetensors")
        #expect(throws: (any Error).self) { try TrainedModel.load(run: RunFolder(run), which: "epoch-0099") }

        // The same weights alone in a folder: no config.json to read.
        let lone = folder.appendingPathComponent("lone/model.safetensors")
        try FileManager.default.createDirectory(at: lone.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: trained.checkpoint, to: lone)
        let loaded = try TrainedModel.load(checkpoint: lone)
        #expect(loaded.run == nil)
        #expect(loaded.config.dimensions == ModelDimensions(frame: 16, label: 8, noise: 4, decoder: 24))
        let a = trained.model.namedParameters().map(\.1), b = loaded.model.namedParameters().map(\.1)
        for (x, y) in zip(a, b) { #expect(try x.floats() == y.floats()) }
    }
}
