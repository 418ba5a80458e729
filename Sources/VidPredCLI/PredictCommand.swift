import ArgumentParser
import Foundation
import Torch
import VidPred
import VidPredData
import VidPredReport

/// Which model `predict` uses: a run folder's checkpoint or a checkpoint file.
struct ModelChoice: ParsableArguments {
    @Option(help: "Run folder: uses checkpoints/best.safetensors (else last) and its config.json.")
    var run: String?
    @Option(name: [.customLong("checkpoint"), .customLong("ckpt-path"), .customLong("ckpt_path")],
            help: "A checkpoint file instead of --run: a VidPred .safetensors (its run's config.json is used when next to it) or a lab .ckpt (the lab's Tester.py --ckpt_path).")
    var checkpoint: String?
    @Option(help: "Which checkpoint of --run: best, last or epoch-NNNN (default: best, else last).")
    var which: String?

    func load() throws -> TrainedModel {
        switch (run, checkpoint) {
        case (let run?, nil): return try TrainedModel.load(run: RunFolder(path: run), which: which)
        case (nil, let checkpoint?): return try TrainedModel.load(checkpoint: URL(fileURLWithPath: checkpoint))
        case (nil, nil): throw ValidationError("say which model: --run runs/NAME or --checkpoint FILE")
        default: throw ValidationError("give either --run or --checkpoint, not both")
        }
    }
}

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate whole videos from a trained model: PNG frames, GIFs, contact sheets and the lab's submission.csv.",
        discussion: """
            Every video of the chosen splits is generated from its first frame and its pose labels, each frame from the previous prediction \
            (the lab's loop) or, with previous_frame given (the pyramid recipe), from the first frame \
            (z from --latent: by default the model's learned prior if it has one, else N(0, I)), K samples per video, batched over videos and samples. Outputs go to RUN/predictions/ \
            (docs/run-folder.md): <split>/<video>/frames/, prediction.gif, side_by_side.gif, contact_sheet.png, \
            samples/<k>/ for k >= 1, and submission.csv (test videos, sample 0). Score them with `vidpred eval`.
            """)

    @OptionGroup var model: ModelChoice
    @Option(name: [.customLong("data"), .customLong("DR")],
            help: "Dataset in the lab layout (test/test_img, test/test_label; val/) (default: the dataset the run recorded).")
    var data: String?
    @Flag(help: "Generate from --data even though it is not the dataset the run recorded.") var allowDataChange = false
    @Option(name: [.customLong("out"), .customLong("save_root")], help: "Output folder (default: RUN/predictions). Earlier predictions there are replaced whole, so one folder holds one command's videos: ask for every split in one call (--splits val,test) or use two folders.") var out: String?
    @Option(help: "Splits to generate, comma-separated: val, test (default: val and test, or val alone when the dataset has no test/).")
    var splits: String?
    @Option(help: "Stochastic rollouts per video (K).") var samples = 1
    @Option(help: "Where z comes from: standard-normal (the lab), learned-prior or prior-mean (models trained with prior learned; prior-mean is deterministic). Default: the run's latent setting, else the model's learned prior if any, else standard-normal.")
    var latent: LatentSource?
    @Option(help: "Seed of the noise z (sample k of video v is the same for any K and batch size).") var seed: UInt64 = 0
    @Option(help: "true: each video is also generated mirrored left to right (first frame and labels flipped, the labels' left and right colours swapped) and the two rollouts are averaged frame by frame (twice the generation time); false: the plain rollout. Default: the run's mirror_average setting.")
    var mirrorAverage: Bool?
    @Option(help: "Generate only the first N frames of each video (0 = the whole video).") var frames = 0
    @Option(help: "Most rollouts generated at once (memory: ~15 MB each at 630 frames of 32x64; default: the model's fastest: lab 3, pyramid 8; with --precision bf16 lab 5, pyramid 16).") var batchSize: Int?
    @Option(help: "GIF frame time in hundredths of a second (5 = 20 frames/s).") var gifDelay = 5
    @Option(help: "fp32 (as scored everywhere in the README), bf16: bfloat16 autocast, channels-last, 2-3x faster on CPUs with AVX512-BF16/AMX; or auto: bf16 where the device has native bfloat16, else fp32.")
    var precision = Precision.fp32
    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        guard samples >= 1 else { throw ValidationError("--samples must be at least 1") }
        guard frames >= 0 else { throw ValidationError("--frames must be 0 (all) or positive") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        guard (0...65535).contains(gifDelay) else { throw ValidationError("--gif-delay must be 0...65535") }
    }

    func run() throws {
        do { try generate() } catch { throw CommandLineHint.add(to: error) }
    }

    private func generate() throws {
        runtime.apply()
        let trained = try model.load()
        let config = trained.config
        var requested = try Self.parseSplits(splits ?? "val,test")
        guard let outFolder = out.map({ URL(fileURLWithPath: $0) }) ?? trained.run?.predictions else {
            throw ValidationError("\(trained.checkpoint.path) is not inside a run folder: say where to write with --out DIR")
        }
        let layout = PredictionLayout(root: outFolder)
        print("model: \(trained.checkpoint.path) (\(trained.model.parameterCount) parameters, frames \(config.width)x\(config.height))")

        let choice = try DataChoice.resolve(requested: data.map { URL(fileURLWithPath: $0) }, recorded: trained.run?.readManifest()?.data,
                                            allowChange: allowDataChange, owner: trained.run.map { "the run \($0.path)" } ?? "a checkpoint outside a run folder")
        print(choice.note)
        let dataRoot = choice.url
        // Datasets made from one video (make-data video) have train and val only.
        if splits == nil, !FileManager.default.fileExists(atPath: dataRoot.appendingPathComponent("test").path) {
            requested.removeAll { $0 == .test }
            print("\(dataRoot.path) has no test/ split: generating the val videos only")
        }
        let dataset = try LabDataset.load(root: dataRoot, options: LabDatasetOptions(
            height: config.height, width: config.width, splits: requested, trainVideoLength: config.trainVideoLength))
        let videos = requested.flatMap { $0 == .val ? dataset.val : $0 == .test ? dataset.test : [] }
        guard !videos.isEmpty else { throw ValidationError("\(dataRoot.path) has no \(requested.map(\.rawValue).joined(separator: ",")) videos to generate") }
        let inputs = try videos.map { try PredictionInput(video: $0, limit: frames) }
        let generatedFrames = inputs.reduce(0) { $0 + $1.length - 1 } * samples
        print("generating \(videos.count) video(s) x \(samples) sample(s), \(generatedFrames) frames, into \(outFolder.path)")

        try Self.clearPreviousPredictions(layout)

        let source = latent ?? config.latent
        let mirrorAverage = self.mirrorAverage ?? config.mirrorAverage
        if mirrorAverage {
            print("mirror average: each video also generated mirrored and the two averaged (\(self.mirrorAverage == nil ? "the run's mirror_average; " : "")--mirror-average false: the plain rollout)")
        }
        if let source { try trained.model.check(source) }
        let device = try runtime.prepareDevice()
        let precision = self.precision.resolved(on: device) { print($0) }  // as the manifest records it
        let bfloat16 = precision.usesAutocast
        RuntimeOptions.warnIfBFloat16IsEmulated(bfloat16, on: device, work: "generation")
        if bfloat16 && device == .cpu {
            try trained.model.convertToChannelsLast()  // bf16 in NCHW is slower than fp32 on oneDNN
        }
        try trained.model.move(to: device)
        let predictor = Predictor(model: trained.model, latent: source, seed: seed, maxBatch: batchSize, device: device, mirrorAverage: mirrorAverage)
        let progress = GenerationProgress()
        let start = Date()
        var pending: [Int: [PredictedSample]] = [:]
        var submissionFrames: [Int: [Float]] = [:]
        var written: [PredictionManifest.Video] = []
        var writingSeconds = 0.0
        // bf16: the rollout's convolutions under autocast (the caller's thread state), pictures in float32.
        try autocast(on: device, enabled: bfloat16) {
            try predictor.predict(inputs, samples: samples, onProgress: progress.update) { sample in
                pending[sample.video, default: []].append(sample)
                guard pending[sample.video]!.count == samples else { return }
                let writeStart = Date()
                defer { writingSeconds += Date().timeIntervalSince(writeStart) }
                let done = pending.removeValue(forKey: sample.video)!.sorted { $0.sample < $1.sample }
                let video = videos[sample.video], length = inputs[sample.video].length
                try Self.writeOutputs(video: video, samples: done, length: length, layout: layout, gifDelay: gifDelay)
                if video.split == .test { submissionFrames[sample.video] = done[0].frames }
                written.append(.init(split: video.split.rawValue, name: PredictionLayout.folderName(of: video), frames: length,
                                     hasGroundTruth: video.referenceFrames != nil))
                progress.note("wrote \(layout.videoFolder(split: video.split.rawValue, video: PredictionLayout.folderName(of: video)).path) (\(samples) sample(s))")
            }
        }
        progress.finish()
        // Throughput of the model alone: the time spent writing pictures is left out.
        let generationSeconds = Date().timeIntervalSince(start) - writingSeconds

        let testIndices = videos.indices.filter { videos[$0].split == .test }
        if !testIndices.isEmpty {
            let frameSize = 3 * config.height * config.width
            let stride = max(SubmissionWriter.labFramesPerVideo, testIndices.map { inputs[$0].length }.max() ?? 0)
            let writer = try SubmissionWriter(url: layout.submission, valuesPerFrame: frameSize, idStride: stride)
            for (position, index) in testIndices.enumerated() {
                try writer.append(video: position, frames: submissionFrames[index]!, count: inputs[index].length)
            }
            try writer.finish()
            print("submission: \(layout.submission.path) (\(testIndices.count) video(s), ids \(stride) * video + frame)")
        }
        let seconds = Date().timeIntervalSince(start)
        let framesPerSecond = Double(generatedFrames) / max(generationSeconds, 1e-9)
        try PredictionManifest(checkpoint: trained.checkpoint.path, data: choice.record, seed: seed, samples: samples,
                               latent: predictor.latent, mirrorAverage: mirrorAverage, precision: precision, height: config.height, width: config.width, videos: written,
                               seconds: seconds, generationSeconds: generationSeconds, framesPerSecond: framesPerSecond)
            .write(to: layout.manifest)
        print(String(format: "done in %.1f s: %.1f s generating (%.1f frames/s), %.1f s writing; outputs in %@",
                     seconds, generationSeconds, framesPerSecond, writingSeconds, outFolder.path))
        if written.contains(where: \.hasGroundTruth) {
            // `eval --run` reads RUN/predictions: elsewhere (--out) it needs the folder itself.
            let runHint = (out == nil ? model.run : nil).map { "--run \($0)" } ?? "--predictions \(outFolder.path)"
            print("score them: vidpred eval \(runHint)")
        }
    }

    /// A predictions folder always holds the outputs of one predict command (one checkpoint, one
    /// seed, as its manifest says), so eval never mixes in videos of an earlier model. A folder
    /// that is not a predictions folder is never deleted.
    static func clearPreviousPredictions(_ layout: PredictionLayout) throws {
        let fm = FileManager.default
        let contents = (try? fm.contentsOfDirectory(atPath: layout.root.path)) ?? []
        guard !contents.isEmpty else { return }
        guard fm.fileExists(atPath: layout.manifest.path) else {
            throw ValidationError("\(layout.root.path) is not empty and holds no manifest.json, so it is not a predictions folder: choose a new or empty --out")
        }
        print("replacing the previous predictions in \(layout.root.path)")
        do {
            try fm.removeItem(at: layout.root)
        } catch {
            throw ValidationError("cannot remove the previous predictions in \(layout.root.path): \(error.localizedDescription)")
        }
    }

    static func parseSplits(_ text: String) throws -> [LabSplit] {
        try text.split(separator: ",").map { part in
            let name = part.trimmingCharacters(in: .whitespaces)
            guard let split = LabSplit(rawValue: name), split != .train else {
                throw ValidationError("--splits: '\(name)' is not val or test")
            }
            return split
        }
    }

    /// The first frame and the labels of a video, cut to `frames` frames when positive.
    static func writeOutputs(video: LabVideo, samples: [PredictedSample], length: Int, layout: PredictionLayout, gifDelay: Int) throws {
        let (h, w) = (video.labels.height, video.labels.width)
        let truth = video.referenceFrames.map { seq in (0..<min(length, seq.count)).map { seq.frame($0) } }
        var outputs = VideoOutputs(labels: (0..<length).map { video.labels.frame($0) }, groundTruth: truth,
                                   samples: samples.map { RGBImage.frames(of: $0.frames, width: w, height: h) })
        outputs.gifOptions = GIFOptions(delayCentiseconds: gifDelay)
        try outputs.write(to: layout.videoFolder(split: video.split.rawValue, video: PredictionLayout.folderName(of: video)))
    }
}

