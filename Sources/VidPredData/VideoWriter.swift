import Foundation

/// Writes frames as an MP4 (H.264, yuv420p: plays everywhere) through ffmpeg, enlarged by an
/// integer factor with nearest-neighbour sampling (a 64x32 video is tiny on screen), atomically:
/// ffmpeg writes a hidden file beside the target, renamed when it succeeded.
public enum VideoWriter {
    public static func writeMP4(_ frames: [RGBImage], to url: URL, framesPerSecond: Double, scale: Int = 1) throws {
        guard let first = frames.first else { throw DataError.invalid(url.path, "no frames to write", fix: "give at least one frame") }
        guard frames.allSatisfy({ $0.width == first.width && $0.height == first.height }) else {
            throw DataError.invalid(url.path, "frames of different sizes", fix: "give frames of one size")
        }
        let ffmpeg = try VideoImport.findFFmpeg()
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString.prefix(8)).mp4")
        // ffmpeg's messages go to a file: a pipe read only at the end could fill up and block it.
        let errorLog = temporary.appendingPathExtension("log")
        _ = FileManager.default.createFile(atPath: errorLog.path, contents: nil)
        defer { for file in [temporary, errorLog] { try? FileManager.default.removeItem(at: file) } }
        // Even sizes: yuv420p needs them.
        let (w, h) = ((first.width * scale + 1) / 2 * 2, (first.height * scale + 1) / 2 * 2)
        let process = Process()
        process.executableURL = ffmpeg
        process.arguments = ["-nostdin", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "\(first.width)x\(first.height)",
                             "-r", String(framesPerSecond), "-i", "-", "-vf", "scale=\(w):\(h):flags=neighbor", "-c:v", "libx264",
                             "-pix_fmt", "yuv420p", "-crf", "18", temporary.path]
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: errorLog)
        // An ffmpeg that exits early (no libx264, a bad option) closes the pipe: the write must
        // then fail and let its message through, not kill this process with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        try process.run()
        for frame in frames {
            do { try input.fileHandleForWriting.write(contentsOf: Data(frame.rgb8())) } catch { break }
        }
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = (try? String(contentsOf: errorLog, encoding: .utf8)) ?? ""
            throw DataError.invalid(url.path, "ffmpeg could not encode it: \(message.trimmingCharacters(in: .whitespacesAndNewlines))", fix: "check that ffmpeg has libx264")
        }
        try FileSystem.renameOver(temporary, url)
    }
}
