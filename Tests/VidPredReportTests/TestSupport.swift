import Foundation
import Testing
import Torch
import VidPred
import VidPredData

/// Shared helpers: scratch folders, the repository and the real sample, tiny models and data.
enum TestSupport {
    /// The project root: the first folder above this file (symlinks resolved) with a Package.swift.
    static var repositoryRoot: URL {
        var url = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url = url.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// `../shared/data/edn-s4` (the real 32x64 sample), when present; VIDPRED_EDN_S4 overrides.
    static var realSample: URL? {
        if let override = ProcessInfo.processInfo.environment["VIDPRED_EDN_S4"] { return URL(fileURLWithPath: override) }
        let url = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/data/edn-s4").standardizedFileURL
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }

    static func scratchFolder(_ label: String = #function) throws -> URL {
        let safe = label.filter { $0.isLetter || $0.isNumber }
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("vidpred-report-tests-\(safe)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func cleanUp(_ url: URL) { try? FileManager.default.removeItem(at: url) }

    /// Runs libtorch on one thread, once per process. The tests' tensors are tiny, and on a
    /// machine shared with other jobs two OpenMP threads waiting for each other made a 1-second
    /// test take minutes (measured: 1.1 s with one thread, 4 s to over 9 min with two).
    static let singleThreaded: Void = { Runtime.threads = 1 }()

    /// The lab model at a tiny width: fast enough for every test.
    static func tinyModel(seed: UInt64 = 1) throws -> LabModel {
        _ = singleThreaded
        let model = try RandomGenerator.initialising(seed: seed) { try LabModel(ModelDimensions(frame: 16, label: 8, noise: 4, decoder: 24)) }
        model.eval()
        return model
    }

    /// Smooth random frames (values on the 1/255 grid, as decoded PNGs are), planar (T, 3, H, W).
    static func frames(_ count: Int, height: Int, width: Int, seed: UInt64) -> [RGBImage] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 24)
        }
        let phase = (0..<3).map { _ in next() * 6 }
        return (0..<count).map { t in
            var image = RGBImage(width: width, height: height)
            for c in 0..<3 {
                for y in 0..<height {
                    for x in 0..<width {
                        let v = 0.5 + 0.4 * sin(Float(x) * 0.3 + Float(t) * 0.2 + phase[c]) * cos(Float(y) * 0.4 + Float(c))
                        image[c, y, x] = (min(1, max(0, v + 0.05 * (next() - 0.5))) * 255).rounded() / 255
                    }
                }
            }
            return image
        }
    }

    /// Writes a dataset in the lab layout with a val video and `testVideos` test videos (with
    /// test_gt), each `length` frames of height x width. No train split.
    static func writeLabDataset(at root: URL, length: Int, height: Int, width: Int, testVideos: Int = 2) throws {
        func write(_ images: [RGBImage], _ folder: String, first: Int = 0) throws {
            for (i, image) in images.enumerated() {
                try PNG.write(image, to: root.appendingPathComponent(folder).appendingPathComponent(String(format: "frame%06d.png", first + i)))
            }
        }
        try write(frames(length, height: height, width: width, seed: 100), "val/val_img")
        try write(frames(length, height: height, width: width, seed: 101), "val/val_label")
        for v in 0..<testVideos {
            let video = frames(length, height: height, width: width, seed: 200 + UInt64(v))
            try write([video[0]], "test/test_img/\(v)")
            try write(frames(length, height: height, width: width, seed: 300 + UInt64(v)), "test/test_label/\(v)")
            try write(video, "test/test_gt/\(v)")
        }
    }

    static func executable(_ name: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for folder in path.split(separator: ":") {
            let url = URL(fileURLWithPath: String(folder)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }

    /// Runs a program; returns (status, stdout + stderr).
    @discardableResult
    static func run(_ program: URL, _ arguments: [String], environment: [String: String]? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = program
        process.arguments = arguments
        if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
