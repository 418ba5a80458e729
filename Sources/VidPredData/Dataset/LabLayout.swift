import Foundation

/// The three splits of the lab layout.
public enum LabSplit: String, Sendable, CaseIterable, Codable {
    case train, val, test
}

/// Which PNG files make up one video of one split (found by `LabLayout.scan`, not yet decoded).
struct VideoFiles: Sendable {
    var split: LabSplit
    /// The video's subfolder name ("0" for test/test_img/0), or "" for a flat folder.
    var name: String
    var frames: FrameFolder
    var labels: FrameFolder
    var groundTruth: FrameFolder?
}

/// Finds the videos of a dataset root and every structural problem (missing folders, unpaired
/// files, stray files...) without decoding any image. Both the loader (which stops at the first
/// problem) and `DatasetCheck` (which lists them all) use it, so they always agree.
///
/// Layout (docs/lab.md): `train/train_img` + `train/train_label`, `val/val_img` + `val/val_label`
/// (PNG files directly inside, or one subfolder per video), `test/test_img/<i>/` (the first
/// frame(s) of test video i) + `test/test_label/<i>/` (all its labels), optional `test/test_gt/<i>/`.
struct LabLayout {
    var root: URL
    var videos: [VideoFiles] = []
    var problems: [DataError] = []

    /// Frame-folder names of a split: (frames, labels).
    static func folderNames(_ split: LabSplit) -> (frames: String, labels: String) {
        ("\(split.rawValue)/\(split.rawValue)_img", "\(split.rawValue)/\(split.rawValue)_label")
    }

    static func scan(root: URL, splits: [LabSplit], trainVideoLength: Int) -> LabLayout {
        var layout = LabLayout(root: root)
        guard FileSystem.isDirectory(root) else {
            layout.problems.append(.missing(root, expected: "a dataset folder with train/, val/ and test/",
                                            fix: "pass the folder that holds train/, val/ and test/ (docs/lab.md), or make one with the synthetic dance generator or a video import"))
            return layout
        }
        for split in splits {
            switch split {
            case .train, .val: layout.scanPairedSplit(split, trainVideoLength: trainVideoLength)
            case .test: layout.scanTestSplit()
            }
        }
        return layout
    }

    // MARK: train and val

    private mutating func scanPairedSplit(_ split: LabSplit, trainVideoLength: Int) {
        let names = LabLayout.folderNames(split)
        let what = split == .train ? "the training" : "the validation"
        guard let frames = listRequired(names.frames, expected: "\(what) frames, frameNNNNNN.png"),
              let labels = listRequired(names.labels, expected: "\(what) pose labels, same file names as \(names.frames)")
        else { return }
        reportUnexpected(frames)
        reportUnexpected(labels)

        var found: [VideoFiles] = []
        if frames.subfolders.isEmpty {
            if !labels.subfolders.isEmpty {
                problems.append(structure(labels, "has subfolders but \(frames.url.path) holds frames directly",
                                          fix: "use the same structure in both: PNG files directly inside, or one subfolder per video"))
            }
            if checkNotEmpty(frames) && checkNotEmpty(labels) {
                pair(frames, labels)
                found.append(VideoFiles(split: split, name: "", frames: frames, labels: labels))
            }
        } else {
            if !frames.frameNames.isEmpty {
                problems.append(structure(frames, "mixes PNG frames with video subfolders (\(DataError.listFew(frames.subfolders)))",
                                          fix: "put every frame inside a video subfolder, or remove the subfolders"))
            }
            for missing in labels.subfolders where !frames.subfolders.contains(missing) {
                problems.append(.missing(frames.url.appendingPathComponent(missing),
                                         expected: "the frames of the video whose labels are in \(labels.url.appendingPathComponent(missing).path)",
                                         fix: "add the frames or remove that label folder"))
            }
            for video in frames.subfolders {
                guard let videoFrames = listNested(frames, video),
                      let videoLabels = listNested(labels, video, expected: "the labels of video \(video)") else { continue }
                if checkNotEmpty(videoFrames) && checkNotEmpty(videoLabels) {
                    pair(videoFrames, videoLabels)
                    found.append(VideoFiles(split: split, name: video, frames: videoFrames, labels: videoLabels))
                }
            }
        }
        if split == .train {
            for video in found where video.frames.frameNames.count < trainVideoLength {
                problems.append(DataError(.tooShort, path: video.frames.url.path,
                                          problem: "\(video.frames.url.path): \(video.frames.frameNames.count) frames, fewer than one training window (train_vi_len = \(trainVideoLength))",
                                          fix: "add frames to this video or lower train_vi_len"))
            }
        }
        videos += found
    }

