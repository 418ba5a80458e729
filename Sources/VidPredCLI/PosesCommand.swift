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
        let extraction = try PoseExtraction(models: try PoseModels.folder(explicit: models), options: options)
        let frames = try FrameSource(input)
        let start = Date()
        var count = 0, missing: [String] = []
        let isTTY = isatty(STDOUT_FILENO) != 0
        while let (name, frame) = try frames.next() {
            let points = try extraction.next(frame)
            if points == nil { missing.append(name) }
            let (w, h) = labelSize ?? (frame.width, frame.height)
            let label = points.map { PoseLabel.draw($0, sourceWidth: frame.width, sourceHeight: frame.height, width: w, height: h) }
                ?? Self.blank(width: w, height: h)
            try AtomicFile.write(try PNG.encode(label), to: out.appendingPathComponent("\(name).png"))
            try AtomicFile.write(try Body25.openPoseJSON(points.map { [$0] } ?? []), to: out.appendingPathComponent("\(name)_keypoints.json"))
            count += 1
            let rate = Double(count) / max(Date().timeIntervalSince(start), 1e-9)
            let line = String(format: "poses: %d frames%@, %.1f frames/s, %d without a person", count,
                              frames.total.map { String(format: " of %d", $0) } ?? "", rate, missing.count)
            if isTTY { print("\r" + line, terminator: ""); fflush(nil) } else if count % 100 == 0 { print(line) }
        }
        if isTTY { print("") }
        let seconds = Date().timeIntervalSince(start)
        print(String(format: "%d frames in %.1f s (%.1f frames/s) -> %@", count, seconds, Double(count) / max(seconds, 1e-9), out.path))
        if !missing.isEmpty {
            print("no person found in \(missing.count) frame(s) (blank labels, no people in their JSON): \(missing.prefix(20).joined(separator: ", "))\(missing.count > 20 ? ", ..." : "")")
        }
    }

    static func parseSize(_ text: String) throws -> (Int, Int) {
        let parts = text.lowercased().split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, parts.allSatisfy({ (8...8192).contains($0) }) else {
            throw ValidationError("--size takes WxH, e.g. 256x128 (got '\(text)')")
        }
        return (parts[0], parts[1])
    }

    static func blank(width: Int, height: Int) -> RGBImage {
        var image = RGBImage(width: width, height: height)
        image.pixels = [Float](repeating: 1, count: image.pixels.count)
        return image
    }
}

/// Frames of a video or of a folder of images, in order, with their names.
final class FrameSource {
    private var video: VideoFrames?
    private var images: [URL] = []
    private var position = 0
    /// Frames in all (a folder's; nil for a video).
    var total: Int? { video == nil ? images.count : nil }

    init(_ url: URL) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else {
            throw CommandError("\(url.path) does not exist: give a video or a folder of images")
        }
        if isFolder.boolValue {
            let names = FrameFolder.naturallySorted(try FileManager.default.contentsOfDirectory(atPath: url.path).filter {
                !FrameFolder.isIgnored($0) && ["png"].contains(($0 as NSString).pathExtension.lowercased())
            })
            guard !names.isEmpty else { throw CommandError("\(url.path) holds no PNG images") }
            images = names.map { url.appendingPathComponent($0) }
        } else {
            video = try VideoFrames(url)
        }
    }

    func next() throws -> (String, RGBImage)? {
        if let video {
            let index = video.index
            return try video.next().map { (String(format: "frame%06d", index), $0) }
        }
        guard position < images.count else { return nil }
        defer { position += 1 }
        return (images[position].deletingPathExtension().lastPathComponent, try PNG.read(images[position]))
    }
}
