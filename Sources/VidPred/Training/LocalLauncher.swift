import Foundation
import Torch

/// `vidpred train --nproc-per-node N`: starts N copies of a command as the ranks of one job on this
/// machine, as `torchrun --standalone --nproc-per-node N` does: each gets torchrun's variables
/// (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT) and cores / N
/// threads. Ctrl-C and SIGTERM are passed on to every rank (each saves and exits). When a rank
/// fails, the others stop on their own within the job's timeout (they see the lost peer); any
/// still running after that are killed, and the launcher says which rank failed and how.
public struct LocalLauncher {
    public var processes: Int
    /// nil: a free port of this machine, chosen now.
    public var port: Int?
    public var threadsPerProcess: Int
    /// The job's collective timeout: how long the launcher lets the other ranks take to stop.
    public var timeoutSeconds: Double
    public var executable: URL
    /// Each rank's arguments.
    public var arguments: [String]

    public init(processes: Int, port: Int?, threadsPerProcess: Int, timeoutSeconds: Double, executable: URL, arguments: [String]) {
        self.processes = processes; self.port = port; self.threadsPerProcess = threadsPerProcess
        self.timeoutSeconds = timeoutSeconds; self.executable = executable; self.arguments = arguments
    }

    /// How a rank ended.
    public struct Ending: Sendable, CustomStringConvertible {
        public var rank: Int
        public var status: Int32
        public var signalled: Bool
        /// Killed by the launcher after the others had stopped.
        public var killedByLauncher = false
        public var description: String {
            if killedByLauncher { return "rank \(rank) did not stop after the failure and was killed" }
            return signalled ? "rank \(rank) was killed by signal \(status)\(status == SIGKILL ? " (SIGKILL: out of memory, or kill -9)" : "")"
                             : "rank \(rank) exited with status \(status)"
        }
        /// The status a shell reports for it.
        public var exitCode: Int32 { signalled ? 128 + status : status }
    }

    /// Runs the job to its end. Returns every rank's ending, in the order they ended.
    public func run(log: @escaping @Sendable (String) -> Void) throws -> [Ending] {
        let port = try self.port ?? ProcessGroup.freePort()
        var environment = ProcessInfo.processInfo.environment
        environment["MASTER_ADDR"] = "127.0.0.1"
        environment["MASTER_PORT"] = String(port)
        environment["WORLD_SIZE"] = String(processes)
        environment["LOCAL_WORLD_SIZE"] = String(processes)
        environment["OMP_NUM_THREADS"] = String(threadsPerProcess)
        log("starting \(processes) ranks on this machine (rendezvous 127.0.0.1:\(port)), \(threadsPerProcess) thread(s) each")
        let state = LaunchState()
        var children: [Process] = []
        for rank in 0..<processes {
            let child = Process()
            child.executableURL = executable
            child.arguments = arguments
            var env = environment
            env["RANK"] = String(rank)
            env["LOCAL_RANK"] = String(rank)
            child.environment = env
            child.terminationHandler = { process in
                state.ended(Ending(rank: rank, status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal))
            }
            do {
                try child.run()
            } catch {
                children.forEach { $0.terminate() }
                throw JobError("cannot start rank \(rank) (\(executable.path)): \(error.localizedDescription)")
            }
            children.append(child)
        }
        // Foundation starts each child in its own process group, so the terminal's Ctrl-C reaches
        // the launcher only: pass it on (a second one makes the ranks quit at once, as it does alone).
        var sources: [DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { for child in children where child.isRunning { kill(child.processIdentifier, number) } }
            source.resume()
            sources.append(source)
        }
        defer { sources.forEach { $0.cancel() } }
        var failureSeen: Date?
        while state.count < processes {
            Thread.sleep(forTimeInterval: 0.05)
            if failureSeen == nil, let failure = state.firstFailure {
                failureSeen = Date()
                log("\(failure); waiting up to \(Int(timeoutSeconds + 10)) s for the other ranks to stop")
            }
            if let since = failureSeen, Date().timeIntervalSince(since) > timeoutSeconds + 10 {
                for (rank, child) in children.enumerated() where child.isRunning {
                    state.markKilled(rank)
                    kill(child.processIdentifier, SIGKILL)
                }
            }
        }
        return state.endings
    }
}

/// The launcher's record of ended ranks, written from Foundation's termination threads.
private final class LaunchState: @unchecked Sendable {
    private let lock = NSLock()
    private var done: [LocalLauncher.Ending] = []
    private var killed: Set<Int> = []

    func ended(_ ending: LocalLauncher.Ending) {
        lock.lock(); defer { lock.unlock() }
        var ending = ending
        ending.killedByLauncher = killed.contains(ending.rank)
        done.append(ending)
    }

    func markKilled(_ rank: Int) { lock.lock(); killed.insert(rank); lock.unlock() }

    var count: Int { lock.lock(); defer { lock.unlock() }; return done.count }
    var endings: [LocalLauncher.Ending] { lock.lock(); defer { lock.unlock() }; return done }
    /// The first rank that failed (not one that stopped on Ctrl-C or SIGTERM, passed on to all).
    var firstFailure: LocalLauncher.Ending? {
        lock.lock(); defer { lock.unlock() }
        return done.first { ![0, 128 + SIGINT, 128 + SIGTERM].contains($0.exitCode) || $0.signalled }
    }
}