    // MARK: test

    private mutating func scanTestSplit() {
        guard let frames = listRequired("test/test_img", expected: "one subfolder per test video holding its first frame (test/test_img/0/frame000000.png)"),
              let labels = listRequired("test/test_label", expected: "one subfolder per test video holding all its pose labels")
        else { return }
        let gtURL = root.appendingPathComponent("test/test_gt")
        var groundTruth: FrameFolder? = nil
        if FileSystem.exists(gtURL) {
            do { groundTruth = try FrameFolder.list(gtURL) } catch { problems.append(asDataError(error, gtURL)) }
        }
        for folder in [frames, labels] + (groundTruth.map { [$0] } ?? []) {
            reportUnexpected(folder)
            if !folder.frameNames.isEmpty {
                problems.append(structure(folder, "holds PNG files directly (\(DataError.listFew(folder.frameNames)))",
                                          fix: "move them into one subfolder per test video, e.g. \(folder.url.appendingPathComponent("0").path)/"))
            }
        }
        if frames.subfolders.isEmpty && labels.subfolders.isEmpty {
            problems.append(DataError(.emptyFolder, path: frames.url.path, problem: "\(frames.url.path): no test videos (no subfolders)",
                                      fix: "add test/test_img/<i>/ with the first frame and test/test_label/<i>/ with the labels of each video"))
            return
        }
        for video in labels.subfolders where !frames.subfolders.contains(video) {
            problems.append(.missing(frames.url.appendingPathComponent(video), expected: "the first frame of test video \(video)",
                                     fix: "add it (frame000000.png), or remove \(labels.url.appendingPathComponent(video).path)"))
        }
        for video in frames.subfolders {
            guard let videoFrames = listNested(frames, video),
                  let videoLabels = listNested(labels, video, expected: "the pose labels of test video \(video)") else { continue }
            var videoTruth: FrameFolder? = nil
            if let gt = groundTruth {
                videoTruth = listNested(gt, video, expected: "the ground-truth frames of test video \(video) (test/test_gt exists, so every video needs one)")
            }
            guard checkNotEmpty(videoFrames), checkNotEmpty(videoLabels) else { continue }
            checkTestVideo(frames: videoFrames, labels: videoLabels, groundTruth: videoTruth)
            videos.append(VideoFiles(split: .test, name: video, frames: videoFrames, labels: videoLabels, groundTruth: videoTruth))
        }
    }

    /// The given frames must be the video's first frames (each with its label); the ground truth,
    /// when present, has exactly one frame per label.
    private mutating func checkTestVideo(frames: FrameFolder, labels: FrameFolder, groundTruth: FrameFolder?) {
        let labelNames = Set(labels.frameNames)
        let unlabelled = frames.frameNames.filter { !labelNames.contains($0) }
        if !unlabelled.isEmpty {
            problems.append(unpaired(frames, without: "a label", in: labels, unlabelled, fix: "add the missing labels or remove those frames"))
        } else if Array(labels.frameNames.prefix(frames.frameNames.count)) != frames.frameNames {
            problems.append(DataError(.unpairedFiles, path: frames.url.path,
                                      problem: "\(frames.url.path): the given frames (\(DataError.listFew(frames.frameNames))) are not the first frames of the video (its labels start with \(DataError.listFew(Array(labels.frameNames.prefix(frames.frameNames.count)))))",
                                      fix: "give the video's first frame(s), named like their labels"))
        }
        guard let truth = groundTruth else { return }
        if truth.frameNames.count != labels.frameNames.count {
            let truthNames = Set(truth.frameNames)
            let missing = labels.frameNames.filter { !truthNames.contains($0) }
            let extra = truth.frameNames.filter { !labelNames.contains($0) }
            var detail = ""
            if !missing.isEmpty { detail += "; missing: \(DataError.listFew(missing))" }
            if !extra.isEmpty { detail += "; without a label: \(DataError.listFew(extra))" }
            problems.append(DataError(.countMismatch, path: truth.url.path,
                                      problem: "\(truth.url.path): \(truth.frameNames.count) ground-truth frames but \(labels.url.path) has \(labels.frameNames.count) labels\(detail)",
                                      fix: "a test video needs one ground-truth frame per label (same file names); add the missing ones or remove test_gt"))
        } else if truth.frameNames != labels.frameNames {
            pair(truth, labels)
        }
    }

