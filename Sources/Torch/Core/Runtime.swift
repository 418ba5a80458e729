import CTorch
import Foundation

/// Process-wide libtorch settings: version, threads, seeds, devices.
public enum Runtime {
    public static var version: String { String(cString: ct_version()) }

    /// Intra-op threads libtorch uses (defaults to all cores); values are clamped to 1...4096.
    public static var threads: Int {
        get { Int(ct_get_num_threads()) }
        set { ct_set_num_threads(Int32(min(max(1, newValue), 4096))) }
    }

    /// Whether `autocast` is on for `device` on this thread (bfloat16 mixed precision).
    public static func isAutocastEnabled(on device: Device = .cpu) -> Bool { ct_autocast_is_enabled(device.code.0) != 0 }

    /// Seeds libtorch's global generator (used where no explicit generator is passed).
    public static func seed(_ value: UInt64) { ct_manual_seed(value) }

    public static var cudaAvailable: Bool { ct_cuda_is_available() != 0 }
    public static var cudaDeviceCount: Int { Int(ct_cuda_device_count()) }

    /// Whether this CPU has native bfloat16 arithmetic (AVX512-BF16 or AMX), where bf16 autocast pays off.
    public static var cpuHasBFloat16: Bool { ct_cpu_has_bf16() != 0 }

    /// Loads libtorch_cuda.so so the CUDA backend registers itself. The CPU build links only
    /// libtorch_cpu; on a GPU machine point this at the torch install's lib folder.
    public static func enableCUDA(libraryFolder: String) throws {
        let path = libraryFolder + "/libtorch_cuda.so"
        guard FileManager.default.fileExists(atPath: path) else {
            throw TorchError("CUDA requested but \(path) does not exist; set LIBTORCH to a torch install with CUDA")
        }
        try check(ct_load_cuda(path), "enableCUDA")
    }
}

/// Runs `body` with gradient recording off (PyTorch's `torch.no_grad()`).
public func noGrad<T>(_ body: () throws -> T) rethrows -> T {
    let previous = ct_grad_enabled()
    ct_set_grad_enabled(0)
    defer { ct_set_grad_enabled(previous) }
    return try body()
}

/// Runs `body` in inference mode: no autograd bookkeeping at all (faster than `noGrad` for rollouts).
/// Tensors created inside cannot be used later in autograd.
public func inferenceMode<T>(_ body: () throws -> T) throws -> T {
    try check(ct_inference_mode_push(), "inferenceMode")
    defer { ct_inference_mode_pop() }
    return try body()
}

/// Runs `body` with autocast to `dtype` on `device` (bfloat16 mixed precision: convolutions run in
/// bf16, master weights and the loss stay float32).
public func autocast<T>(_ dtype: DType = .bfloat16, on device: Device = .cpu, enabled: Bool = true,
                        _ body: () throws -> T) throws -> T {
    guard enabled else { return try body() }
    let deviceType = device.code.0
    try check(ct_autocast_set(deviceType, 1, dtype.rawValue), "autocast")
    defer { _ = ct_autocast_set(deviceType, 0, dtype.rawValue) }
    return try body()
}

/// Runs `body` in float32 inside an autocast region: autocast is suspended for it and resumes after
/// (same dtype, weights already cast stay cached). For the few layers whose outputs need full
/// precision; outside autocast it just runs `body`.
public func withoutAutocast<T>(on device: Device = .cpu, _ body: () throws -> T) throws -> T {
    guard Runtime.isAutocastEnabled(on: device) else { return try body() }
    try check(ct_autocast_suspend(device.code.0, 1), "withoutAutocast")
    defer { _ = ct_autocast_suspend(device.code.0, 0) }
    return try body()
}
