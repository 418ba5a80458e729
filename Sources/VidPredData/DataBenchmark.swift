import Foundation

/// Speed of the data layer: decoding the real sample (one thread vs all cores), generating
/// synthetic data, encoding a GIF. Returns a printable report; the CLI prints it.
public enum DataBenchmark {
    /// The real sample's conventional location: `../shared/data/edn-s4` from the repository root.
    public static func defaultSample(repositoryRoot: URL) -> URL {
        repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/data/edn-s4").standardizedFileURL
    }

    /// - Parameters:
    ///   - sample: a dataset in the lab layout (e.g. `defaultSample(...)`); skipped when nil or absent.
    ///   - syntheticFrames: training frames to generate for the synthetic measurement (0 skips it).
    ///   - repeats: each timing is the best of this many runs (the machine may be shared).
    public static func run(sample: URL?, syntheticFrames: Int = 1000, repeats: Int = 3) -> String {
        var lines = ["VidPredData benchmark (\(ProcessInfo.processInfo.activeProcessorCount) cores)"]
        if let sample, FileSystem.isDirectory(sample) {
            lines += measureLoading(sample, repeats: max(1, repeats))
        } else {
            lines.append("  real sample: skipped (not found\(sample.map { " at \($0.path)" } ?? ""))")
        }
        if syntheticFrames > 0 {
            lines += measureSynthetic(frames: syntheticFrames)
        }
        lines += measureGIF()
        return lines.joined(separator: "\n")
    }

    private static func measureLoading(_ sample: URL, repeats: Int) -> [String] {
        var lines: [String] = []
        for parallel in [false, true] {
            var best = Double.infinity
            var files = 0
            for _ in 0..<repeats {
                let start = Date()
                do {
                    let data = try LabDataset.load(root: sample, options: LabDatasetOptions(parallel: parallel))
                    best = min(best, Date().timeIntervalSince(start))
                    let videos = data.train + data.val + data.test
                    files = videos.reduce(0) { $0 + $1.frames.count + $1.labels.count + ($1.groundTruth?.count ?? 0) }
                } catch {
                    return ["  real sample: could not load (\(error.localizedDescription))"]
                }
            }
            let mode = parallel ? "all cores  " : "one thread "
            lines.append(String(format: "  load real sample, %@: %d PNGs in %.3f s = %.0f PNGs/s", mode, files, best, Double(files) / best))
        }
        return lines
    }

    private static func measureSynthetic(frames: Int) -> [String] {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vidpred-bench-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        let options = SyntheticDanceOptions(trainFrames: frames, valVideos: 0, testVideos: 0)
        let start = Date()
        do {
            try SyntheticDance.generate(options, to: folder.appendingPathComponent("synthetic"))
        } catch {
            return ["  synthetic: failed (\(error.localizedDescription))"]
        }
        let seconds = Date().timeIntervalSince(start)
        return [String(format: "  generate synthetic %dx%d: %d frames + labels in %.2f s = %.0f frames/s",
                       options.width, options.height, frames, seconds, Double(frames) / seconds)]
    }

    private static func measureGIF() -> [String] {
        guard let clip = SyntheticDance.clip(SyntheticDanceOptions(trainFrames: 0, valVideos: 1, testVideos: 0), split: .val, index: 0) else { return [] }
        let frames = Parallel.map(clip.frameCount) { clip.renderFrame($0) }
        let start = Date()
        guard let data = try? GIF.encode(frames, options: GIFOptions(scale: 4)) else { return ["  GIF: failed"] }
        let seconds = Date().timeIntervalSince(start)
        return [String(format: "  encode GIF (%d frames 64x32, 4x upscaled): %.2f s = %.0f frames/s, %d KB",
                       frames.count, seconds, Double(frames.count) / seconds, data.count / 1024)]
    }
}
