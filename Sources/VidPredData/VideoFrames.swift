import Foundation

/// The frames of a video one after another, decoded by ffmpeg as raw RGB at the video's own size
/// (read with ffprobe first), so a long video never has to fit in memory or on disk.
public final class VideoFrames {
    public let url: URL
    public let width: Int
    public let height: Int
    private let process = Process()
    private let reader: FileHandle
    public private(set) var index = 0

    /// - framesPerSecond: resample to this rate (ffmpeg's fps filter); nil keeps every frame.
    public init(_ url: URL, framesPerSecond: Double? = nil) throws {
        guard FileSystem.exists(url) else { throw DataError.missing(url, expected: "a video", fix: "check the path") }
        let ffmpeg = try VideoImport.findFFmpeg()
        let ffprobe = ffmpeg.deletingLastPathComponent().appendingPathComponent("ffprobe")
        let probe = Process()
        probe.executableURL = ffprobe
        probe.arguments = ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0", url.path]
        let probed = Pipe()
        probe.standardOutput = probed
        probe.standardError = FileHandle.nullDevice
        do { try probe.run() } catch {
            throw DataError(.toolMissing, path: ffprobe.path, problem: "\(ffprobe.path): cannot start", fix: "install ffmpeg (apt-get install ffmpeg), which brings ffprobe")
        }
        let text = String(decoding: probed.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        probe.waitUntilExit()
        let size = text.split(whereSeparator: { $0 == "," || $0.isNewline }).compactMap { Int($0) }
        guard probe.terminationStatus == 0, size.count >= 2, size[0] > 0, size[1] > 0 else {
            throw DataError.invalid(url.path, "ffprobe finds no video stream in it", fix: "check that the file is a video ffmpeg can read")
        }
        self.url = url
        (width, height) = (size[0], size[1])
        process.executableURL = ffmpeg
        process.arguments = ["-nostdin", "-v", "error", "-i", url.path] + (framesPerSecond.map { ["-vf", "fps=\($0)"] } ?? [])
            + ["-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        reader = output.fileHandleForReading
    }

    deinit { if process.isRunning { process.terminate() } }

    /// The next frame, channel-major floats in [0, 1] (`RGBImage`'s layout), or nil at the end.
    public func next() throws -> RGBImage? {
        let count = width * height * 3
        var bytes = Data()
        while bytes.count < count {
            guard let chunk = try reader.read(upToCount: count - bytes.count), !chunk.isEmpty else { break }
            bytes.append(chunk)
        }
        guard bytes.count == count else {
            process.waitUntilExit()
            if !bytes.isEmpty { throw DataError.invalid(url.path, "frame \(index) is cut short", fix: "check the video file") }
            return nil
        }
        index += 1
        return RGBImage(width: width, height: height, rgb8: [UInt8](bytes))
    }
}
