import ArgumentParser
import Foundation
import VidPred

/// Renders training events on the terminal: a bar per epoch (teacher forcing ON/OFF, tfr, beta,
/// loss, lr, frames/s, ETA) redrawn in place on a TTY, or one line every few batches in a log.
final class TrainingProgress {
    private let isTTY = isatty(STDOUT_FILENO) != 0
    private var plan: EpochPlan?
    private var epochStart = Date()
    private var lastPrinted = Date.distantPast

    func handle(_ event: TrainingEvent) {
        // Flush every event so progress reaches a log file or a pipe as it happens.
        defer { fflush(nil) }
        switch event {
        case .epochStarted(let p):
            plan = p
            epochStart = Date()
        case .batch(let b, let position):
            let fraction = Double(position.batch) / Double(max(position.batches, 1))
            let elapsed = Date().timeIntervalSince(epochStart)
            let eta = elapsed / max(fraction, 1e-9) * (1 - fraction)
            let width = 24
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            let line = String(format: "epoch %d/%d %@ %d/%d  TF %@  tfr %.2f  beta %.3f  loss %.5f  lr %.1e  %.1f frames/s  ETA %@",
                              b.epoch, plan?.epochs ?? 0, bar, position.batch, position.batches, b.teacherForcing ? "ON " : "OFF",
                              b.tfr, b.beta, b.loss, b.lr, position.framesPerSecond, Self.clock(eta))
            if isTTY {
                print("\r" + line, terminator: "")
                fflush(nil)  // all streams: `stdout` is not concurrency-safe to name in Swift 6
            } else if Date().timeIntervalSince(lastPrinted) > 10 || position.batch == position.batches {
                print(line)
                lastPrinted = Date()
            }
        case .skippedBatch(let s):
            if isTTY { print("") }
            print("skipped batch at iteration \(s.iteration): \(s.reason) (weights untouched)")
        case .epoch(let e):
            if isTTY { print("") }
            print(String(format: "epoch %d done: loss %.5f (mse %.5f, kl %.3f), TF %@, tfr %.2f, beta %.3f, lr %.1e, %.1f s, %.1f frames/s%@",
                         e.epoch, e.trainLoss, e.trainMSE, e.trainKL, e.teacherForcing ? "ON" : "OFF", e.tfr, e.beta, e.lr,
                         e.seconds, e.framesPerSecond, e.skippedBatches > 0 ? ", \(e.skippedBatches) batch(es) skipped" : ""))
        case .validationProgress(let frame, let total):
            if isTTY {
                print("\rvalidating: frame \(frame)/\(total)", terminator: "")
                fflush(nil)  // all streams: `stdout` is not concurrency-safe to name in Swift 6
            }
        case .validation(let v):
            if isTTY { print("\r", terminator: "") }
            let when = v.epoch == 0 ? "before training" : "after epoch \(v.epoch)"
            print(String(format: "validation %@: PSNR %.2f dB, MSE %.5f (%.1f s)", when, v.valPSNR, v.valLoss, v.seconds))
        case .checkpoint(let c):
            if c.reason != .last { print("checkpoint (\(c.reason.rawValue)): \(c.path)") }
        case .notice(let text):
            if isTTY { print("") }
            print(text)
        }
    }

    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}

/// Set by Ctrl-C (SIGINT) or SIGTERM (what schedulers send before they kill a job); the trainer
/// polls it after every batch, saves a checkpoint and returns, and the command then exits with
/// the shell's status for that signal (130 or 143) so scripts can tell. A second signal exits at
/// once with `_exit`, which runs no destructors: libtorch's threads may still be inside a kernel,
/// and tearing its globals down under them crashed (exit 139).
final class InterruptFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var received: Int32?
    private var sources: [DispatchSourceSignal] = []

    var isRaised: Bool { lock.lock(); defer { lock.unlock() }; return received != nil }

    /// The exit status for the signal received (128 + its number).
    var exitCode: ExitCode { lock.lock(); defer { lock.unlock() }; return ExitCode(128 + (received ?? SIGINT)) }

    func install() {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in self?.receive(number) }
            source.resume()
            sources.append(source)
        }
    }

    private func receive(_ number: Int32) {
        lock.lock()
        let second = received != nil
        if !second { received = number }
        lock.unlock()
        if second { _exit(128 + number) }
        let name = number == SIGINT ? "Ctrl-C" : "SIGTERM"
        FileHandle.standardError.write(Data("\n\(name): finishing this batch and saving a checkpoint (send it again to quit now, losing this epoch's progress)\n".utf8))
    }
}
