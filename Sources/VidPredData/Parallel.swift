import Dispatch
import Foundation

/// Runs independent jobs (decode a frame, render a frame, quantise a GIF frame) on all cores.
enum Parallel {
    /// Calls `body(i)` for every i in 0..<count, on all cores when `parallel` is true, and returns
    /// the results in index order.
    static func map<T: Sendable>(_ count: Int, parallel: Bool = true, _ body: @Sendable (Int) -> T) -> [T] {
        if count == 0 { return [] }
        if !parallel || count == 1 || ProcessInfo.processInfo.activeProcessorCount < 2 {
            return (0..<count).map(body)
        }
        let slots = ResultSlots<T>(count)
        DispatchQueue.concurrentPerform(iterations: count) { i in
            slots.set(i, body(i))
        }
        return slots.values()
    }

    /// The throwing version: if any call throws, the error of the lowest index is rethrown (so
    /// the message is the same however the threads were scheduled).
    static func map<T: Sendable>(_ count: Int, parallel: Bool = true, _ body: @Sendable (Int) throws -> T) throws -> [T] {
        try map(count, parallel: parallel) { i in Result { try body(i) } }.map { try $0.get() }
    }
}

/// One result slot per job. Each index is written by exactly one job and read only after
/// `concurrentPerform` returned, so the writes need no lock; the class only exists to share the
/// storage with the jobs.
private final class ResultSlots<T: Sendable>: @unchecked Sendable {
    private let storage: UnsafeMutablePointer<T?>
    private let count: Int

    init(_ count: Int) {
        self.count = count
        storage = .allocate(capacity: count)
        storage.initialize(repeating: nil, count: count)
    }

    deinit {
        storage.deinitialize(count: count)
        storage.deallocate()
    }

    func set(_ index: Int, _ value: T) {
        storage[index] = value
    }

    func values() -> [T] {
        (0..<count).map { i in
            guard let value = storage[i] else { preconditionFailure("parallel job \(i) did not run") }
            return value
        }
    }
}
