import Foundation

/// Where imported frames go in the lab layout.
public enum VideoImportTarget: Sendable, Equatable {
    /// train/train_img + train/train_label
    case train
    /// val/val_img + val/val_label
    case val
    /// test/test_img/<i> (first frame), test/test_label/<i> and test/test_gt/<i> (all frames)
    case test(Int)
}

/// What an import produced.
public struct VideoImportResult: Sendable {
    public let frameCount: Int
    /// The folders written, relative to the dataset root.
    public let folders: [String]
}

/// Turns a dance video and its pose labels (a video, or a folder of images) into the lab layout:
/// ffmpeg decodes (and optionally resamples to `fps`), VidPredData resizes each frame exactly like
/// the lab did (PIL bilinear, antialiased) and writes PNGs.
///
/// Nothing is half-written: frames go to a hidden staging folder inside `out` and are moved into
/// place only when both streams decoded and their frame counts match.
public enum VideoImport {
    /// - valFrames: with `split` train, the last this many frames go to val/ as the val video.
    @discardableResult
    public static func run(input: URL, labels: URL, out: URL, width: Int = 64, height: Int = 32, fps: Double? = nil,
                           split: VideoImportTarget = .train, valFrames: Int? = nil, ffmpeg: URL? = nil) throws -> VideoImportResult {
        guard width > 0, height > 0 else {
            throw DataError.invalid("size", "\(width)x\(height) is not a valid frame size", fix: "use a positive width and height (the lab: 64x32)")
        }
        if let fps, !(fps > 0 && fps <= 1000) {
            throw DataError.invalid("fps", "\(fps) is out of range", fix: "use a positive frame rate such as 30, or none to keep every frame")
        }
        if case .test(let index) = split, index < 0 {
            throw DataError.invalid("test video", "index \(index) is negative", fix: "use 0, 1, 2...")
        }
        let tool = try ffmpeg ?? findFFmpeg()
        guard FileManager.default.isExecutableFile(atPath: tool.path) else { throw ffmpegMissing(tool.path) }
        for (url, what) in [(input, "the dance video"), (labels, "the pose labels (a video or a folder of images)")] where !FileSystem.exists(url) {
            throw DataError.missing(url, expected: what, fix: "check the path")
        }
        if let valFrames {
            guard split == .train, valFrames >= 1 else {
                throw DataError.invalid("val frames", "\(valFrames) with the \(split) split", fix: "give a positive count, with the train split")
            }
        }
        let destinations = folders(for: split)
        for folder in destinations.all + (valFrames == nil ? [] : folders(for: .val).all) {
            let url = out.appendingPathComponent(folder)
            if let names = try? FileManager.default.contentsOfDirectory(atPath: url.path), names.contains(where: { !FrameFolder.isIgnored($0) }) {
                throw DataError(.alreadyExists, path: url.path, problem: "\(url.path): already holds files",
                                fix: "import into another dataset folder, choose another split/test index, or remove those files")
            }
        }

        try FileSystem.makeFolder(out)
        let staging = out.appendingPathComponent(".import-\(UUID().uuidString.prefix(8).lowercased())")
        defer { try? FileManager.default.removeItem(at: staging) }
        let target = ImageSize(width: width, height: height)
        let frameCount = try extract(video: input, ffmpeg: tool, fps: fps, target: target, into: staging.appendingPathComponent("frames"))
        let labelCount: Int
        if FileSystem.isDirectory(labels) {
            labelCount = try importImages(labels, ffmpeg: tool, target: target, into: staging.appendingPathComponent("labels"))
        } else {
            labelCount = try extract(video: labels, ffmpeg: tool, fps: fps, target: target, into: staging.appendingPathComponent("labels"))
        }
        guard frameCount == labelCount else {
            throw DataError(.countMismatch, path: labels.path,
                            problem: "\(labels.path): \(labelCount) labels but \(input.path) gave \(frameCount) frames\(fps.map { " at \($0) fps" } ?? "")",
                            fix: "the labels must have one image per frame: use the same frame rate for both, or trim the longer one")
        }
        guard frameCount > 0 else {
            throw DataError(.emptyFolder, path: input.path, problem: "\(input.path): no frames decoded", fix: "check that the file is a video ffmpeg can read")
        }

        // Move the staged folders into place (each rename is atomic).
        let framesStage = staging.appendingPathComponent("frames"), labelsStage = staging.appendingPathComponent("labels")
        if let valFrames {
            guard valFrames < frameCount else {
                throw DataError.invalid("val frames", "\(valFrames) of \(frameCount) frames leaves none for training", fix: "give fewer val frames")
            }
            // The last frames (and their labels) become the val video, staged beside the rest.
            for (stage, name) in [(framesStage, "val-frames"), (labelsStage, "val-labels")] {
                let target = staging.appendingPathComponent(name)
                try FileSystem.makeFolder(target)
                let files = FrameFolder.naturallySorted(try FileManager.default.contentsOfDirectory(atPath: stage.path))
                for file in files.suffix(valFrames) {
                    try FileManager.default.moveItem(at: stage.appendingPathComponent(file), to: target.appendingPathComponent(file))
                }
            }
            let val = folders(for: .val)
            try place(staging.appendingPathComponent("val-frames"), at: out.appendingPathComponent(val.frames))
            try place(staging.appendingPathComponent("val-labels"), at: out.appendingPathComponent(val.labels))
        }
        if case .test = split {
            // test_img gets the first frame only; test_gt all frames.
            let firstOnly = staging.appendingPathComponent("first")
            try FileSystem.makeFolder(firstOnly)
            let first = "frame000000.png"
            try FileManager.default.copyItem(at: framesStage.appendingPathComponent(first), to: firstOnly.appendingPathComponent(first))
            try place(firstOnly, at: out.appendingPathComponent(destinations.frames))
            try place(framesStage, at: out.appendingPathComponent(destinations.all[2]))
        } else {
            try place(framesStage, at: out.appendingPathComponent(destinations.frames))
        }
        try place(labelsStage, at: out.appendingPathComponent(destinations.labels))
        return VideoImportResult(frameCount: frameCount, folders: destinations.all + (valFrames == nil ? [] : folders(for: .val).all))
    }

