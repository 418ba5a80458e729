import Foundation

/// What `DatasetCheck.run` found: per-video counts and sizes, and every problem.
public struct DatasetReport: Sendable {
    public struct Video: Sendable {
        public var split: LabSplit
        /// Subfolder name, "" for a flat split folder.
        public var name: String
        public var frames: Int
        public var labels: Int
        public var groundTruth: Int?
        /// Distinct image sizes on disk (frames, labels and ground truth together).
        public var sizes: [ImageSize]

        public var displayName: String { name.isEmpty ? split.rawValue : "\(split.rawValue)/\(name)" }
    }

    public let root: URL
    public var videos: [Video]
    public var problems: [DataError]

    public var isValid: Bool { problems.isEmpty }

    /// Frames per split, for totals.
    public func frameCount(_ split: LabSplit) -> Int {
        videos.filter { $0.split == split }.reduce(0) { $0 + $1.frames }
    }

    /// A printable multi-line summary (what `vidpred data check` shows).
    public var summary: String {
        func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
        var lines = ["Dataset \(root.path)"]
        for split in LabSplit.allCases {
            let inSplit = videos.filter { $0.split == split }
            guard !inSplit.isEmpty else {
                lines.append("  \(split.rawValue): not found or unreadable")
                continue
            }
            lines.append("  \(split.rawValue): \(count(inSplit.count, "video")), \(count(frameCount(split), "frame")), \(count(inSplit.reduce(0) { $0 + $1.labels }, "label"))")
            for video in inSplit {
                var line = "    \(video.displayName): \(count(video.frames, "frame")), \(count(video.labels, "label"))"
                if let gt = video.groundTruth { line += ", \(gt) ground truth" }
                if !video.sizes.isEmpty { line += ", size \(video.sizes.map(\.description).joined(separator: " / "))" }
                lines.append(line)
            }
        }
        if problems.isEmpty {
            lines.append("No problems found.")
        } else {
            lines.append("\(problems.count) problem\(problems.count == 1 ? "" : "s"):")
            lines += problems.map { "  - \($0.description)" }
        }
        return lines.joined(separator: "\n")
    }
}

/// Checks a dataset folder without loading it into memory: the layout, file pairing, and every
/// PNG (decoded to find corrupt files and size mismatches). Returns a report; throws nothing.
public enum DatasetCheck {
    public static func run(root: URL, trainVideoLength: Int = 16, parallel: Bool = true) -> DatasetReport {
        let layout = LabLayout.scan(root: root, splits: LabSplit.allCases, trainVideoLength: trainVideoLength)
        var report = DatasetReport(root: root, videos: [], problems: layout.problems)
        for files in layout.videos {
            var sizes: [ImageSize] = []
            var folderSize: [(folder: URL, size: ImageSize)] = []
            for folder in [files.frames, files.labels] + (files.groundTruth.map { [$0] } ?? []) {
                let urls = folder.frameURLs
                let results = FrameDecoding.decode(urls, target: nil, parallel: parallel)
                var folderSizes: [ImageSize?] = []
                for result in results {
                    switch result {
                    case .success(let decoded): folderSizes.append(decoded.size)
                    case .failure(let error): folderSizes.append(nil); report.problems.append(error)
                    }
                }
                report.problems += FrameDecoding.sizeProblems(urls, folderSizes)
                for case let size? in folderSizes where !sizes.contains(size) { sizes.append(size) }
                if let size = folderSizes.compactMap({ $0 }).first { folderSize.append((folder.url, size)) }
            }
            // Frames and labels are resized separately when loaded: of different sizes, the pose
            // would not line up with the dancer.
            if let first = folderSize.first, let other = folderSize.first(where: { $0.size != first.size }) {
                report.problems.append(DataError(.sizeMismatch, path: other.folder.path,
                                                 problem: "\(other.folder.path): images are \(other.size) but \(first.folder.path) holds \(first.size)",
                                                 fix: "a video's frames and labels must have the same size; re-export one of them at the other's size"))
            }
            report.videos.append(DatasetReport.Video(split: files.split, name: files.name,
                                                     frames: files.frames.frameNames.count, labels: files.labels.frameNames.count,
                                                     groundTruth: files.groundTruth?.frameNames.count, sizes: sizes))
        }
        return report
    }
}
