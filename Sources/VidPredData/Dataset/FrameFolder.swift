import Foundation

/// The contents of one folder of the lab layout: PNG frames (sorted by frame number), subfolders
/// (one video each), and files that have no place there.
///
/// Which files are ignored: hidden files (names starting with ".", such as .DS_Store or the
/// temporary files of our own atomic writes) and the thumbnail caches Windows drops into image
/// folders (Thumbs.db, desktop.ini). Any other non-PNG file (a .jpg, a .txt...) is an error, not
/// silently skipped: a stray JPEG in a frame folder usually means a frame is missing as PNG.
public struct FrameFolder: Sendable, Equatable {
    public let url: URL
    /// PNG file names, ordered by the number in the name ("frame2.png" before "frame10.png").
    public let frameNames: [String]
    /// Subfolder names, in natural order ("2" before "10").
    public let subfolders: [String]
    /// Files that are neither PNG frames nor ignored, in natural order.
    public let unexpectedFiles: [String]

    public var frameURLs: [URL] { frameNames.map { url.appendingPathComponent($0) } }

    /// Lists `url`. Throws only when the folder itself cannot be read.
    public static func list(_ url: URL) throws -> FrameFolder {
        guard FileSystem.isDirectory(url) else {
            throw DataError.missing(url, expected: "a folder of frameNNNNNN.png files",
                                    fix: "create it or check the dataset path (lab layout: docs/lab.md)")
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: url.path)
        } catch {
            throw DataError(.missingPath, path: url.path, problem: "\(url.path): cannot list (\(FileSystem.reason(of: error)))",
                            fix: "check the folder's permissions")
        }
        var frames: [String] = [], folders: [String] = [], others: [String] = []
        for name in names where !isIgnored(name) {
            // Only names that are not frames need a stat (one per file would dominate listing
            // a folder of thousands of small frames); a folder named *.png fails later on reading.
            if name.lowercased().hasSuffix(".png") {
                frames.append(name)
            } else if FileSystem.isDirectory(url.appendingPathComponent(name)) {
                folders.append(name)
            } else {
                others.append(name)
            }
        }
        return FrameFolder(url: url, frameNames: naturallySorted(frames),
                           subfolders: naturallySorted(folders), unexpectedFiles: naturallySorted(others))
    }

    /// Hidden files and OS thumbnail caches.
    public static func isIgnored(_ name: String) -> Bool {
        let lower = name.lowercased()
        return name.hasPrefix(".") || lower == "thumbs.db" || lower == "desktop.ini"
    }

    /// The number in a frame's name: the last run of digits ("frame000012.png" -> 12).
    public static func frameNumber(_ name: String) -> Int? {
        let stem = name.split(separator: ".", omittingEmptySubsequences: false).first.map(String.init) ?? name
        guard let lastDigits = stem.split(whereSeparator: { !$0.isNumber }).last else { return nil }
        return Int(lastDigits)
    }

    /// Sorts names in natural order, parsing each name once.
    public static func naturallySorted(_ names: [String]) -> [String] {
        names.map { (name: $0, key: chunks($0)) }
            .sorted { precedes($0.key, $1.key, $0.name, $1.name) }
            .map(\.name)
    }

    /// Natural order: runs of digits compare by value, other text compares as text, so that
    /// frame2 < frame10 and video 2 < video 10. Equal-looking names ("frame1" / "frame001") fall
    /// back to plain comparison so the order is always total.
    public static func naturalOrder(_ a: String, _ b: String) -> Bool {
        precedes(chunks(a), chunks(b), a, b)
    }

    private static func precedes(_ left: [Chunk], _ right: [Chunk], _ a: String, _ b: String) -> Bool {
        for (x, y) in zip(left, right) where x != y {
            switch (x, y) {
            case let (.number(m), .number(n)) where m != n: return m < n
            case let (.text(s), .text(t)): return s < t
            case (.number, .text): return true
            case (.text, .number): return false
            default: continue
            }
        }
        if left.count != right.count { return left.count < right.count }
        return a < b
    }

    private enum Chunk: Equatable {
        case number(Int)
        case text(String)
    }

    private static func chunks(_ s: String) -> [Chunk] {
        var result: [Chunk] = []
        var current = "", inDigits = false
        func flush() {
            guard !current.isEmpty else { return }
            // Very long digit runs (beyond Int) compare as text rather than failing.
            result.append(inDigits ? (Int(current).map(Chunk.number) ?? .text(current)) : .text(current))
            current = ""
        }
        for ch in s {
            let digit = ch.isASCII && ch.isNumber
            if digit != inDigits { flush(); inDigits = digit }
            current.append(ch)
        }
        flush()
        return result
    }
}
