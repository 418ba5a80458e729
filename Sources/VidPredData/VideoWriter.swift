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
        defer { try? FileManager.default.removeItem(at: temporary) }
        // Even sizes: yuv420p needs them.
        let (w, h) = ((first.width * scale + 1) / 2 * 2, (first.height * scale + 1) / 2 * 2)
        let process = Process()
        process.executableURL = ffmpeg
        process.arguments = ["-nostdin", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "\(first.width)x\(first.height)",
                             "-r", String(framesPerSecond), "-i", "-", "-vf", "scale=\(w):\(h):flags=neighbor", "-c:v", "libx264",
                             "-pix_fmt", "yuv420p", "-crf", "18", temporary.path]
        let input = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        let plane = first.width * first.height
        for frame in frames {
            var bytes = [UInt8](repeating: 0, count: 3 * plane)
            for i in 0..<plane {
                for c in 0..<3 { bytes[3 * i + c] = UInt8((min(max(frame.pixels[c * plane + i], 0), 1) * 255).rounded()) }
            }
            input.fileHandleForWriting.write(Data(bytes))
        }
        try input.fileHandleForWriting.close()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw DataError.invalid(url.path, "ffmpeg could not encode it: \(message.trimmingCharacters(in: .whitespacesAndNewlines))", fix: "check that ffmpeg has libx264")
        }
        if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
        try FileManager.default.moveItem(at: temporary, to: url)
    }
}
