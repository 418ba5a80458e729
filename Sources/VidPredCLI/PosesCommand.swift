import ArgumentParser
import Foundation
import Torch
import VidPred
import VidPredData

struct Poses: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Extract the dancer's pose from every frame of a video (or a folder of images): labels in the dataset's style and OpenPose JSON.",
        discussion: """
            BlazePose (MediaPipe's models, run on libtorch) finds the person, tracks them from frame to frame and gives \
            33 landmarks, mapped to OpenPose's BODY_25 and smoothed over time. For each frame, in input order, OUT gets \
            NAME.png, the pose drawn as the lab's labels are (coloured limbs and joints on white), and NAME_keypoints.json \
            in OpenPose's format (people[].pose_keypoints_2d: 25 x (x, y, confidence) in input pixels). NAME is frameNNNNNN \
            for a video, the image's own name for a folder. Frames without a person get a blank label and no people, and \
            are listed at the end.
            """)
    @Option(help: "A video (anything ffmpeg reads) or a folder of images (sorted by the numbers in their names).") var input: String
    @Option(help: "Output folder (new or empty).") var out: String
    @Option(help: "Label size WxH (default: the input's).") var size: String?
    @Flag(inversion: .prefixedNo, help: "Temporal smoothing of the keypoints (MediaPipe's One Euro filter).") var smoothing = true
    @Option(help: "Frames per second of a folder of images (a video's own rate is read from it), for the smoothing.") var fps = 30.0
    @Option(help: "Folder of the pose models (default: .deps/models of this checkout, or VIDPRED_MODELS).") var models: String?
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        runtime.apply()
        let input = URL(fileURLWithPath: self.input), out = URL(fileURLWithPath: self.out)
        let labelSize = try size.map(Self.parseSize)
        if let names = try? FileManager.default.contentsOfDirectory(atPath: out.path), names.contains(where: { !FrameFolder.isIgnored($0) }) {
            throw CommandError("\(out.path) already holds files: choose a new or empty --out")
        }
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        var options = PoseExtraction.Options()
        options.smoothing = smoothing
        options.framesPerSecond = fps
        let progress = PoseProgress()
        let summary = try PoseLabels.extract(from: input, into: out, size: labelSize, json: true, models: try PoseModels.folder(explicit: models),
                                             options: options, onFrame: progress.update)
        progress.finish(summary, into: out)
    }

    static func parseSize(_ text: String) throws -> (Int, Int) {
        let parts = text.lowercased().split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, parts.allSatisfy({ (8...8192).contains($0) }) else {
            throw ValidationError("--size takes WxH, e.g. 256x128 (got '\(text)')")
        }
        return (parts[0], parts[1])
    }

}

/// The pose extraction's progress line (frames, frames/s, frames without a person) and summary.
final class PoseProgress {
    private let start = Date()
    private let isTTY = isatty(STDOUT_FILENO) != 0

    func update(_ count: Int, _ total: Int?, _ missing: Int) {
        let rate = Double(count) / max(Date().timeIntervalSince(start), 1e-9)
        let line = String(format: "poses: %d frames%@, %.1f frames/s, %d without a person", count, total.map { String(format: " of %d", $0) } ?? "",
                          rate, missing)
        if isTTY { print("\r" + line, terminator: ""); fflush(nil) } else if count % 100 == 0 { print(line) }
    }

    func finish(_ summary: PoseLabels.Summary, into folder: URL) {
        if isTTY { print("") }
        print(String(format: "%d frames in %.1f s (%.1f frames/s) -> %@", summary.frames, summary.seconds,
                     Double(summary.frames) / max(summary.seconds, 1e-9), folder.path))
        if !summary.missing.isEmpty {
            print("no person found in \(summary.missing.count) frame(s) (blank labels, no people in their JSON): \(summary.missing.prefix(20).joined(separator: ", "))\(summary.missing.count > 20 ? ", ..." : "")")
        }
    }
}

