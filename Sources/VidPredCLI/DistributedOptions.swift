import ArgumentParser
import Foundation

/// How `train` joins or starts a job of several processes. Under torchrun or srun the job comes
/// from their environment variables; `--nproc-per-node` starts the ranks itself.
struct DistributedOptions: ParsableArguments {
    @Option(name: .customLong("nproc-per-node"), help: "Start N processes on this machine that train as one (DDP semantics: --batch-size per process, gradients averaged). Under torchrun or srun, leave it out: the job comes from RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT (or SLURM_PROCID, SLURM_STEP_NUM_TASKS).")
    var nprocPerNode: Int?
    @Option(name: .customLong("master-port"), help: "With --nproc-per-node: the rendezvous port (default: a free one).")
    var masterPort: Int?
    @Option(name: .customLong("dist-timeout"), help: "Seconds a job waits for a rank (rendezvous, and each collective) before it stops with an error naming it; a rank that dies is noticed at once.")
    var timeoutSeconds: Double = 120

    func validate() throws {
        if let n = nprocPerNode, !(1...1024).contains(n) { throw ValidationError("--nproc-per-node must be between 1 and 1024 (got \(n))") }
        if let port = masterPort, !(1...65535).contains(port) { throw ValidationError("--master-port must be a TCP port, 1...65535 (got \(port))") }
        guard timeoutSeconds >= 1 else { throw ValidationError("--dist-timeout must be at least 1 second (got \(timeoutSeconds))") }
    }

    /// A rank's arguments: the launcher's own options taken out (the rank gets them as variables).
    static func removingLauncherOptions(from arguments: [String]) -> [String] {
        var result: [String] = [], skipNext = false
        for argument in arguments {
            if skipNext { skipNext = false; continue }
            if ["--nproc-per-node", "--master-port"].contains(argument) { skipNext = true; continue }
            if argument.hasPrefix("--nproc-per-node=") || argument.hasPrefix("--master-port=") { continue }
            result.append(argument)
        }
        return result
    }
}

enum ProcessOutput {
    /// This program's own file, to start it again as the ranks of a job.
    static var executable: URL {
        URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
    }

    /// Sends standard output to /dev/null: ranks other than 0 would repeat rank 0's progress.
    /// Errors (standard error) still show.
    static func silenceStandardOutput() {
        fflush(nil)  // all streams (stdout is a C global Swift 6 will not touch)
        let null = open("/dev/null", O_WRONLY)
        if null >= 0 { dup2(null, STDOUT_FILENO); close(null) }
    }
}
