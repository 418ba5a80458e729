import Foundation

/// What to generate. Equal options (and generator version) give byte-identical datasets.
public struct SyntheticDanceOptions: Sendable, Codable, Equatable {
    /// Training frames in total, cut into clips of `clipLength` (the last clip may be shorter).
    public var trainFrames: Int
    /// Frames per training clip (a new dancer, room and dance each clip). A multiple of the lab's
    /// train_vi_len (16) keeps the lab's non-overlapping windows from straddling two clips.
    public var clipLength: Int
    /// Validation videos (1 = the lab's flat val/val_img; more = one subfolder each).
    public var valVideos: Int
    /// Test videos: test_img/<i>/ gets the first frame, test_label/<i>/ and test_gt/<i>/ all.
    public var testVideos: Int
    /// Frames per val / test video (the lab: 630).
    public var videoLength: Int
    public var height: Int
    public var width: Int
    public var seed: UInt64
    /// Standard deviation of Gaussian camera noise added to frames (not labels), in [0, 1] units.
    public var noise: Double
    /// Drawing resolution multiplier (antialiasing); nil picks 4 for small frames, less for large.
    public var supersampling: Int?
    public var framesPerSecond: Double
    /// Who dances where: by default one dancer in one studio in every video (train, val and test),
    /// as in the lab's dataset (Everybody Dance Now is filmed per subject); or a new dancer and
    /// room per clip, a test of generalising to people and rooms never seen.
    public var cast: SyntheticCast

    public init(trainFrames: Int = 2000, clipLength: Int = 160, valVideos: Int = 1, testVideos: Int = 2,
                videoLength: Int = 630, height: Int = 32, width: Int = 64, seed: UInt64 = 1, noise: Double = 0.01,
                supersampling: Int? = nil, framesPerSecond: Double = 30, cast: SyntheticCast = .oneDancer) {
        self.trainFrames = trainFrames
        self.clipLength = clipLength
        self.valVideos = valVideos
        self.testVideos = testVideos
        self.videoLength = videoLength
        self.height = height
        self.width = width
        self.seed = seed
        self.noise = noise
        self.supersampling = supersampling
        self.framesPerSecond = framesPerSecond
        self.cast = cast
    }

    /// The supersampling actually used.
    public var resolvedSupersampling: Int {
        if let s = supersampling { return s }
        let side = max(width, height)
        return side <= 256 ? 4 : (side <= 1024 ? 2 : 1)
    }

    func validate() throws {
        func check(_ ok: Bool, _ what: String, _ problem: String, _ fix: String) throws {
            if !ok { throw DataError.invalid(what, problem, fix: fix) }
        }
        try check(width >= 8 && height >= 8 && width <= 4096 && height <= 4096, "size", "\(width)x\(height) is out of range", "use 8...4096 pixels per side (the lab: 64x32)")
        try check(trainFrames >= 0 && valVideos >= 0 && testVideos >= 0, "counts", "frame and video counts must not be negative", "use 0 or more")
        try check(trainFrames + valVideos + testVideos > 0, "counts", "nothing to generate", "ask for some train frames, val or test videos")
        try check(clipLength >= 2, "clip length", "\(clipLength) is too short", "use at least 2 (160 by default)")
        try check(videoLength >= 2 || valVideos + testVideos == 0, "video length", "\(videoLength) is too short", "use at least 2 (the lab: 630)")
        try check(noise >= 0 && noise <= 0.5, "noise", "\(noise) is out of range", "use 0...0.5 (0.01 by default)")
        try check((1...8).contains(resolvedSupersampling), "supersampling", "\(resolvedSupersampling) is out of range", "use 1...8")
        try check(framesPerSecond > 0 && framesPerSecond <= 240, "fps", "\(framesPerSecond) is out of range", "use 1...240")
    }
}

/// Who appears in a synthetic dataset (`SyntheticDanceOptions.cast`).
public enum SyntheticCast: String, Codable, Sendable, CaseIterable {
    /// One dancer (clothes, build, personal tempo) in one room, in every clip and video.
    case oneDancer = "one-dancer"
    /// A new dancer in a new room for every clip and video.
    case newDancerPerClip = "new-dancer-per-clip"
}

/// The built-in synthetic dance dataset: an articulated figure dancing in a room, with OpenPose-
/// style pose labels, written in the lab layout so everything that reads the real data reads it.
///
/// Frames and labels are aligned by construction (both come from one skeleton per frame), the
/// motion is smooth but varied (walks, turns, spins, jumps, arm waves, kicks; tempo, amplitude,
/// and by default one dancer in one room throughout, see `SyntheticCast`), so predicting a frame requires the pose.
public enum SyntheticDance {
    /// Bump when the rendering changes, so an old dataset is not mistaken for a new one.
    public static let generatorVersion = 2
    static let manifestName = "synthetic-dance.json"

