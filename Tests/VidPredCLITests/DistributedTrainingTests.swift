import Foundation
import Testing
import Torch

private let root = repositoryRoot
private let binary = vidpredBinary

/// torchrun of the interop venv (scripts/setup.sh) or of the reference venv (reference/setup.sh).
private let torchrun: URL? = [".deps/pyenv/bin/torchrun", "reference/.venv/bin/torchrun"]
    .map { root.appendingPathComponent($0) }.first { FileManager.default.isExecutableFile(atPath: $0.path) }

/// A finished (or killed) command: its status and what it printed.
private struct Ended {
    var status: Int32
    var output: String
    var seconds: Double
}

private final class Command {
    let process = Process()
    let log: URL
    let start = Date()

    init(_ executable: URL, _ arguments: [String], environment: [String: String] = [:], log: URL) throws {
        self.log = log
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    func wait() -> Ended {
        process.waitUntilExit()
        return Ended(status: process.terminationStatus, output: (try? String(contentsOf: log, encoding: .utf8)) ?? "",
                     seconds: Date().timeIntervalSince(start))
    }

    var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
}

/// A tiny model and dataset: 64 frames, 16 windows of 4, so 4 steps per epoch of global batch 4.
private struct Setup {
    let folder: URL
    let data: URL

    init(_ label: String) throws {
        folder = try scratch("dist-\(label)")
        data = folder.appendingPathComponent("data")
        let made = try Command(binary, ["make-data", "synthetic", "--out", data.path, "--train-frames", "64", "--val-videos", "1",
                                        "--test-videos", "1", "--video-length", "8", "--height", "16", "--width", "32"],
                               log: folder.appendingPathComponent("make-data.log")).wait()
        try #require(made.status == 0, "make-data failed: \(made.output)")
    }

    /// The pyramid recipe (its augmentations and weight average included) at tiny widths, in fp32
    /// whatever the CPU: the equality's 1e-5 tolerance is for float32 sums (recipe's `auto` would
    /// pick bf16 on some machines, and bf16 has not been measured against it).
    static let settings = ["--preset", "pyramid", "--pyramid-frame", "8,8,8", "--pyramid-pose", "4,4,4", "--noise-dim", "4",
                           "--height", "16", "--width", "32", "--train-vi-len", "4", "--val-vi-len", "6", "--per-save", "0",
                           "--shuffle", "--tfr", "0.5", "--lr", "0.001", "--precision", "fp32"]

    func train(_ name: String, _ extra: [String], launcher: [String] = [], executable: URL = binary,
               environment: [String: String] = [:], log: String? = nil) throws -> Command {
        try Command(executable, launcher + ["train", "--data", data.path, "--out", run(name).path] + Self.settings + extra,
                    environment: environment, log: folder.appendingPathComponent("\(log ?? name).log"))
    }

    func run(_ name: String) -> URL { folder.appendingPathComponent(name) }

    func weights(_ name: String) throws -> [String: [Float]] {
        let file = try SafeTensors.read(run(name).appendingPathComponent("checkpoints/last.safetensors"))
        var result: [String: [Float]] = [:]
        for (key, tensor) in file.tensors where tensor.dtype.isFloatingPoint { result[key] = try tensor.to(.float32).floats() }
        return result
    }

    /// The largest difference between two runs' weights, and how far the first moved from `start`.
    func difference(_ a: String, _ b: String) throws -> Float {
        let (x, y) = (try weights(a), try weights(b))
        #expect(Set(x.keys) == Set(y.keys))
        return x.keys.map { key in zip(x[key]!, y[key]!).map { Swift.abs($0 - $1) }.max() ?? 0 }.max() ?? .infinity
    }
}

/// The ranks of a job started by `--nproc-per-node` (children of the launcher), by rank.
private func ranks(of launcher: Process) -> [Int: Int32] {
    let children = (try? String(contentsOfFile: "/proc/\(launcher.processIdentifier)/task/\(launcher.processIdentifier)/children", encoding: .utf8)) ?? ""
    var result: [Int: Int32] = [:]
    for pid in children.split(separator: " ").compactMap({ Int32($0) }) {
        let environment = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))) ?? Data()
        let variables = environment.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        if let rank = variables.first(where: { $0.hasPrefix("RANK=") }).flatMap({ Int($0.dropFirst(5)) }) { result[rank] = pid }
    }
    return result
}

