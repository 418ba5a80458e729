import Foundation
import VidPred
import VidPredData

/// Where `vidpred predict` writes and `eval`/`report` read (docs/run-folder.md):
///
///     predictions/manifest.json                      how the predictions were made
///     predictions/submission.csv                     the lab's Kaggle file (test videos, sample 0)
///     predictions/<split>/<video>/frames/frameNNNNNN.png, prediction.gif     sample 0
///     predictions/<split>/<video>/side_by_side.gif   label | prediction | ground truth
///     predictions/<split>/<video>/contact_sheet.png  label, ground truth and every sample over time
///     predictions/<split>/<video>/samples/<k>/frames/..., prediction.gif    samples 1..K-1
public struct PredictionLayout: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root }

    /// `runs/NAME/predictions`.
    public init(run: RunFolder) { root = run.predictions }

    public var manifest: URL { root.appendingPathComponent("manifest.json") }
    public var submission: URL { root.appendingPathComponent("submission.csv") }

    public func videoFolder(split: String, video: String) -> URL {
        root.appendingPathComponent(split).appendingPathComponent(video)
    }

    /// Sample 0 lives in the video folder itself (the contract's paths), sample k in samples/k.
    public static func sampleFolder(in videoFolder: URL, sample: Int) -> URL {
        sample == 0 ? videoFolder : videoFolder.appendingPathComponent("samples").appendingPathComponent(String(sample))
    }

    public static func framesFolder(in sampleFolder: URL) -> URL { sampleFolder.appendingPathComponent("frames") }

    public static func frameName(_ t: Int) -> String { String(format: "frame%06d.png", t) }

    /// The folder name of a dataset video: its own name, or "0" for a split with one flat video
    /// (the lab's val).
    public static func folderName(of video: LabVideo) -> String { video.name.isEmpty ? "0" : video.name }

    /// One predicted video found on disk.
    public struct Video: Sendable {
        public var split: String
        public var name: String
        public var folder: URL
        /// The sample folders that hold frames, sample 0 first.
        public var samples: [URL]
    }

    /// The predicted videos on disk, split by split (val, then test, then others) and in natural
    /// order of their names.
    public func videos() -> [Video] {
        let fm = FileManager.default
        func subfolders(_ url: URL) -> [String] {
            ((try? fm.contentsOfDirectory(atPath: url.path)) ?? [])
                .filter { !$0.hasPrefix(".") && Self.isFolder(url.appendingPathComponent($0)) }
                .sorted(by: FrameFolder.naturalOrder)
        }
        let order = ["val": 0, "test": 1]
        let splits = subfolders(root).sorted { (order[$0] ?? 2, $0) < (order[$1] ?? 2, $1) }
        var result: [Video] = []
        for split in splits {
            for name in subfolders(root.appendingPathComponent(split)) {
                let folder = videoFolder(split: split, video: name)
                var samples: [URL] = []
                if Self.isFolder(Self.framesFolder(in: folder)) { samples.append(folder) }
                let extra = subfolders(folder.appendingPathComponent("samples")).filter { Int($0) != nil }.sorted { Int($0)! < Int($1)! }
                samples += extra.map { folder.appendingPathComponent("samples").appendingPathComponent($0) }
                    .filter { Self.isFolder(Self.framesFolder(in: $0)) }
                if !samples.isEmpty { result.append(Video(split: split, name: name, folder: folder, samples: samples)) }
            }
        }
        return result
    }

    /// The frames of one sample folder, in frame order.
    public static func readFrames(in sampleFolder: URL) throws -> [RGBImage] {
        let folder = framesFolder(in: sampleFolder)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
            .filter { $0.hasSuffix(".png") && !$0.hasPrefix(".") }.sorted(by: FrameFolder.naturalOrder)
        guard !names.isEmpty else {
            throw ReportError("\(folder.path) holds no PNG frames: run `vidpred predict` again for this run")
        }
        return try names.map { try PNG.read(folder.appendingPathComponent($0)) }
    }

    static func isFolder(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}

/// `predictions/manifest.json`: what made the predictions, so eval and report can say it and find
/// the data again.
public struct PredictionManifest: Codable, Sendable {
    public struct Video: Codable, Sendable {
        public var split: String
        public var name: String
        public var frames: Int
        public var hasGroundTruth: Bool

        public init(split: String, name: String, frames: Int, hasGroundTruth: Bool) {
            self.split = split; self.name = name; self.frames = frames; self.hasGroundTruth = hasGroundTruth
        }

        enum CodingKeys: String, CodingKey {
            case split, name, frames
            case hasGroundTruth = "has_ground_truth"
        }
    }

    public var checkpoint: String
    /// The dataset's path, and its fingerprint (nil in manifests of earlier versions).
    public var data: String
    public var dataFingerprint: DatasetFingerprint?
    public var seed: UInt64
    public var samples: Int
    public var latent: LatentSource
    /// The test-time mirror (`Predictor.mirrorAverage`); nil in manifests written before the option existed (off).
    public var mirrorAverage: Bool?
    /// nil in manifests written before the option existed (fp32).
    public var precision: Precision?
    public var height: Int
    public var width: Int
    public var videos: [Video]
    /// Wall time of the whole command, and of generation alone (writing pictures left out).
    public var seconds: Double
    public var generationSeconds: Double
    /// Generated frames (all samples) per second of generation.
    public var framesPerSecond: Double
    public var created: String

    public init(checkpoint: String, data: DataRecord, seed: UInt64, samples: Int, latent: LatentSource, mirrorAverage: Bool = false, precision: Precision = .fp32,
                height: Int, width: Int, videos: [Video], seconds: Double, generationSeconds: Double, framesPerSecond: Double,
                created: Date = Date()) {
        self.checkpoint = checkpoint; self.data = data.path; dataFingerprint = data.fingerprint
        self.seed = seed; self.samples = samples; self.latent = latent; self.mirrorAverage = mirrorAverage
        self.precision = precision
        self.height = height; self.width = width; self.videos = videos; self.seconds = seconds
        self.generationSeconds = generationSeconds
        self.framesPerSecond = framesPerSecond
        self.created = ISO8601DateFormatter().string(from: created)
    }

    enum CodingKeys: String, CodingKey {
        case checkpoint, data, seed, samples, latent, precision, height, width, videos, seconds, created
        case framesPerSecond = "frames_per_second", mirrorAverage = "mirror_average", generationSeconds = "generation_seconds", dataFingerprint = "data_fingerprint"
    }

    /// The dataset as recorded (nil for manifests of earlier versions, which kept only its path).
    public var dataRecord: DataRecord? { dataFingerprint.map { DataRecord(path: data, fingerprint: $0) } }

    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try FileOutput.write(encoder.encode(self), to: url)
    }

    /// The manifest, or nil when there is none; an unreadable one is an error.
    public static func read(_ url: URL) throws -> PredictionManifest? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            return try JSONDecoder().decode(PredictionManifest.self, from: Data(contentsOf: url))
        } catch {
            throw ReportError("\(url.path) is not a readable predictions manifest (\(error.localizedDescription)): make the predictions again")
        }
    }
}
