import Foundation

/// Every file this module writes appears whole or not at all: written to a hidden temporary file
/// in the same folder, then renamed over the target (rename is atomic on POSIX).
enum FileOutput {
    static func write(_ data: Data, to url: URL) throws {
        let folder = url.deletingLastPathComponent()
        try makeFolder(folder)
        let temporary = temporaryURL(for: url)
        do {
            try data.write(to: temporary)
        } catch {
            throw ReportError("cannot write \(url.path): \(error.localizedDescription); check that \(folder.path) is writable")
        }
        try moveIntoPlace(temporary, url)
    }

    static func write(_ text: String, to url: URL) throws { try write(Data(text.utf8), to: url) }

    static func makeFolder(_ folder: URL) throws {
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw ReportError("cannot create the folder \(folder.path): \(error.localizedDescription)")
        }
    }

    /// A hidden name next to `url`, unique to this process and call.
    static func temporaryURL(for url: URL) -> URL {
        url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    }

    /// Renames `temporary` over `url` (a file, or a folder replacing an older folder).
    static func moveIntoPlace(_ temporary: URL, _ url: URL) throws {
        if rename(temporary.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw ReportError("cannot move \(temporary.path) to \(url.path): \(reason)")
        }
    }

    /// Replaces the folder `url` by the finished folder `temporary`: the old one is renamed aside
    /// and deleted only once the new one is in place.
    static func replaceFolder(_ url: URL, with temporary: URL) throws {
        let fm = FileManager.default
        var old: URL?
        if fm.fileExists(atPath: url.path) {
            let aside = temporaryURL(for: url)
            try moveIntoPlace(url, aside)
            old = aside
        }
        try moveIntoPlace(temporary, url)
        if let old { try? fm.removeItem(at: old) }
    }
}
