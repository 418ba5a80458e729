import Foundation
import Torch

/// Where this process stands in a training job of several processes, as the launcher says:
/// torchrun (`RANK`, `WORLD_SIZE`, `LOCAL_RANK`, `MASTER_ADDR`, `MASTER_PORT`), SLURM's srun
/// (`SLURM_PROCID`, `SLURM_STEP_NUM_TASKS`, `SLURM_LOCALID`, with `MASTER_ADDR` or else the node srun
/// ran on) or `vidpred train --nproc-per-node N`, which sets torchrun's variables for its workers.
public struct JobPlacement: Equatable, Sendable, CustomStringConvertible {
    public var rank: Int
    public var worldSize: Int
    /// The rank among the processes of this machine (which GPU it takes, with `--device auto`).
    public var localRank: Int
    /// The rendezvous: rank 0 hosts the job's store there.
    public var host: String
    public var port: Int

    /// torchrun's default MASTER_PORT.
    public static let defaultPort = 29500

    public init(rank: Int, worldSize: Int, localRank: Int, host: String = "127.0.0.1", port: Int = defaultPort) {
        self.rank = rank; self.worldSize = worldSize; self.localRank = localRank; self.host = host; self.port = port
    }

    public var description: String { "rank \(rank) of \(worldSize) (rendezvous \(host):\(port))" }

    /// The job the environment describes; nil for a process on its own (no launcher variables, or
    /// a world of one).
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> JobPlacement? {
        func int(_ name: String) throws -> Int? {
            guard let text = env[name], !text.isEmpty else { return nil }
            guard let value = Int(text), value >= 0 else { throw ConfigError("\(name)=\(text) is not a whole number >= 0 (it is set by torchrun or srun)") }
            return value
        }
        let rank: Int, world: Int, local: Int
        if let r = try int("RANK") {
            guard let w = try int("WORLD_SIZE") else { throw ConfigError("RANK is set (\(r)) but WORLD_SIZE is not: launch with torchrun, or set both") }
            (rank, world, local) = (r, w, try int("LOCAL_RANK") ?? r)
        } else if let r = try int("SLURM_PROCID"), let w = try int("SLURM_STEP_NUM_TASKS") {
            (rank, world, local) = (r, w, try int("SLURM_LOCALID") ?? r)
        } else {
            return nil
        }
        guard world >= 1 else { throw ConfigError("WORLD_SIZE=\(world): a job has at least 1 process") }
        guard rank < world else { throw ConfigError("RANK=\(rank) is not below WORLD_SIZE=\(world): ranks are 0...\(world - 1)") }
        guard world > 1 else { return nil }
        let host = env["MASTER_ADDR"].flatMap { $0.isEmpty ? nil : $0 } ?? env["SLURM_LAUNCH_NODE_IPADDR"] ?? "127.0.0.1"
        let port = try int("MASTER_PORT") ?? defaultPort
        guard (1...65535).contains(port) else { throw ConfigError("MASTER_PORT=\(port) is not a TCP port (1...65535)") }
        return JobPlacement(rank: rank, worldSize: world, localRank: local, host: host, port: port)
    }
}

/// A failure of the job: a rank that died, hung or stopped with an error, a rendezvous that did not
/// complete, or ranks started with different settings. The message names the rank and the fix.
public struct JobError: Error, CustomStringConvertible, LocalizedError {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var errorDescription: String? { description }
}

/// This process's part in a training job of several processes (DDP's semantics, Trainer.swift says
/// how): the process group, the settings check, and fault reports that name the rank at fault.
///
/// Fault reports go through the job's store: a rank whose collective fails writes `failed/RANK`, and
/// waits up to `reportSeconds` for the other ranks to do the same; those that never do are the
/// ones that died or hung. A rank that stops with its own error writes it there, so that the others
/// can repeat it.
public final class TrainingJob {
    public let placement: JobPlacement
    public let group: ProcessGroup
    public var rank: Int { placement.rank }
    public var worldSize: Int { placement.worldSize }
    /// Rank 0 writes the run folder (log, checkpoints, TensorBoard); the others only train.
    public var isLeader: Bool { placement.rank == 0 }
    public static let reportSeconds = 3.0
    /// The run folder, for the resume command in fault messages.
    public var runPath: String?