/// Runs a shell command; its status and output.
@discardableResult
private func shell(_ command: String) -> (status: Int32, output: String) {
    (try? runToEnd(URL(fileURLWithPath: "/bin/sh"), ["-c", command])) ?? (-1, "cannot run /bin/sh")
}

/// Network namespaces can be made here (root, iproute2): two "machines" on one host.
private let namespacesWork: Bool = {
    let name = "vp-probe-\(getpid())"
    return shell("ip netns add \(name) && ip netns del \(name)").status == 0
}()

@Suite("Training on several processes (real processes of this build: loopback, and two machines as network namespaces)", .serialized)
struct DistributedTrainingTests {
    /// DDP's promise: 2 ranks with batch b take the same steps as 1 process with batch 2b (8 Adam
    /// steps of the pyramid preset; float rounding of the sums differs, nothing else).
    @Test(.timeLimit(.minutes(5)))
    func twoRanksEqualOneProcessWithTheGlobalBatch() throws {
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "\(binary.path) is missing: run `swift build` (make test does)")
        let setup = try Setup("equal")
        let one = try setup.train("one", ["--batch-size", "4", "--epochs", "2", "--threads", "1"]).wait()
        try #require(one.status == 0, Comment(rawValue: one.output))
        let two = try setup.train("two", ["--batch-size", "2", "--epochs", "2", "--nproc-per-node", "2", "--threads", "1"]).wait()
        try #require(two.status == 0, Comment(rawValue: two.output))
        #expect(two.output.contains("job: 2 processes"), Comment(rawValue: two.output))
        let difference = try setup.difference("one", "two")
        #expect(difference < 1e-5, "largest weight difference \(difference)")
        // Rank 0 alone wrote the run: one log, with the global batch's losses.
        let logs = try String(contentsOf: setup.run("two").appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        #expect(logs.components(separatedBy: "\"event\":\"batch\"").count - 1 == 8)
    }

    /// `torchrun --no-python` starts the same job as `--nproc-per-node 2`.
    @Test(.timeLimit(.minutes(5)), .enabled(if: torchrun != nil, "no torchrun: neither .deps/pyenv (scripts/setup.sh) nor reference/.venv (reference/setup.sh) has PyTorch"))
    func torchrunStartsTheSameJob() throws {
        let setup = try Setup("torchrun")
        let ours = try setup.train("ours", ["--batch-size", "2", "--epochs", "1", "--nproc-per-node", "2", "--threads", "1"]).wait()
        try #require(ours.status == 0, Comment(rawValue: ours.output))
        let port = try ProcessGroup.freePort()
        let theirs = try setup.train("theirs", ["--batch-size", "2", "--epochs", "1", "--threads", "1"],
                                     launcher: ["--no-python", "--nnodes", "1", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
                                                "--master-port", String(port), binary.path],
                                     executable: torchrun!).wait()
        try #require(theirs.status == 0, Comment(rawValue: theirs.output))
        #expect(theirs.output.contains("job: 2 processes"), Comment(rawValue: theirs.output))
        let difference = try setup.difference("ours", "theirs")
        #expect(difference < 1e-6, "largest weight difference \(difference)")
    }

