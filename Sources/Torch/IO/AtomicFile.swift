import Foundation

/// Writes files so that a reader never sees a half-written one: the data goes to a temporary file
/// in the same folder (`.NAME.tmp-PID-RANDOM`), is flushed to disk, then renamed over the target
/// (rename is atomic on POSIX). A failed write removes its temporary file and names the target;
/// temporary files of killed processes are removed by `removeStaleTemporaryFiles`.
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws {
        let folder = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw TorchError("cannot create the folder \(folder.path) for \(url.lastPathComponent): check that it is writable")
        }
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        if let failure = writeAndSync(data, to: temporary.path) {
            unlink(temporary.path)
            throw TorchError("cannot write \(url.path): \(failure)")
        }
        FaultInjection.reached(.beforeRename)
        if rename(temporary.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary.path)
            throw TorchError("cannot write \(url.path): rename failed (\(reason))")
        }
    }

    /// open, write, fsync, close; the reason of the first failure, or nil.
    private static func writeAndSync(_ data: Data, to path: String) -> String? {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return reason(errno, path: path) }
        var failure: String?
        data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(descriptor, base + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = reason(errno, path: path)
                    return
                }
                offset += written
            }
        }
        if failure == nil && fsync(descriptor) != 0 { failure = reason(errno, path: path) }
        if close(descriptor) != 0 && failure == nil { failure = reason(errno, path: path) }
        return failure
    }

    private static func reason(_ code: Int32, path: String) -> String {
        let text = String(cString: strerror(code))
        let folder = (path as NSString).deletingLastPathComponent
        switch code {
        case ENOSPC, EDQUOT:
            let free = DiskSpace.available(at: URL(fileURLWithPath: folder)).map { " (\(DiskSpace.describe($0)) free)" } ?? ""
            return "\(text): the disk holding \(folder) is full\(free); free some space, then run the command again"
        case EACCES, EPERM, EROFS: return "\(text): check that \(folder) is writable"
        default: return text
        }
    }

    /// Whether `name` is a temporary file of an atomic write (this type's, or Foundation's
    /// `.dat.nosync` files) whose writer is no longer running.
    static func isStaleTemporary(_ name: String) -> Bool {
        if name.hasPrefix(".dat.nosync") { return true }
        guard name.hasPrefix("."), let range = name.range(of: ".tmp-", options: .backwards) else { return false }
        let fields = name[range.upperBound...].split(separator: "-")
        guard fields.count == 2, let pid = Int32(fields[0]) else { return false }
        if pid == getpid() { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }

    /// Removes the temporary files that killed writers left in `folder` (not recursive); returns their names.
    @discardableResult
    public static func removeStaleTemporaryFiles(in folder: URL) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter(isStaleTemporary).filter { unlink(folder.appendingPathComponent($0).path) == 0 }.sorted()
    }
}

/// Free space on the disk that holds a folder, checked before work that must be able to save.
public enum DiskSpace {
    /// Bytes available to this user on the file system of `url`, or nil when it cannot be told.
    public static func available(at url: URL) -> Int64? {
        var stats = statvfs()
        guard statvfs(url.path, &stats) == 0 else { return nil }
        let (bytes, overflow) = Int64(stats.f_bavail).multipliedReportingOverflow(by: Int64(stats.f_frsize))
        return overflow ? Int64.max : bytes
    }

    public static func describe(_ bytes: Int64) -> String {
        bytes >= 1 << 30 ? String(format: "%.1f GB", Double(bytes) / Double(1 << 30)) : String(format: "%.1f MB", Double(bytes) / Double(1 << 20))
    }

    /// Throws when `folder`'s disk has less than `bytes` free, naming what needs the space.
    public static func require(_ bytes: Int64, at folder: URL, for purpose: String) throws {
        guard let free = available(at: folder), free < bytes else { return }
        throw TorchError("\(folder.path): \(purpose) needs \(describe(bytes)) but its disk has \(describe(free)) free; free some space, then run the command again")
    }
}
