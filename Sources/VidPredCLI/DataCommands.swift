import ArgumentParser
import Foundation
import VidPred
import VidPredData

extension SyntheticCast: ExpressibleByArgument {}

/// `vidpred make-data synthetic|video`: make a dataset in the lab layout.
struct MakeData: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-data",
        abstract: "Make a dataset in the lab layout: the built-in synthetic dance data, or from your own videos.",
        subcommands: [Synthetic.self, Video.self])

    struct Synthetic: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Render the synthetic dance dataset (deterministic: the same seed gives identical files).")
        @Option(help: "Output folder (created atomically; an identical existing dataset is reused).") var out: String
        @Option(help: "Training frames.") var trainFrames = 2000
        @Option(help: "Validation videos.") var valVideos = 1
        @Option(help: "Test videos.") var testVideos = 2
        @Option(help: "Frames per val/test video.") var videoLength = 630
        @Option(help: "Frame height.") var height = 32
        @Option(help: "Frame width.") var width = 64
        @Option(help: "Random seed.") var seed: UInt64 = 0
        @Option(help: "Camera noise (standard deviation, 0..1).") var noise = 0.0
        @Option(help: "one-dancer (one dancer in one room in every video, like the lab's dataset) or new-dancer-per-clip (unseen people and rooms in val and test).")
        var cast = SyntheticCast.oneDancer

        func run() throws {
            var o = SyntheticDanceOptions()
            o.trainFrames = trainFrames; o.valVideos = valVideos; o.testVideos = testVideos
            o.videoLength = videoLength; o.height = height; o.width = width; o.seed = seed; o.noise = noise; o.cast = cast
            let start = Date()
            let result = try SyntheticDance.generate(o, to: URL(fileURLWithPath: out))
            if result.reused {
                print("\(out) already holds this dataset (same options): nothing to do")
            } else {
                let seconds = Date().timeIntervalSince(start)
                print(String(format: "wrote %d frames to %@ in %.1f s (%.0f frames/s)", result.frameCount, out, seconds,
                             Double(result.frameCount) / max(seconds, 1e-9)))
            }
        }
    }

    struct Video: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Convert a dance video into the lab layout, its poses extracted (as `vidpred poses` does) or taken from a pose video or folder (needs ffmpeg).")
        @Option(help: "The dance video (any format ffmpeg reads).") var input: String
        @Option(help: "The pose labels: a video, or a folder of images (default: extracted from the video).") var labels: String?
        @Option(help: "Dataset folder to write into.") var out: String
        @Option(help: "Frame width.") var width = 64
        @Option(help: "Frame height.") var height = 32
        @Option(help: "Frame size WxH, instead of --width and --height: 64x32 (the lab), 128x64, 256x128...") var size: String?
        @Option(help: "Resample to this frame rate (default: keep every frame).") var fps: Double?
        @Option(help: "Where the video goes: train, val, or test:N.") var split = "train"
        @Option(help: "With --split train: the last N frames become the val video (val/).") var valFrames: Int?
        @Option(help: "Folder of the pose models (default: .deps/models of this checkout, or VIDPRED_MODELS).") var models: String?

        func run() throws {
            let target: VideoImportTarget
            switch split {
            case "train": target = .train
            case "val": target = .val
            default:
                guard split.hasPrefix("test:"), let index = Int(split.dropFirst(5)) else {
                    throw ValidationError("--split takes train, val or test:N (got '\(split)')")
                }
                target = .test(index)
            }
            let (w, h) = try size.map(Poses.parseSize) ?? (width, height)
            let outURL = URL(fileURLWithPath: out)
            var labelsURL = labels.map { URL(fileURLWithPath: $0) }
            if labelsURL == nil {
                // Extracted at the dataset's size into a hidden folder that the import then reads.
                let staging = outURL.appendingPathComponent(".poses-\(UUID().uuidString.prefix(8).lowercased())")
                print("no --labels: extracting the poses of \(input)")
                let progress = PoseProgress()
                let summary = try PoseLabels.extract(from: URL(fileURLWithPath: input), into: staging, size: (w, h), json: false,
                                                     models: try PoseModels.folder(explicit: models), options: PoseExtraction.Options(),
                                                     framesPerSecond: fps, onFrame: progress.update)
                progress.finish(summary, into: staging)
                labelsURL = staging
            }
            defer { if labels == nil, let labelsURL { try? FileManager.default.removeItem(at: labelsURL) } }
            let result = try VideoImport.run(input: URL(fileURLWithPath: input), labels: labelsURL!, out: outURL, width: w, height: h, fps: fps,
                                             split: target, valFrames: valFrames)
            print("imported \(result.frameCount) frames into \(result.folders.joined(separator: ", ")) under \(out)")
        }
    }
}

/// `vidpred data check DIR`: counts per split, sizes, and every problem.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Inspect datasets.", subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Report counts per split, sizes, and every problem of a dataset.")
        @Argument(help: "Dataset folder in the lab layout.") var folder: String
        @Option(help: "Training window length to check against.") var trainViLen = 16

        func run() throws {
            let report = DatasetCheck.run(root: URL(fileURLWithPath: folder), trainVideoLength: trainViLen)
            print(report.summary)
            if !report.isValid { throw ExitCode(1) }
        }
    }
}