    init(placement: JobPlacement, group: ProcessGroup) {
        self.placement = placement
        self.group = group
    }

    /// Joins the job: returns once every rank has joined, or throws after `timeoutSeconds`.
    public static func join(_ placement: JobPlacement, timeoutSeconds: Double) throws -> TrainingJob {
        // A rank that dies closes its sockets, and a send to it then raises SIGPIPE, which would
        // kill this rank without a word (seen: "rank 0 was killed by signal 13"). Ignored, the send
        // fails with an error, and `diagnose` names the rank that stopped answering.
        signal(SIGPIPE, SIG_IGN)
        do {
            let group = try ProcessGroup(host: placement.host, port: placement.port, rank: placement.rank,
                                         worldSize: placement.worldSize, timeoutSeconds: timeoutSeconds)
            return TrainingJob(placement: placement, group: group)
        } catch let error as TorchError {
            let text = error.message
            if placement.rank == 0 && (text.contains("EADDRINUSE") || text.contains("address already in use")) {
                throw JobError("rank 0 cannot host the job's rendezvous on port \(placement.port): the port is already in use (another job, or a process that has not exited yet); choose another port with --master-port or MASTER_PORT")
            }
            if let range = text.range(of: "rank \(placement.rank) was started with WORLD_SIZE=") {
                throw JobError(String(text[range.lowerBound...]))
            }
            throw JobError("rank \(placement.rank): the job of \(placement.worldSize) processes did not come together at \(placement.host):\(placement.port) within \(Int(timeoutSeconds)) s: start every rank with the same MASTER_ADDR, MASTER_PORT and WORLD_SIZE (a rank missing, or a firewall between the machines?) [\(text)]")
        }
    }

    /// Refuses to train unless every rank runs with rank 0's settings: each rank posts its own and
    /// compares them with rank 0's (rank 0 with everyone's), so the mismatch is reported on both
    /// sides, naming the setting.
    public func requireSameSettings(_ settings: [String: String]) throws {
        let mine = Self.encode(settings)
        try group.set("settings/\(rank)", mine)
        let others = isLeader ? Array(1..<worldSize) : [0]
        for other in others {
            let theirs = Self.decode(try awaitKey("settings/\(other)", from: other, during: "the settings check"))
            let differences = Set(settings.keys).union(theirs.keys).sorted().filter { settings[$0] != theirs[$0] }
            guard differences.isEmpty else {
                let list = differences.prefix(4).map { "\($0) \(settings[$0] ?? "(none)") here, \(theirs[$0] ?? "(none)") on rank \(other)" }
                let error = JobError("rank \(rank) and rank \(other) were started with different settings (\(list.joined(separator: "; "))): start every rank with the same command and data")
                reportOwnFailure(error, waitingUpTo: min(group.timeoutSeconds, 10))
                throw error
            }
        }
    }

    /// What rank 0 decided and the others follow (how the run starts): posted under `key`.
    public func announce(_ key: String, _ value: String) throws {
        try group.set("decision/\(key)", value)
    }

    /// The decision rank 0 announced under `key`, waiting for it as long as the timeout allows.
    public func decision(_ key: String, during what: String) throws -> String {
        try awaitKey("decision/\(key)", from: 0, during: what)
    }

