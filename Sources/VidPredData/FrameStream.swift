import Foundation

/// Frames of a video or of a folder of images, in order, with their names.
public final class FrameStream {
    private var video: VideoFrames?
    private var images: [URL] = []
    private var position = 0
    /// Frames in all (a folder's; nil for a video).
    public var total: Int? { video == nil ? images.count : nil }

    public init(_ url: URL, framesPerSecond: Double? = nil) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else {
            throw DataError.missing(url, expected: "a video or a folder of images", fix: "check the path")
        }
        if isFolder.boolValue {
            let names = FrameFolder.naturallySorted(try FileManager.default.contentsOfDirectory(atPath: url.path).filter {
                !FrameFolder.isIgnored($0) && ["png"].contains(($0 as NSString).pathExtension.lowercased())
            })
            guard !names.isEmpty else { throw DataError(.emptyFolder, path: url.path, problem: "\(url.path) holds no PNG images", fix: "give a folder of PNG frames, or a video") }
            images = names.map { url.appendingPathComponent($0) }
        } else {
            video = try VideoFrames(url, framesPerSecond: framesPerSecond)
        }
    }

    public func next() throws -> (String, RGBImage)? {
        if let video {
            let index = video.index
            return try video.next().map { (String(format: "frame%06d", index), $0) }
        }
        guard position < images.count else { return nil }
        defer { position += 1 }
        return (images[position].deletingPathExtension().lastPathComponent, try PNG.read(images[position]))
    }
}