    /// Two machines (network namespaces joined by a veth pair, each with its own loopback, so
    /// nothing can pass through 127.0.0.1): rank 0 at 10.x.0.1 hosts the rendezvous, rank 1 joins
    /// from 10.x.0.2 with MASTER_ADDR alone (gloo finds each machine's address on the route), and
    /// the job equals one process with the global batch.
    @Test(.timeLimit(.minutes(5)), .enabled(if: namespacesWork, "network namespaces cannot be made here (needs root and iproute2's ip netns)"))
    func twoMachinesTrainAsOne() throws {
        let setup = try Setup("machines")
        let one = try setup.train("one", ["--batch-size", "4", "--epochs", "2", "--threads", "1"]).wait()
        try #require(one.status == 0, Comment(rawValue: one.output))
        let id = getpid() % 200 + 20, (a, b) = ("vpa\(id)", "vpb\(id)")
        let made = shell("""
            ip netns add \(a) && ip netns add \(b) && ip link add \(a)v type veth peer name \(b)v && \
            ip link set \(a)v netns \(a) && ip link set \(b)v netns \(b) && \
            ip -n \(a) addr add 10.\(id).0.1/24 dev \(a)v && ip -n \(b) addr add 10.\(id).0.2/24 dev \(b)v && \
            ip -n \(a) link set \(a)v up && ip -n \(b) link set \(b)v up && ip -n \(a) link set lo up && ip -n \(b) link set lo up
            """)
        defer { shell("ip netns del \(a); ip netns del \(b)") }
        try #require(made.status == 0, Comment(rawValue: made.output))
        let port = 29_000 + Int(id)
        let ranks = try [a, b].enumerated().map { rank, namespace in
            try setup.train("two", ["--batch-size", "2", "--epochs", "2", "--threads", "1"],
                            launcher: ["netns", "exec", namespace, "env", "RANK=\(rank)", "WORLD_SIZE=2", "MASTER_ADDR=10.\(id).0.1",
                                       "MASTER_PORT=\(port)", binary.path],
                            executable: URL(fileURLWithPath: "/usr/sbin/ip"), log: "two-rank\(rank)")
        }
        let ended = ranks.map { $0.wait() }
        for (rank, end) in ended.enumerated() { #expect(end.status == 0, "rank \(rank): \(end.output)") }
        let difference = try setup.difference("one", "two")
        #expect(difference < 1e-5, "largest weight difference \(difference)")
    }

    /// A rank killed with SIGKILL ends the job within the timeout with an error naming it; the
    /// last checkpoint is intact and a single process resumes it to the end.
    @Test(.timeLimit(.minutes(5)))
    func aKilledRankEndsTheJobNamingIt() throws {
        let setup = try Setup("kill")
        let job = try setup.train("job", ["--batch-size", "2", "--epochs", "400", "--nproc-per-node", "2", "--threads", "1", "--dist-timeout", "10"])
        let last = setup.run("job").appendingPathComponent("checkpoints/last.state.safetensors")
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: last.path) && Date() < deadline && job.process.isRunning { Thread.sleep(forTimeInterval: 0.2) }
        Thread.sleep(forTimeInterval: 1)
        let pids = ranks(of: job.process)
        try #require(pids[1] != nil, "rank 1 not found among the launcher's children: \(job.output)")
        let killed = Date()
        kill(pids[1]!, SIGKILL)
        let ended = job.wait()
        let seconds = Date().timeIntervalSince(killed)
        #expect(ended.status != 0)
        #expect(seconds < 10 + 10, "the job took \(seconds) s to stop")
        #expect(ended.output.contains("rank 1 stopped answering"), Comment(rawValue: ended.output))
        #expect(ended.output.contains("rank 1 was killed by signal 9"), Comment(rawValue: ended.output))
        let resumed = try Command(binary, ["train", "--resume", setup.run("job").path, "--epochs", "2", "--threads", "1"],
                                  log: setup.folder.appendingPathComponent("resume.log")).wait()
        // Resumed by one process: the epoch count may already be past 2, then there is nothing to do.
        #expect(resumed.status == 0, Comment(rawValue: resumed.output))
        #expect(resumed.output.contains("stopped:"), Comment(rawValue: resumed.output))
    }

    /// Ctrl-C reaches every rank through the launcher: all stop at the same batch, rank 0 saves,
    /// the job exits 130, and it resumes with another number of ranks (the epoch continues at the
    /// same window).
    @Test(.timeLimit(.minutes(5)))
    func ctrlCStopsEveryRankAndTheRunResumesWithOtherRanks() throws {
        let setup = try Setup("interrupt")
        let job = try setup.train("job", ["--batch-size", "2", "--epochs", "400", "--nproc-per-node", "2", "--threads", "1"])
        let last = setup.run("job").appendingPathComponent("checkpoints/last.state.safetensors")
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: last.path) && Date() < deadline && job.process.isRunning { Thread.sleep(forTimeInterval: 0.2) }
        Thread.sleep(forTimeInterval: 0.5)
        kill(job.process.processIdentifier, SIGINT)
        let ended = job.wait()
        #expect(ended.status == 130, Comment(rawValue: ended.output))
        #expect(ended.output.contains("every rank stopped and rank 0 saved a checkpoint"), Comment(rawValue: ended.output))
        #expect(!ended.output.contains("stopped answering"), Comment(rawValue: ended.output))
        let state = try SafeTensors.readMetadata(last)
        let epochs = Int(state["epochs_done"] ?? "") ?? -1
        let resumed = try Command(binary, ["train", "--resume", setup.run("job").path, "--epochs", String(epochs + 2), "--threads", "1"],
                                  log: setup.folder.appendingPathComponent("resume.log")).wait()
        #expect(resumed.status == 0, Comment(rawValue: resumed.output))
        #expect(resumed.output.contains("finished \(epochs + 2) epochs"), Comment(rawValue: resumed.output))
    }
}
