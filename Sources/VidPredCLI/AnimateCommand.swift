import ArgumentParser
import Foundation
import Torch
import VidPred
import VidPredData

struct Animate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Motion transfer: the dancer a run was trained on performs the moves of another video.",
        discussion: """
            The other video's poses are extracted (as `vidpred poses` does) and fitted to the trained dancer as Everybody \
            Dance Now does: scaled by the ratio of the two body heights (medians over the video) and moved so the feet \
            of its first frame stand where the trained dancer's stand in --image. Then the labels are drawn at the model's size and the model generates every \
            frame from --image (the given frame) on. Writes OUT (MP4, through ffmpeg) and, beside it, OUT.gif with the \
            labels and the frames side by side. Without --image, the run's first val frame is the given frame and \
            the poses are used where they are (no fitting: that needs a full-size frame of the dancer).
            """)
    @Option(name: .customLong("run"), help: "The trained run.") var runFolder: String
    @Option(help: "The video whose moves are transferred (or a folder of its frames).") var poses: String
    @Option(help: "A full-size frame of the trained dancer: the first frame, and where and how big the dancer is.") var image: String?
    @Option(help: "The MP4 to write.") var out: String
    @Option(help: "Frames per second of the MP4 and of the pose smoothing.") var fps = 30.0
    @Option(help: "At most this many frames.") var frames: Int?
    @Option(help: "Seed of the model's noise.") var seed: UInt64 = 1
    @Option(help: "Folder of the pose models (default: .deps/models of this checkout, or VIDPRED_MODELS).") var models: String?
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        runtime.apply()
        let trained = try TrainedModel.load(run: RunFolder(path: runFolder))
        let (height, width) = (trained.config.height, trained.config.width)
        let modelFolder = try PoseModels.folder(explicit: models)
        // The given frame, and the target dancer's pose when a full-size frame is given.
        let given: RGBImage
        var target: [Keypoint]?
        let full = try image.map { try PNG.read(URL(fileURLWithPath: $0)) }
        if let image, let full {
            given = full.resized(width: width, height: height)
            let pose = try BlazePose(models: modelFolder)
            guard let found = try pose.estimate(Tensor(full.pixels, shape: [3, full.height, full.width]), track: false) else {
                throw CommandError("no person found in \(image): give a frame that shows the trained dancer")
            }
            target = Body25.fromBlazePose(found.landmarks)
        } else {
            let data = try LabDataset.load(root: try Self.dataset(of: trained), options: LabDatasetOptions(height: height, width: width, splits: [.val]))
            guard let sequence = data.val.first?.frames, sequence.count > 0 else { throw CommandError("the run's dataset has no val video: give --image") }
            given = sequence.frame(0)
            print("no --image: the first val frame is the given frame, and the poses are used where they are")
        }
        // The source's poses, per frame.
        var options = PoseExtraction.Options()
        options.framesPerSecond = fps
        let extraction = try PoseExtraction(models: modelFolder, options: options)
        let stream = try FrameStream(URL(fileURLWithPath: poses))
        var bodies: [[Keypoint]?] = [], hands: [[[Keypoint]]] = [], sourceSize = (width: 0, height: 0)
        while bodies.count < (frames ?? .max), let (_, frame) = try stream.next() {
            sourceSize = (frame.width, frame.height)
            bodies.append(try extraction.next(frame))
            hands.append(extraction.hands)
        }
        guard bodies.count >= 2 else { throw CommandError("\(poses) has \(bodies.count) frame(s): at least 2 are needed") }
        // Everything is drawn in the target frame's coordinates (or the source's, unfitted).
        var canvas = (width: sourceSize.width, height: sourceSize.height)
        if let image, let full, let target {
            canvas = (full.width, full.height)
            guard let fit = MotionTransfer.fit(source: bodies, target: target) else {
                throw CommandError("cannot fit the poses: \(poses) or \(image) never shows a neck and both ankles")
            }
            print(String(format: "fit: scale %.2f, feet moved from (%.0f, %.0f) to (%.0f, %.0f)", fit.scale, fit.sourceFeet.x, fit.sourceFeet.y,
                         fit.targetFeet.x, fit.targetFeet.y))
            bodies = bodies.map { $0?.map(fit.apply) }
            hands = hands.map { $0.map { $0.map(fit.apply) } }
        }
        let labels = zip(bodies, hands).map { body, hand in
            PoseLabel.label(body, hands: hand, sourceWidth: canvas.width, sourceHeight: canvas.height, width: width, height: height)
        }
        let missing = bodies.filter { $0 == nil }.count
        if missing > 0 { print("no person found in \(missing) frame(s) of \(poses): their labels are blank") }
        // Generate.
        // As predict generates: the run's latent and mirror average.
        let input = try PredictionInput(firstFrame: given.pixels, labels: labels.flatMap(\.pixels), length: labels.count, height: height, width: width)
        var generated: [Float] = []
        try Predictor(model: trained.model, latent: trained.config.latent, seed: seed, mirrorAverage: trained.config.mirrorAverage)
            .predict([input], samples: 1) { generated = $0.frames }
        let video = RGBImage.frames(of: generated, width: width, height: height)
        let outURL = URL(fileURLWithPath: out)
        try VideoWriter.writeMP4(video, to: outURL, framesPerSecond: fps, scale: max(1, 256 / width))
        let sideBySide = try zip(labels, video).map { try ContactSheet.make(rows: [[$0, $1]], scale: max(1, 128 / width)) }
        let gif = outURL.deletingPathExtension().appendingPathExtension("gif")
        try AtomicFile.write(try GIF.encode(sideBySide, options: GIFOptions(delayCentiseconds: max(2, Int(100 / fps)))), to: gif)
        print("\(labels.count) frames -> \(out) (and \(gif.lastPathComponent): labels | frames)")
    }

    static func dataset(of trained: TrainedModel) throws -> URL {
        guard let run = trained.run, let record = try run.readManifest()?.data else {
            throw CommandError("the run records no dataset: give --image")
        }
        return record.url
    }
}
