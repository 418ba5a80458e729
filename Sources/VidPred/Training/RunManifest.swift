import Foundation
import Torch
import VidPredData

/// `run.json`: what a run was made from, so that resuming it, predicting with it and reading its
/// report never guess: the dataset (path and fingerprint) and every command that trained it.
public struct RunManifest: Codable, Sendable {
    /// nil: the run trained on data made in memory (tests).
    public var data: DataRecord?
    /// The command that started the run, then each one that resumed it.
    public var sessions: [RunSession]

    public init(data: DataRecord?, sessions: [RunSession]) {
        self.data = data
        self.sessions = sessions
    }
}

/// One command that trained a run.
public struct RunSession: Codable, Sendable, Equatable {
    public var started: String
    public var vidpredVersion: String
    public var commit: String?
    public var commandLine: [String]
    /// libtorch's intra-op threads: float reductions depend on it, so a resume uses the same
    /// number by default to continue bit for bit (nil in manifests of earlier versions).
    public var threads: Int?
    /// Where it trained (`cpu`, `cuda:0`), set by the trainer; nil in manifests of earlier
    /// versions (the CPU). A run may resume on another device: checkpoints do not depend on it.
    public var device: String?

    enum CodingKeys: String, CodingKey {
        case started, commit, threads, device
        case vidpredVersion = "vidpred_version", commandLine = "command_line"
    }

    public init(started: Date = Date(), commandLine: [String] = CommandLine.arguments, threads: Int = Runtime.threads) {
        self.started = ISO8601DateFormatter().string(from: started)
        vidpredVersion = VidPredVersion.current
        commit = VidPredVersion.commit
        self.commandLine = commandLine
        self.threads = threads
    }
}

/// VidPred's version, and the commit of the source tree the running program was built in.
public enum VidPredVersion {
    public static let current = "0.24.0"

    /// `git rev-parse --short=12 HEAD` of the checkout around the executable (`.build/release/vidpred`
    /// lives inside it), with "+local changes" when tracked files differ from it; nil outside a
    /// checkout or without git.
    public static let commit: String? = {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var folder = executable.deletingLastPathComponent()
        while folder.path != "/" {
            if FileManager.default.fileExists(atPath: folder.appendingPathComponent(".git").path)
                && FileManager.default.fileExists(atPath: folder.appendingPathComponent("Package.swift").path) { break }
            folder = folder.deletingLastPathComponent()
        }
        guard folder.path != "/", let head = git(["rev-parse", "--short=12", "HEAD"], in: folder), !head.isEmpty else { return nil }
        let changes = git(["status", "--porcelain", "--untracked-files=no"], in: folder) ?? ""
        return changes.isEmpty ? head : head + "+local changes"
    }()

    /// "0.13.0 (commit 0123456789ab)".
    public static var description: String { current + (commit.map { " (commit \($0))" } ?? "") }

    private static func git(_ arguments: [String], in folder: URL) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", folder.path] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Which dataset a command uses, and how it was chosen.
public struct DataChoice: Sendable {
    public let url: URL
    /// The dataset as it is now (to record).
    public let record: DataRecord
    /// One line for the terminal: which data, and why.
    public let note: String

    /// The dataset the user named (`requested`), checked against what a run or a set of
    /// predictions (`owner`, as messages name it) recorded; else the recorded one, checked against
    /// its own fingerprint. `allowChange` accepts a dataset that differs from the record.
    public static func resolve(requested: URL?, recorded: DataRecord?, allowChange: Bool, owner: String) throws -> DataChoice {
        guard let recorded else {
            guard let requested else {
                throw RunError("\(owner) does not record which dataset it used (it was made by an earlier VidPred, or from data in memory): name the dataset", kind: .dataNotRecorded)
            }
            return DataChoice(url: requested, record: try DataRecord.of(requested), note: "data: \(requested.path) (\(owner) recorded none; now recorded)")
        }
        guard let requested else {
            let url = recorded.url
            if !FileManager.default.fileExists(atPath: url.path) {
                guard try BuiltInData.remakeIfBuiltIn(url) else {
                    throw RunError("the dataset \(owner) recorded, \(url.path), no longer exists: name where it is now", kind: .dataChanged)
                }
            }
            let now = try DataRecord.of(url)
            if now.fingerprint != recorded.fingerprint && !allowChange {
                throw RunError("\(url.path) has changed since \(owner) recorded it (then \(recorded.fingerprint), now \(now.fingerprint)): restore it, or allow the change explicitly", kind: .dataChanged)
            }
            let changed = now.fingerprint == recorded.fingerprint ? "" : "; it has changed since (allowed)"
            return DataChoice(url: url, record: now, note: "data: \(url.path) (recorded by \(owner)\(changed))")
        }
        let now = try DataRecord.of(requested)
        if now.fingerprint == recorded.fingerprint {
            let moved = now.path == recorded.path ? "" : "; the same files as the recorded \(recorded.path)"
            return DataChoice(url: requested, record: now, note: "data: \(requested.path) (as recorded by \(owner)\(moved))")
        }
        guard allowChange else {
            throw RunError("\(requested.path) is not the dataset \(owner) recorded (\(recorded.path): \(recorded.fingerprint); this one: \(now.fingerprint)): use the recorded dataset, or allow the change explicitly", kind: .dataChanged)
        }
        return DataChoice(url: requested, record: now, note: "data: \(requested.path) (not the dataset \(owner) recorded, \(recorded.path); allowed)")
    }
}