    // MARK: helpers

    private mutating func listRequired(_ relative: String, expected: String) -> FrameFolder? {
        let url = root.appendingPathComponent(relative)
        guard FileSystem.isDirectory(url) else {
            problems.append(.missing(url, expected: expected,
                                     fix: "create it (lab layout: docs/lab.md) or load without this split"))
            return nil
        }
        do { return try FrameFolder.list(url) } catch { problems.append(asDataError(error, url)); return nil }
    }

    private mutating func listNested(_ parent: FrameFolder, _ video: String, expected: String? = nil) -> FrameFolder? {
        let url = parent.url.appendingPathComponent(video)
        guard FileSystem.isDirectory(url) else {
            problems.append(.missing(url, expected: expected ?? "the frames of video \(video)",
                                     fix: "add that folder, or remove video \(video) from the other folders"))
            return nil
        }
        do {
            let folder = try FrameFolder.list(url)
            reportUnexpected(folder)
            if !folder.subfolders.isEmpty {
                problems.append(structure(folder, "has subfolders (\(DataError.listFew(folder.subfolders))) inside a video folder",
                                          fix: "a video folder holds PNG frames only; move or remove the subfolders"))
            }
            return folder
        } catch {
            problems.append(asDataError(error, url))
            return nil
        }
    }

    private mutating func reportUnexpected(_ folder: FrameFolder) {
        guard !folder.unexpectedFiles.isEmpty else { return }
        let first = folder.url.appendingPathComponent(folder.unexpectedFiles[0]).path
        let count = folder.unexpectedFiles.count
        problems.append(DataError(.unexpectedFile, path: first,
                                  problem: "\(folder.url.path): \(count) file\(count == 1 ? " is" : "s are") not PNG: \(DataError.listFew(folder.unexpectedFiles))",
                                  fix: "convert \(count == 1 ? "it" : "them") to PNG or move \(count == 1 ? "it" : "them") out of the folder (hidden files, Thumbs.db and desktop.ini are ignored)"))
    }

    private mutating func checkNotEmpty(_ folder: FrameFolder) -> Bool {
        if !folder.frameNames.isEmpty || !folder.subfolders.isEmpty { return true }
        problems.append(DataError(.emptyFolder, path: folder.url.path, problem: "\(folder.url.path): no PNG frames (the folder is empty)",
                                  fix: "put the frameNNNNNN.png files there, or remove the folder"))
        return false
    }

    /// Frames and labels must have the same file names.
    private mutating func pair(_ frames: FrameFolder, _ labels: FrameFolder) {
        let frameNames = Set(frames.frameNames), labelNames = Set(labels.frameNames)
        let withoutLabel = frames.frameNames.filter { !labelNames.contains($0) }
        let withoutFrame = labels.frameNames.filter { !frameNames.contains($0) }
        if !withoutLabel.isEmpty {
            problems.append(unpaired(frames, without: "a label", in: labels, withoutLabel, fix: "add the missing labels or remove those frames"))
        }
        if !withoutFrame.isEmpty {
            problems.append(unpaired(labels, without: "a frame", in: frames, withoutFrame, fix: "add the missing frames or remove those labels"))
        }
    }

    private func unpaired(_ folder: FrameFolder, without what: String, in other: FrameFolder, _ names: [String], fix: String) -> DataError {
        let noun = names.count == 1 ? "file" : "files"
        return DataError(.unpairedFiles, path: folder.url.appendingPathComponent(names[0]).path,
                         problem: "\(folder.url.path): \(names.count) \(noun) without \(what) in \(other.url.path): \(DataError.listFew(names))",
                         fix: fix)
    }

    private func structure(_ folder: FrameFolder, _ problem: String, fix: String) -> DataError {
        DataError(.unexpectedFile, path: folder.url.path, problem: "\(folder.url.path): \(problem)", fix: fix)
    }

    private func asDataError(_ error: Error, _ url: URL) -> DataError {
        (error as? DataError) ?? DataError(.missingPath, path: url.path, problem: "\(url.path): \(error.localizedDescription)", fix: "check the path")
    }
}