/// One status line for long generation or scoring: frames done, rate and ETA, redrawn in place on
/// a terminal, a line every ten seconds in a log.
final class GenerationProgress {
    private let isTTY = isatty(STDOUT_FILENO) != 0
    private let start = Date()
    private var lastPrinted = Date.distantPast
    private var printedAny = false

    func update(done: Int, total: Int) {
        let now = Date()
        guard now.timeIntervalSince(lastPrinted) > (isTTY ? 0.2 : 10) || done == total else { return }
        lastPrinted = now
        let elapsed = now.timeIntervalSince(start)
        let rate = Double(done) / max(elapsed, 1e-9)
        let eta = rate > 0 ? Double(total - done) / rate : .infinity
        let line = String(format: "generating: %d/%d frames  %.1f frames/s  ETA %@", done, total, rate, TrainingProgress.clock(eta))
        if isTTY {
            print("\r" + line, terminator: "")
            fflush(nil)
        } else {
            print(line)
        }
        printedAny = true
    }

    /// A line of its own, above the status line.
    func note(_ text: String) {
        if isTTY && printedAny { print("\r\u{1B}[K", terminator: "") }
        print(text)
        lastPrinted = .distantPast  // redraw the status line on the next update
    }

    func finish() {
        if isTTY && printedAny { print("") }
    }
}
