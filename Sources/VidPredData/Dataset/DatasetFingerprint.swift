import Foundation

/// A cheap identity of a dataset's contents: the number and total size of the files under its
/// `train/`, `val/` and `test/` folders and a hash of their relative paths and sizes. It does not
/// read the files, so it takes milliseconds (edn-s4: 4,521 files); a file rewritten with other
/// pixels at the same size goes unnoticed, an added, removed, renamed or resized one does not.
public struct DatasetFingerprint: Codable, Equatable, Sendable, CustomStringConvertible {
    public var files: Int
    public var bytes: Int
    /// FNV-1a (64 bits) over "relative path NUL size LF" of every file, in sorted path order.
    public var hash: String

    public init(files: Int, bytes: Int, hash: String) {
        self.files = files
        self.bytes = bytes
        self.hash = hash
    }

    public var description: String { "\(files) files, \(bytes) bytes, hash \(hash)" }

    /// Fingerprints the dataset at `root` (hidden files, such as interrupted writes, are left out).
    public static func of(_ root: URL) throws -> DatasetFingerprint {
        guard FileSystem.isDirectory(root) else {
            throw DataError.missing(root, expected: "a dataset folder", fix: "check the path of the dataset")
        }
        var entries: [(path: String, size: Int)] = []
        for split in LabSplit.allCases {
            let folder = root.appendingPathComponent(split.rawValue)
            guard FileSystem.isDirectory(folder), let walk = FileManager.default.enumerator(atPath: folder.path) else { continue }
            while let relative = walk.nextObject() as? String {
                if relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }) {
                    walk.skipDescendants()
                    continue
                }
                guard walk.fileAttributes?[.type] as? FileAttributeType == .typeRegular else { continue }
                let size = (walk.fileAttributes?[.size] as? NSNumber)?.intValue ?? 0
                entries.append((split.rawValue + "/" + relative, size))
            }
        }
        entries.sort { $0.path < $1.path }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for entry in entries {
            for byte in Array("\(entry.path)\u{0}\(entry.size)\n".utf8) {
                hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            }
        }
        return DatasetFingerprint(files: entries.count, bytes: entries.reduce(0) { $0 + $1.size }, hash: String(format: "%016llx", hash))
    }
}

/// Which dataset a run or a set of predictions used: where it was and what it held.
public struct DataRecord: Codable, Equatable, Sendable {
    /// Absolute path at the time it was recorded.
    public var path: String
    public var fingerprint: DatasetFingerprint

    public init(path: String, fingerprint: DatasetFingerprint) {
        self.path = path
        self.fingerprint = fingerprint
    }

    /// Records the dataset at `root` as it is now.
    public static func of(_ root: URL) throws -> DataRecord {
        DataRecord(path: root.standardizedFileURL.path, fingerprint: try DatasetFingerprint.of(root))
    }

    public var url: URL { URL(fileURLWithPath: path) }
}
