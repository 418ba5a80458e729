import Foundation

/// Width x height of an image file.
public struct ImageSize: Sendable, Hashable, CustomStringConvertible {
    public var width: Int
    public var height: Int
    public init(width: Int, height: Int) { self.width = width; self.height = height }
    public var description: String { "\(width)x\(height)" }
}

/// Decodes the PNG files of one folder on all cores and checks that they share one size.
enum FrameDecoding {
    /// One decoded file: its size on disk and, when a target size was given, the frame at that size.
    struct Decoded: Sendable {
        var size: ImageSize
        var image: RGBImage?
    }

    /// Decodes every file; each result is the decoded frame or the error that names the file.
    /// With `target` nil only the sizes are kept (for checking without keeping pixels).
    static func decode(_ urls: [URL], target: ImageSize?, parallel: Bool) -> [Result<Decoded, DataError>] {
        Parallel.map(urls.count, parallel: parallel) { i -> Result<Decoded, DataError> in
            do {
                let raw = try PNG.decodeRaw(PNG.readFile(urls[i]), name: urls[i].path)
                let size = ImageSize(width: raw.width, height: raw.height)
                let image = target.map { raw.toRGBImage(width: $0.width, height: $0.height) }
                return .success(Decoded(size: size, image: image))
            } catch let error as DataError {
                return .failure(error)
            } catch {
                return .failure(DataError(.corruptPNG, path: urls[i].path, problem: "\(urls[i].path): \(error.localizedDescription)",
                                          fix: "re-export or delete this file"))
            }
        }
    }

    /// The files whose size differs from the first file's (one video must have one frame size).
    static func sizeProblems(_ urls: [URL], _ sizes: [ImageSize?]) -> [DataError] {
        guard let firstIndex = sizes.firstIndex(where: { $0 != nil }), let reference = sizes[firstIndex] else { return [] }
        let odd = urls.indices.filter { sizes[$0] != nil && sizes[$0] != reference }
        guard let first = odd.first, let size = sizes[first] else { return [] }
        let folder = urls[first].deletingLastPathComponent().path
        let others = odd.count > 1 ? " (and \(odd.count - 1) more: \(DataError.listFew(odd.dropFirst().map { urls[$0].lastPathComponent })))" : ""
        return [DataError(.sizeMismatch, path: urls[first].path,
                          problem: "\(urls[first].path): \(size) but the other frames of this video are \(reference) (like \(urls[firstIndex].lastPathComponent))\(others) in \(folder)",
                          fix: "all frames of one video must have the same size; re-export the odd ones at \(reference) or remove them")]
    }

    /// Decodes a folder into a sequence at `target` size, throwing the first problem.
    static func loadSequence(_ folder: FrameFolder, target: ImageSize, parallel: Bool) throws -> FrameSequence {
        let urls = folder.frameURLs
        let results = decode(urls, target: target, parallel: parallel)
        var images: [RGBImage] = []
        var sizes: [ImageSize?] = []
        images.reserveCapacity(urls.count)
        for result in results {
            let decoded = try result.get()
            sizes.append(decoded.size)
            if let image = decoded.image { images.append(image) }
        }
        if let problem = sizeProblems(urls, sizes).first { throw problem }
        return FrameSequence(height: target.height, width: target.width, frames: images, names: folder.frameNames)
    }
}