    /// Waits for `key`, which `owner` sets; stops early when a rank reports a failure or rank 0
    /// (which hosts the store) is gone.
    func awaitKey(_ key: String, from owner: Int, during what: String) throws -> String {
        let deadline = Date().addingTimeInterval(group.timeoutSeconds)
        while true {
            do {
                if try group.has(key) { return try group.get(key, timeoutSeconds: 1) }
                if let failure = try failures(excluding: rank).first {
                    try? group.set("failed/\(rank)", "it stopped because rank \(failure.rank) did")  // rank 0 waits for this
                    throw JobError("rank \(failure.rank) stopped during \(what): \(failure.message)")
                }
            } catch let error as TorchError {
                throw JobError("rank \(rank) lost the job's store during \(what): rank 0, which hosts it at \(placement.host):\(placement.port), is gone (it died or was killed) [\(error.message)]")
            }
            guard Date() < deadline else {
                throw JobError("rank \(rank) waited \(Int(group.timeoutSeconds)) s during \(what) for rank \(owner), which never answered (hung, or started with another MASTER_PORT): stop the job and start it again")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Failures other ranks have reported.
    func failures(excluding rank: Int) throws -> [(rank: Int, message: String)] {
        try (0..<worldSize).filter { $0 != rank }.compactMap { other in
            try group.has("failed/\(other)") ? (other, try group.get("failed/\(other)", timeoutSeconds: 1)) : nil
        }
    }

    /// Runs a collective (`what`, at `iteration`); when it fails, finds the ranks that stopped and
    /// throws an error naming them.
    @discardableResult
    public func collective<T>(_ what: String, iteration: Int, _ body: () throws -> T) throws -> T {
        let start = Date()
        do {
            return try body()
        } catch let error as TorchError {
            throw diagnose(error, during: "the \(what) at iteration \(iteration)", after: Date().timeIntervalSince(start))
        }
    }

    /// Posts this rank's own failure so that the others can name it, and (rank 0) keeps the store up
    /// until they have read it (they answer), for at most `seconds`.
    public func reportOwnFailure(_ error: Error, waitingUpTo seconds: Double = reportSeconds) {
        guard (try? group.has("failed/\(rank)")) == false else { return }
        try? group.set("failed/\(rank)", "\(error)")
        if isLeader { waitForReports(from: Set(1..<worldSize), seconds: seconds) }
    }

    private func waitForReports(from ranks: Set<Int>, seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        var silent = ranks
        while !silent.isEmpty && Date() < deadline {
            silent = silent.filter { (try? group.has("failed/\($0)")) != true }
            if !silent.isEmpty { Thread.sleep(forTimeInterval: 0.05) }
        }
    }

    private func diagnose(_ error: TorchError, during what: String, after seconds: Double) -> JobError {
        let waited = String(format: "%.1f s", seconds)
        let resume = "the last checkpoint is intact: continue with vidpred train --resume \(runPath ?? "RUN") (with any number of ranks)"
        guard (try? group.set("failed/\(rank)", "it lost a peer during \(what)")) != nil else {
            return JobError("rank \(rank): rank 0 is gone (it died or was killed; it hosts the job's store at \(placement.host):\(placement.port)); this rank stopped during \(what) after \(waited); \(resume) [\(error.message)]")
        }
        // Every rank that is still alive reports within a moment; the silent ones are at fault.
        let deadline = Date().addingTimeInterval(Self.reportSeconds)
        var reports: [Int: String] = [:]
        while Date() < deadline {
            guard let found = try? failures(excluding: rank) else { break }
            for f in found { reports[f.rank] = f.message }
            if reports.count == worldSize - 1 { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let silent = (0..<worldSize).filter { $0 != rank && reports[$0] == nil }
        let own = reports.filter { !$0.value.hasPrefix("it lost a peer") }.sorted { $0.key < $1.key }
        var lines: [String] = []
        if !silent.isEmpty {
            let names = silent.map { "rank \($0)" }.joined(separator: ", ")
            lines.append("\(names) stopped answering during \(what) (\(silent.count == 1 ? "it died, was" : "they died, were") killed or hung); rank \(rank) stopped after \(waited) (timeout \(Int(group.timeoutSeconds)) s)")
        }
        for (other, message) in own { lines.append("rank \(other) stopped with an error: \(message)") }
        if lines.isEmpty { lines.append("rank \(rank) failed during \(what) after \(waited)") }
        return JobError(lines.joined(separator: "; ") + "; \(resume) [\(error.message)]")
    }

    static func encode(_ settings: [String: String]) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: settings, options: [.sortedKeys])) ?? Data(), as: UTF8.self)
    }

    static func decode(_ text: String) -> [String: String] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: String] ?? [:]
    }
}