    /// Relative folders for a target: (frames, labels, all of them).
    static func folders(for split: VideoImportTarget) -> (frames: String, labels: String, all: [String]) {
        switch split {
        case .train: return ("train/train_img", "train/train_label", ["train/train_img", "train/train_label"])
        case .val: return ("val/val_img", "val/val_label", ["val/val_img", "val/val_label"])
        case .test(let i): return ("test/test_img/\(i)", "test/test_label/\(i)", ["test/test_img/\(i)", "test/test_label/\(i)", "test/test_gt/\(i)"])
        }
    }

    /// Replaces an empty (or absent) destination folder by the staged one.
    private static func place(_ staged: URL, at destination: URL) throws {
        try FileSystem.makeFolder(destination.deletingLastPathComponent())
        if FileSystem.isDirectory(destination) {
            // Only ignorable files (checked before starting): remove it so the rename succeeds.
            try? FileManager.default.removeItem(at: destination)
        }
        try FileSystem.moveFolderIntoPlace(staged, to: destination)
    }

    // MARK: ffmpeg

    public static func findFFmpeg() throws -> URL {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(folder)).appendingPathComponent("ffmpeg")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw ffmpegMissing("ffmpeg")
    }

    private static func ffmpegMissing(_ path: String) -> DataError {
        DataError(.toolMissing, path: path, problem: "\(path): ffmpeg not found (needed to decode videos)",
                  fix: "install it: apt-get install ffmpeg, or run scripts/setup.sh")
    }

    /// Decodes a video with ffmpeg into PNGs at the target size; returns the number of frames.
    private static func extract(video: URL, ffmpeg: URL, fps: Double?, target: ImageSize, into folder: URL) throws -> Int {
        var arguments = ["-nostdin", "-v", "error", "-i", video.path]
        if let fps { arguments += ["-vf", "fps=\(fps)"] }
        // Full-size frames as a stream of PNGs (fast compression): their size comes with them,
        // and VidPredData resizes them like the lab did.
        arguments += ["-f", "image2pipe", "-c:v", "png", "-compression_level", "1", "-"]
        return try runStreaming(ffmpeg, arguments, source: video, target: target, into: folder, firstIndex: 0)
    }

    /// Converts a folder of images (sorted by the number in their names) into PNGs at the target
    /// size: PNGs are decoded directly, other formats through ffmpeg.
    private static func importImages(_ folder: URL, ffmpeg: URL, target: ImageSize, into staging: URL) throws -> Int {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !FrameFolder.isIgnored($0) }
        let images = FrameFolder.naturallySorted(names.filter { name in
            ["png", "jpg", "jpeg", "bmp", "webp", "tif", "tiff"].contains((name as NSString).pathExtension.lowercased())
        })
        let others = names.filter { !images.contains($0) }
        if !others.isEmpty {
            throw DataError(.unexpectedFile, path: folder.appendingPathComponent(others[0]).path,
                            problem: "\(folder.path): \(others.count) file(s) are not images: \(DataError.listFew(FrameFolder.naturallySorted(others)))",
                            fix: "move them out of the label folder")
        }
        guard !images.isEmpty else {
            throw DataError(.emptyFolder, path: folder.path, problem: "\(folder.path): no label images", fix: "put the pose images (PNG) there")
        }
        try FileSystem.makeFolder(staging)
        for (index, name) in images.enumerated() {
            let url = folder.appendingPathComponent(name)
            if name.lowercased().hasSuffix(".png") {
                try writeFrame(PNG.read(url, width: target.width, height: target.height), index: index, into: staging)
            } else {
                let count = try runStreaming(ffmpeg, ["-nostdin", "-v", "error", "-i", url.path, "-frames:v", "1",
                                                      "-f", "image2pipe", "-c:v", "png", "-"],
                                             source: url, target: target, into: staging, firstIndex: index)
                guard count == 1 else {
                    throw DataError(.toolFailed, path: url.path, problem: "\(url.path): ffmpeg produced no image", fix: "convert it to PNG")
                }
            }
        }
        return images.count
    }

    /// Runs ffmpeg, splitting its stdout (concatenated PNG files) into frames as they arrive, so
    /// memory holds one full-size frame at a time. stderr goes to a file: a pipe could fill up and
    /// block ffmpeg while we read stdout.
    private static func runStreaming(_ ffmpeg: URL, _ arguments: [String], source: URL, target: ImageSize,
                                     into folder: URL, firstIndex: Int) throws -> Int {
        try FileSystem.makeFolder(folder)
        let errorLog = folder.deletingLastPathComponent().appendingPathComponent(".ffmpeg-\(UUID().uuidString.prefix(8)).log")
        _ = FileManager.default.createFile(atPath: errorLog.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errorLog) }
        let process = Process()
        process.executableURL = ffmpeg
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: errorLog)
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw DataError(.toolMissing, path: ffmpeg.path, problem: "\(ffmpeg.path): cannot start (\(FileSystem.reason(of: error)))",
                            fix: "install it: apt-get install ffmpeg, or run scripts/setup.sh")
        }
        var splitter = PNGStreamSplitter()
        var count = 0
        var failure: Error? = nil
        let reader = output.fileHandleForReading
        while true {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            guard failure == nil else { continue }   // keep draining so ffmpeg can finish
            splitter.append(chunk)
            while let png = splitter.next() {
                do {
                    let frame = try PNG.decodeRaw(png, name: "\(source.path) frame \(count)").toRGBImage(width: target.width, height: target.height)
                    try writeFrame(frame, index: firstIndex + count, into: folder)
                    count += 1
                } catch {
                    failure = error
                    break
                }
            }
        }
        process.waitUntilExit()
        if let failure { throw failure }
        guard process.terminationStatus == 0 else {
            let log = (try? String(contentsOf: errorLog, encoding: .utf8)) ?? ""
            let tail = log.split(separator: "\n").suffix(8).joined(separator: "\n    ")
            throw DataError(.toolFailed, path: source.path,
                            problem: "\(source.path): ffmpeg failed (exit status \(process.terminationStatus)):\n    \(tail.isEmpty ? "(no message)" : tail)",
                            fix: "check that the file is a video or image ffmpeg can read (try: ffmpeg -i \(source.path))")
        }
        return count
    }

    private static func writeFrame(_ image: RGBImage, index: Int, into folder: URL) throws {
        try FileSystem.writeFile(PNG.encode(image), to: folder.appendingPathComponent(String(format: "frame%06d.png", index)))
    }
}

/// Cuts a byte stream of concatenated PNG files into single files (signature ... IEND chunk).
struct PNGStreamSplitter {
    private var buffer = Data()
    private var scanned = 8   // where the next chunk header starts in the current file

    mutating func append(_ data: Data) {
        buffer.append(data)
    }

    /// The next complete PNG file, or nil until more bytes arrive.
    mutating func next() -> Data? {
        while buffer.count >= scanned + 8 {
            let base = buffer.startIndex + scanned
            let length = Int(buffer[base]) << 24 | Int(buffer[base + 1]) << 16 | Int(buffer[base + 2]) << 8 | Int(buffer[base + 3])
            let isEnd = buffer[base + 4] == 0x49 && buffer[base + 5] == 0x45 && buffer[base + 6] == 0x4E && buffer[base + 7] == 0x44  // IEND
            let chunkEnd = scanned + 12 + length
            guard buffer.count >= chunkEnd else { return nil }
            scanned = chunkEnd
            if isEnd {
                let file = Data(buffer.prefix(chunkEnd))
                buffer = Data(buffer.dropFirst(chunkEnd))
                scanned = 8
                return file
            }
        }
        return nil
    }
}