    public struct Result: Sendable {
        public let root: URL
        /// True when an identical dataset was already there and nothing was written.
        public let reused: Bool
        public let frameCount: Int
    }

    /// The videos that make up a dataset, in writing order (clips are made from these on demand).
    struct Plan {
        struct Video: Sendable {
            var split: LabSplit
            var index: Int            // train clip / val video / test video number
            var frameCount: Int
            var folder: String        // subfolder name: "" for flat train / val
            var firstFrameNumber: Int // train clips continue the numbering of the previous clip
        }
        var videos: [Video] = []
        var frameCount: Int { videos.reduce(0) { $0 + $1.frameCount } }
    }

    /// Generates the dataset into `out`, atomically: it is rendered into a sibling
    /// `OUT.partial-XXXX` folder that is renamed to `out` only when complete (the manifest,
    /// written last, marks completeness). If `out` already holds a complete dataset with the same
    /// options, nothing is done; if it holds anything else, it is left alone and an error says so
    /// (an empty folder is fine). A run that is killed leaves an `OUT.partial-XXXX` folder, never
    /// a half-filled `out`; such leftovers can be deleted.
    @discardableResult
    public static func generate(_ options: SyntheticDanceOptions, to out: URL) throws -> Result {
        try options.validate()
        let plan = makePlan(options)
        let total = plan.frameCount
        if FileSystem.exists(out) && !FileSystem.isEmptyFolder(out) {
            if let existing = try? readManifest(out), existing == manifest(options) {
                return Result(root: out, reused: true, frameCount: total)
            }
            throw DataError(.alreadyExists, path: out.path,
                            problem: "\(out.path): already exists and is not a synthetic dance dataset made with these options",
                            fix: "remove it, choose another output folder, or pass the options it was made with (see its \(manifestName))")
        }
        let parent = out.deletingLastPathComponent()
        try FileSystem.makeFolder(parent)
        let partial = parent.appendingPathComponent("\(out.lastPathComponent).partial-\(UUID().uuidString.prefix(8).lowercased())")
        do {
            try FileManager.default.createDirectory(at: partial, withIntermediateDirectories: false)
        } catch {
            throw DataError.notWritable(partial, reason: FileSystem.reason(of: error))
        }
        do {
            try render(plan, options, into: partial)
            try write(Data(readme(options, plan: plan).utf8), to: partial.appendingPathComponent("README.txt"))
            try write(manifest(options), to: partial.appendingPathComponent(manifestName))
            try FileSystem.moveFolderIntoPlace(partial, to: out)
        } catch {
            try? FileManager.default.removeItem(at: partial)
            throw error
        }
        return Result(root: out, reused: false, frameCount: total)
    }

    /// The clip of a split, for looking at poses and frames without writing files (tests, demos).
    /// `index` counts train clips, val videos or test videos.
    public static func clip(_ options: SyntheticDanceOptions, split: LabSplit, index: Int) -> DanceClip? {
        makePlan(options).videos.first { $0.split == split && $0.index == index }.map { makeClip(options, $0) }
    }

    static func makePlan(_ options: SyntheticDanceOptions) -> Plan {
        var plan = Plan()
        var start = 0, index = 0
        while start < options.trainFrames {
            let frames = min(options.clipLength, options.trainFrames - start)
            plan.videos.append(.init(split: .train, index: index, frameCount: frames, folder: "", firstFrameNumber: start))
            start += frames
            index += 1
        }
        for v in 0..<options.valVideos {
            plan.videos.append(.init(split: .val, index: v, frameCount: options.videoLength,
                                     folder: options.valVideos == 1 ? "" : "\(v)", firstFrameNumber: 0))
        }
        for v in 0..<options.testVideos {
            plan.videos.append(.init(split: .test, index: v, frameCount: options.videoLength, folder: "\(v)", firstFrameNumber: 0))
        }
        return plan
    }

    /// Each clip has its own random stream (seed, split, index) for its dance and camera noise:
    /// adding videos of one split never changes the clips of another. The dancer and room come
    /// from the dataset's stream (one dancer) or the clip's (a new dancer per clip).
    static func makeClip(_ options: SyntheticDanceOptions, _ video: Plan.Video) -> DanceClip {
        let splitCode: UInt64 = video.split == .train ? 1 : (video.split == .val ? 2 : 3)
        let stream = [splitCode, UInt64(video.index)]
        return DanceClip(seed: options.seed, stream: stream, look: options.cast == .oneDancer ? [0, 0] : stream, frameCount: video.frameCount,
                         width: options.width, height: options.height, supersampling: options.resolvedSupersampling,
                         noise: options.noise, framesPerSecond: options.framesPerSecond)
    }

