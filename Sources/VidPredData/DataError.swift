import Foundation

/// Every failure of the data layer: what went wrong, with which file or folder, and how to fix it.
///
/// The message always starts with the path concerned so that a user reading a one-line error in a
/// terminal knows which file to look at; `fix` says what to do about it.
public struct DataError: LocalizedError, Sendable, Equatable, CustomStringConvertible {
    /// What kind of problem this is, for callers (and tests) that react to a specific one.
    public enum Kind: String, Sendable, Equatable {
        case missingPath          // a file or folder that should exist does not
        case notPNG               // a file that should be a PNG is something else
        case corruptPNG           // a PNG that libpng cannot decode (truncated, bad CRC, ...)
        case unexpectedFile       // a file that has no place in a frame folder (.jpg, .txt, ...)
        case emptyFolder          // a frame folder without frames
        case unpairedFiles        // frames without labels or labels without frames
        case countMismatch        // two folders that must hold the same number of frames do not
        case sizeMismatch         // frames of one video with different image sizes
        case tooShort             // fewer frames than one training window
        case notWritable          // an output that cannot be written
        case alreadyExists        // an output folder that exists and must not be replaced
        case invalidArgument      // a parameter out of range (sizes, counts, fps...)
        case toolMissing          // an external program (ffmpeg) is not installed
        case toolFailed           // an external program failed
    }

    public let kind: Kind
    /// The file or folder concerned (absolute or as given by the caller).
    public let path: String
    /// What is wrong, starting with the path.
    public let problem: String
    /// What the user can do about it.
    public let fix: String

    public init(_ kind: Kind, path: String, problem: String, fix: String) {
        self.kind = kind
        self.path = path
        self.problem = problem
        self.fix = fix
    }

    public var errorDescription: String? { description }
    public var description: String { fix.isEmpty ? problem : "\(problem); \(fix)" }
}

extension DataError {
    static func missing(_ url: URL, expected: String, fix: String) -> DataError {
        DataError(.missingPath, path: url.path, problem: "\(url.path): not found (expected \(expected))", fix: fix)
    }

    static func notWritable(_ url: URL, reason: String) -> DataError {
        DataError(.notWritable, path: url.path, problem: "\(url.path): cannot write (\(reason))",
                  fix: "choose an output folder you can write to, or fix its permissions")
    }

    static func invalid(_ what: String, _ problem: String, fix: String) -> DataError {
        DataError(.invalidArgument, path: what, problem: "\(what): \(problem)", fix: fix)
    }

    /// Names at most `limit` items, then says how many more there are: "a, b, c and 12 more".
    static func listFew(_ names: [String], limit: Int = 5) -> String {
        let shown = names.prefix(limit).joined(separator: ", ")
        return names.count > limit ? "\(shown) and \(names.count - limit) more" : shown
    }
}
