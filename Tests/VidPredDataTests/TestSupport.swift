import Foundation
import Testing
@testable import VidPredData

/// Shared helpers for the data tests: fixtures, scratch folders, the real sample's location.
enum TestSupport {
    static func fixture(_ name: String) throws -> URL {
        let folder = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil),
                                  "the Fixtures resource folder is missing from the test bundle")
        return folder.appendingPathComponent(name)
    }

    /// A fresh empty folder under the system temporary directory; remove it with `cleanUp`.
    static func scratchFolder(_ label: String = #function) throws -> URL {
        let safe = label.filter { $0.isLetter || $0.isNumber }
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("vidpred-data-tests-\(safe)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func cleanUp(_ url: URL) {
        try? FileManager.default.removeItem(at: url)
    }

    /// The project root: the first folder above this file (symlinks resolved) with a Package.swift.
    static var repositoryRoot: URL? {
        var url = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url = url.deletingLastPathComponent()
        }
        return nil
    }

    /// `../shared/data/edn-s4` next to the repository (the real 32x64 sample), when present.
    static var realSample: URL? {
        if let override = ProcessInfo.processInfo.environment["VIDPRED_EDN_S4"] {
            return URL(fileURLWithPath: override)
        }
        guard let root = repositoryRoot else { return nil }
        let url = root.deletingLastPathComponent().appendingPathComponent("shared/data/edn-s4").standardizedFileURL
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }

    /// An image with a recognisable pattern (values are multiples of 1/255).
    static func patternImage(width: Int, height: Int, seed: Int = 0) -> RGBImage {
        var image = RGBImage(width: width, height: height)
        for c in 0..<3 {
            for y in 0..<height {
                for x in 0..<width {
                    image[c, y, x] = Float((x * 37 + y * 91 + c * 53 + seed * 17) % 256) / 255
                }
            }
        }
        return image
    }

    /// Finds an executable on PATH (for ffmpeg/ffprobe-based checks).
    static func executable(_ name: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for folder in path.split(separator: ":") {
            let url = URL(fileURLWithPath: String(folder)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }

    /// Runs a program, returning (status, stdout, stderr).
    @discardableResult
    static func run(_ program: URL, _ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
        let process = Process()
        process.executableURL = program
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }
}

extension DataError {
    /// The full message, as a user would see it.
    var text: String { description }
}

/// Runs `body`, requires it to throw a DataError, and returns that error.
func expectDataError(_ kind: DataError.Kind, sourceLocation: SourceLocation = #_sourceLocation,
                     _ body: () throws -> Void) -> DataError? {
    do {
        try body()
        Issue.record("expected a DataError.\(kind), nothing was thrown", sourceLocation: sourceLocation)
        return nil
    } catch let error as DataError {
        #expect(error.kind == kind, "wrong kind: \(error.text)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected a DataError.\(kind), got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