    /// Renders every frame and label of the plan (all cores) and writes them as PNG.
    static func render(_ plan: Plan, _ options: SyntheticDanceOptions, into root: URL) throws {
        struct Job: Sendable {
            var video: Int
            var frame: Int
        }
        var jobs: [Job] = []
        for (v, video) in plan.videos.enumerated() {
            for f in 0..<video.frameCount { jobs.append(Job(video: v, frame: f)) }
            for folder in folders(video).all {
                try FileSystem.makeFolder(root.appendingPathComponent(folder))
            }
        }
        let videos = plan.videos, allJobs = jobs
        let clips = Parallel.map(videos.count) { makeClip(options, videos[$0]) }
        _ = try Parallel.map(allJobs.count) { i in
            let job = allJobs[i], video = videos[job.video], clip = clips[job.video]
            let name = String(format: "frame%06d.png", video.firstFrameNumber + job.frame)
            let places = folders(video)
            let frame = try PNG.encode(clip.renderFrame(job.frame))
            let label = try PNG.encode(clip.renderLabel(job.frame))
            for folder in places.frames where job.frame == 0 || !places.firstFrameOnly.contains(folder) {
                try write(frame, to: root.appendingPathComponent(folder).appendingPathComponent(name))
            }
            try write(label, to: root.appendingPathComponent(places.labels).appendingPathComponent(name))
        }
    }

    /// Where a video's files go (relative to the dataset root).
    static func folders(_ video: Plan.Video) -> (frames: [String], labels: String, firstFrameOnly: [String], all: [String]) {
        let suffix = video.folder.isEmpty ? "" : "/\(video.folder)"
        switch video.split {
        case .train, .val:
            let names = LabLayout.folderNames(video.split)
            return ([names.frames + suffix], names.labels + suffix, [], [names.frames + suffix, names.labels + suffix])
        case .test:
            let img = "test/test_img" + suffix, gt = "test/test_gt" + suffix, label = "test/test_label" + suffix
            return ([img, gt], label, [img], [img, gt, label])
        }
    }

    private static func write(_ data: Data, to url: URL) throws {
        try FileSystem.writeFile(data, to: url)
    }

    // MARK: manifest and README

    private struct Manifest: Codable, Equatable {
        var generator: String
        var version: Int
        var options: SyntheticDanceOptions
    }

    /// The manifest's bytes (sorted keys: the same options always give the same file).
    static func manifest(_ options: SyntheticDanceOptions) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let value = Manifest(generator: "VidPred SyntheticDance", version: generatorVersion, options: options)
        return (try? encoder.encode(value)) ?? Data()
    }

    /// The manifest of an existing dataset, re-encoded so it compares equal to `manifest(_:)`.
    static func readManifest(_ root: URL) throws -> Data {
        let data = try Data(contentsOf: root.appendingPathComponent(manifestName))
        let decoded = try JSONDecoder().decode(Manifest.self, from: data)
        return manifest(decoded.options) == data && decoded.version == generatorVersion ? data : Data()
    }

    static func readme(_ options: SyntheticDanceOptions, plan: Plan) -> String {
        let trainClips = plan.videos.filter { $0.split == .train }.count
        return """
        Synthetic dance dataset (VidPred SyntheticDance, generator version \(generatorVersion))

        Made by VidPredData's SyntheticDance.generate with seed \(options.seed); the same options
        always produce byte-identical files (see \(manifestName) for the exact options).

        Content: an articulated figure (head, torso, two-segment arms and legs with thickness,
        shaded) dancing in a room (a panelled wall and a plank floor with some texture), filmed by
        a fixed camera, rendered at \(options.resolvedSupersampling)x the output resolution and averaged down (antialiased),
        with Gaussian camera noise of standard deviation \(options.noise). Each clip has its own
        clothes, build, room colours, tempo and amplitude, and a random sequence of moves (walks,
        turns, spins, jumps, arm waves, knee lifts, punches, side steps, disco points) cross-faded
        so the motion is smooth.

        Labels are drawn like OpenPose output: the 18 COCO keypoints in OpenPose order, joint dots
        and the 17 limbs in OpenPose's standard colours, limbs blended 60% over white; face points
        turned away from the camera are left out. Label k is the pose of frame k.

        Layout (the lab's, see docs/lab.md), frames \(options.width)x\(options.height) RGB PNG at \(Int(options.framesPerSecond)) fps:
          train/train_img, train/train_label   \(options.trainFrames) frames in \(trainClips) clips of up to \(options.clipLength) (numbered on across clips)
          val/val_img, val/val_label           \(options.valVideos) video(s) of \(options.videoLength) frames\(options.valVideos > 1 ? " (one subfolder each)" : "")
          test/test_img/<i>                    the first frame of each of \(options.testVideos) test video(s)
          test/test_label/<i>, test/test_gt/<i>  all \(options.videoLength) labels and ground-truth frames

        """
    }
}
