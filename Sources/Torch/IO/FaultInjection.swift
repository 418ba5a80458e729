import Foundation

/// Named points in the writing code where the crash tests kill the process, to prove that every
/// moment between two writes leaves a resumable run. Off unless the environment variable
/// `VIDPRED_KILL_AT` names a point and its occurrence (`checkpoint-between-files:2` kills the
/// process with SIGKILL the second time it passes there); it costs one comparison otherwise.
public enum FaultInjection {
    public enum Point: String, CaseIterable, Sendable {
        /// A file's data is on disk under its temporary name, not yet renamed into place.
        case beforeRename = "before-rename"
        /// A checkpoint's weights are in place, its state file not yet.
        case checkpointBetweenFiles = "checkpoint-between-files"
        /// A checkpoint is complete; its line in metrics.jsonl is not written yet.
        case checkpointBeforeLog = "checkpoint-before-log"
        /// A batch's line is in metrics.jsonl.
        case batchLogged = "batch-logged"
    }

    private static let target: (point: String, occurrence: Int)? = {
        guard let value = ProcessInfo.processInfo.environment["VIDPRED_KILL_AT"] else { return nil }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let n = Int(parts[1]), n > 0 else { return nil }
        return (String(parts[0]), n)
    }()
    private static let counter = Counter()

    private final class Counter: @unchecked Sendable {
        let lock = NSLock()
        var count = 0
        func next() -> Int { lock.lock(); defer { lock.unlock() }; count += 1; return count }
    }

    /// Kills the process here when `VIDPRED_KILL_AT` says so.
    public static func reached(_ point: Point) {
        guard let target, target.point == point.rawValue else { return }
        if counter.next() == target.occurrence { kill(getpid(), SIGKILL) }
    }
}