extension Bench {
    /// Issue 16's pose figures on edn-video, in one run.
    struct PoseQuality: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "poses",
            abstract: "Pose extraction against the dataset: keypoints vs OpenPose on the annotated frames, labels vs the dataset's over the whole clip, frames/s.",
            discussion: """
                Keypoints: distances to OpenPose's points on edn-video/keypoints, relative to the body height (neck to \
                mid-ankle). Labels: every frame of dance-1024x512.mp4 drawn at 256x128 against labels-256x128 by the \
                correlation of blurred skeleton masks, beside the same figure for the dataset's label of the frame 3 \
                frames earlier (what motion alone leaves). Speed: pose extraction alone (decoding and drawing excluded).
                """)
        @Option(help: "The edn-video folder.") var video = "../shared/data/edn-video"
        @Option(help: "Folder of the pose models (default: .deps/models of this checkout, or VIDPRED_MODELS).") var models: String?
        @Option(help: "Write a side-by-side sheet (ours | the dataset's) of a few frames here (PNG).") var sheet: String?
        @OptionGroup var runtime: RuntimeOptions

        func run() throws {
            runtime.apply()
            let folder = URL(fileURLWithPath: video), modelFolder = try PoseModels.folder(explicit: models)
            let pose = try BlazePose(models: modelFolder)
            var pooled: [Double] = []
            for name in ["frame020001", "frame020005", "frame020009"] {
                let image = try PNG.read(folder.appendingPathComponent("keypoints/\(name).png"))
                guard let found = try pose.estimate(Tensor(image.pixels, shape: [3, image.height, image.width]), track: false) else {
                    print("keypoints \(name): no person found"); continue
                }
                let d = PoseBenchmark.relativeDistances(Body25.fromBlazePose(found.landmarks),
                                                        truth: try PoseBenchmark.openPosePoints(folder.appendingPathComponent("keypoints/\(name)_pose.yml"))).sorted()
                pooled += d
                print(String(format: "keypoints %@: %d points, median %.2f%%, largest %.2f%% of the body height", name, d.count, 100 * d[d.count / 2], 100 * (d.last ?? 0)))
            }
            pooled.sort()
            if !pooled.isEmpty {
                print(String(format: "keypoints, all %d points: median %.2f%% (goal <= 3%%), largest %.2f%% (goal <= 10%%)", pooled.count,
                             100 * pooled[pooled.count / 2], 100 * pooled.last!))
            }
            let extraction = try PoseExtraction(models: modelFolder)
            let frames = try VideoFrames(folder.appendingPathComponent("dance-1024x512.mp4"))
            var ours: [Double] = [], floor: [Double] = [], previous: [RGBImage] = [], poseSeconds = 0.0, count = 0
            var shown: [[RGBImage]] = []
            while let frame = try frames.next() {
                let start = Date()
                let points = try extraction.next(frame)
                poseSeconds += Date().timeIntervalSince(start)
                let label = PoseLabel.label(points, hands: extraction.hands, sourceWidth: frame.width, sourceHeight: frame.height, width: 256, height: 128)
                let truth = try PNG.read(folder.appendingPathComponent(String(format: "labels-256x128/frame%06d.png", count)))
                if previous.count == 3 {
                    ours.append(PoseBenchmark.agreement(label, truth))
                    floor.append(PoseBenchmark.agreement(previous[0], truth))
                }
                previous = Array((previous + [truth]).suffix(3))
                if count % 200 == 100 { shown.append([label, truth]) }
                count += 1
                if count % 100 == 0 { print("labels: \(count) frames"); fflush(nil) }
            }
            let mean = { (v: [Double]) in v.reduce(0, +) / Double(max(v.count, 1)) }
            let better = zip(ours, floor).filter { $0 > $1 }.count
            print(String(format: "labels, %d frames at 256x128: agreement %.3f; the dataset's label of 3 frames earlier %.3f; ours higher in %d%% of frames",
                         ours.count, mean(ours), mean(floor), 100 * better / max(ours.count, 1)))
            print(String(format: "speed: %.1f frames/s of pose extraction at %dx%d (%d threads), decoding and drawing excluded",
                         Double(count) / max(poseSeconds, 1e-9), frames.width, frames.height, Runtime.threads))
            if let sheet {
                try AtomicFile.write(try PNG.encode(try ContactSheet.make(rows: shown, scale: 2)), to: URL(fileURLWithPath: sheet))
                print("sheet: \(sheet) (ours | the dataset's, frames 100, 300, 500, 700, 900)")
            }
        }
    }
}
