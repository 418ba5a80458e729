import Foundation

/// The repository this test target was built from.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The `vidpred` binary of this build (`make test` builds it before the tests).
let vidpredBinary = repositoryRoot.appendingPathComponent(".build/debug/vidpred")

/// A new empty folder under the temporary directory, named after `label` (the calling test by default).
func scratch(_ label: String = #function) throws -> URL {
    let name = label.filter { $0.isLetter || $0.isNumber || $0 == "-" }
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("vidpred-\(name)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Runs a program to its end: its status and everything it printed (stdout and stderr together).
func runToEnd(_ program: URL, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = program
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, output)
}
