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
        }
    }

    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}

/// Set by Ctrl-C; the trainer polls it after every batch, saves a checkpoint and returns.
final class InterruptFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var raised = false
    private var source: DispatchSourceSignal?

    var isRaised: Bool { lock.lock(); defer { lock.unlock() }; return raised }

    func install() {
        signal(SIGINT, SIG_IGN)
        let s = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        s.setEventHandler { [weak self] in
            guard let self else { return }
            self.lock.lock()
            let second = self.raised
            self.raised = true
            self.lock.unlock()
            if second { exit(130) }  // a second Ctrl-C quits at once
            FileHandle.standardError.write(Data("\nCtrl-C: finishing this batch and saving a checkpoint (press again to quit now)\n".utf8))
        }
        s.resume()
        source = s
    }
}
