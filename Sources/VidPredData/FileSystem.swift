import Foundation

/// Small file-system helpers shared by every writer, so that all outputs are written the same way:
/// whole or not at all.
enum FileSystem {
    static func isDirectory(_ url: URL) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) && isDir.boolValue
    }

    static func exists(_ url: URL) -> Bool {
        FileManager.default.fileExists(atPath: url.path)
    }

    /// Creates `folder` (and its parents) or throws a `notWritable` error naming it.
    static func makeFolder(_ folder: URL) throws {
        if isDirectory(folder) { return }
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw DataError.notWritable(folder, reason: reason(of: error))
        }
    }

    /// Writes `data` to a hidden temporary file next to `url`, then renames it over `url`, so a
    /// reader never sees a half-written file (and an interrupted write leaves only a dot-file,
    /// which frame listings ignore). Creates the parent folder when missing.
    static func writeAtomically(_ data: Data, to url: URL) throws {
        let folder = url.deletingLastPathComponent()
        try makeFolder(folder)
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).tmp-\(UUID().uuidString.prefix(8))")
        if let failure = posixWrite(data, to: temporary.path) {
            try? FileManager.default.removeItem(at: temporary)
            throw DataError.notWritable(url, reason: failure)
        }
        try renameOver(temporary, url)
    }

    /// Renames a finished temporary file over `url` with rename(2), so `url` holds the old file or
    /// the new one, never neither; the temporary file is removed when that fails.
    static func renameOver(_ temporary: URL, _ url: URL) throws {
        if rename(temporary.path, url.path) != 0 {
            let message = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw DataError.notWritable(url, reason: message)
        }
    }

    /// Writes a file with plain POSIX calls. Foundation's Data.write fsyncs every file on Linux,
    /// which made writing thousands of small frames ten times slower; durability against power
    /// loss is not needed for frames that can be regenerated.
    static func writeFile(_ data: Data, to url: URL) throws {
        if let failure = posixWrite(data, to: url.path) {
            throw DataError.notWritable(url, reason: failure)
        }
    }

    /// open/write/close; returns the error text on failure.
    private static func posixWrite(_ data: Data, to path: String) -> String? {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { return String(cString: strerror(errno)) }
        var failure: String? = nil
        data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(descriptor, base + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                offset += written
            }
        }
        if close(descriptor) != 0 && failure == nil { failure = String(cString: strerror(errno)) }
        return failure
    }

    /// Moves a finished folder into place with one rename(2): the destination appears complete or
    /// not at all. Fails when the destination exists, unless it is an empty folder (which rename
    /// replaces).
    static func moveFolderIntoPlace(_ source: URL, to destination: URL) throws {
        if exists(destination) && !isEmptyFolder(destination) {
            throw DataError(.alreadyExists, path: destination.path,
                            problem: "\(destination.path): already exists",
                            fix: "remove it or choose another output folder")
        }
        if rename(source.path, destination.path) != 0 {
            throw DataError.notWritable(destination, reason: String(cString: strerror(errno)))
        }
    }

    static func isEmptyFolder(_ url: URL) -> Bool {
        isDirectory(url) && ((try? FileManager.default.contentsOfDirectory(atPath: url.path).isEmpty) ?? false)
    }

    /// A short reason for a Foundation/POSIX error, without Foundation's long wrapper text.
    static func reason(of error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        return ns.localizedDescription
    }
}
