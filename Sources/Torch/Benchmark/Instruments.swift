import CTorch
import Foundation

/// Counts the floating-point operations of convolutions (2 per multiply-add) while enabled: the
/// work that dominates a conv net, counted from the shapes of each call. Benchmarks report a
/// training iteration as 3x the forward count (forward, weight gradients, input gradients), the
/// convention of PyTorch's FlopCounterMode for convolutions.
public enum FlopCounter {
    /// The running total of the thread that called `count` (nil when it is not counting): per
    /// thread, so convolutions other threads run meanwhile (tests run in parallel) do not count.
    private final class Total { var value = 0.0 }
    private static let key = "vidpred.FlopCounter.total"
    private static var current: Total? { Thread.current.threadDictionary[key] as? Total }

    /// Convolution FLOPs of the forward passes `body` runs on this thread.
    public static func count(_ body: () throws -> Void) rethrows -> Double {
        let total = Total()
        let outer = current
        Thread.current.threadDictionary[key] = total
        defer { Thread.current.threadDictionary[key] = outer }
        try body()
        return total.value
    }

    static func addConvolution(output: [Int], weight: [Int]) {
        guard let total = current, output.count == 4, weight.count == 4 else { return }
        // output (N, Cout, H, W); weight (Cout, Cin/groups, kh, kw)
        total.value += 2 * Double(output[0] * output[1] * output[2] * output[3]) * Double(weight[1] * weight[2] * weight[3])
    }
}

/// The process's resident memory, from /proc/self/status (Linux): peak (VmHWM) and current
/// (VmRSS). `resetPeak()` starts a new peak measurement (writes 5 to /proc/self/clear_refs).
public enum MemoryGauge {
    public static func peakBytes() -> Int? { field("VmHWM") }
    public static func currentBytes() -> Int? { field("VmRSS") }

    /// Also hands freed heap memory back to the system first (malloc_trim), so what an earlier,
    /// bigger measurement left cached in the allocator does not count as the next one's peak.
    @discardableResult
    public static func resetPeak() -> Bool {
        ct_trim_heap()
        return FileManager.default.isWritableFile(atPath: "/proc/self/clear_refs")
            && (try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)) != nil
    }

    private static func field(_ name: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 2, let kb = Int(parts[1]) { return kb * 1024 }
        }
        return nil
    }
}

/// Wall time per named module while enabled: `Module.callAsFunction` reports calls of the
/// modules registered with `watch`, so a model's top-level pieces get a time breakdown without
/// changing their code (nested calls are counted in their outermost watched module).
public enum ModuleProfiler {
    nonisolated(unsafe) private static var names: [ObjectIdentifier: String] = [:]
    nonisolated(unsafe) private static var seconds: [String: Double] = [:]
    nonisolated(unsafe) private static var calls: [String: Int] = [:]
    nonisolated(unsafe) private static var depth = 0
    nonisolated(unsafe) public private(set) static var isEnabled = false

    /// Watches `module`'s direct children under their names.
    public static func watch(childrenOf module: Module) {
        for (name, child) in module.namedChildren() { names[ObjectIdentifier(child)] = name }
    }

    public static func start() { seconds = [:]; calls = [:]; isEnabled = true }

    /// Stops and returns (name, seconds, calls), slowest first.
    public static func stop() -> [(name: String, seconds: Double, calls: Int)] {
        isEnabled = false
        return seconds.map { ($0.key, $0.value, calls[$0.key] ?? 0) }.sorted { $0.seconds > $1.seconds }
    }

    /// Adds time spent outside modules (backward, optimizer) under a name.
    public static func record(_ name: String, _ body: () throws -> Void) rethrows {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        if isEnabled {
            seconds[name, default: 0] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            calls[name, default: 0] += 1
        }
    }

    static func around(_ module: Module, _ body: () throws -> Tensor) rethrows -> Tensor {
        guard isEnabled, depth == 0, let name = names[ObjectIdentifier(module)] else { return try body() }
        depth += 1
        defer { depth -= 1 }
        let start = DispatchTime.now().uptimeNanoseconds
        let y = try body()
        seconds[name, default: 0] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        calls[name, default: 0] += 1
        return y
    }
}
