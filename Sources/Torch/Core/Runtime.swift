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

    /// Waits until `device` has finished its queued work (GPU work is asynchronous: a timer read
    /// without this measures the queueing); nothing to wait for on the CPU.
    public static func synchronize(_ device: Device) throws {
        if case .cuda(let index) = device { try check(ct_cuda_synchronize(Int32(index)), "synchronize") }
    }

    /// The folder of the libtorch this process runs on (where libtorch_cuda.so of the same
    /// install lies, if it has one).
    public static var torchLibraryFolder: String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        guard ct_torch_library_folder(&buffer, Int32(buffer.count)) == 0 else { return nil }
        return String(cString: buffer)
    }

    /// Whether `device` does bfloat16 arithmetic in hardware (where bf16 autocast pays off).
    public static func hasBFloat16(on device: Device) -> Bool {
        guard case .cuda(let index) = device else { return cpuHasBFloat16 }
        return gpus.first { $0.index == index }?.hasBFloat16 ?? false
    }

    /// The NVIDIA driver's and libtorch's CUDA runtime versions ("13.0"), nil where absent.
    public static var cudaDriverVersion: String? {
        var v: Int32 = 0
        return ct_cuda_driver_version(&v) == 0 ? cudaVersionText(v) : nil
    }
    public static var cudaRuntimeVersion: String? {
        var v: Int32 = 0
        return ct_cuda_runtime_version(&v) == 0 ? cudaVersionText(v) : nil
    }
    static func cudaVersionText(_ v: Int32) -> String { "\(v / 1000).\(v % 1000 / 10)" }

    /// One GPU as the driver describes it.
    public struct GPU: Sendable {
        public var index: Int
        public var name: String
        public var computeCapability: (major: Int, minor: Int)
        public var memoryBytes: Int64
        /// bfloat16 arithmetic in hardware: compute capability 8.0 (Ampere) and later.
        public var hasBFloat16: Bool { computeCapability.major >= 8 }
    }

    /// The GPUs the NVIDIA driver sees (none without a driver); needs no CUDA library of libtorch.
    public static var gpus: [GPU] {
        var found: [GPU] = []
        for index in 0..<64 {
            var name = [CChar](repeating: 0, count: 256)
            var major: Int32 = 0, minor: Int32 = 0, memory: Int64 = 0
            guard ct_cuda_device_facts(Int32(index), &name, Int32(name.count), &major, &minor, &memory) == 0 else { break }
            found.append(GPU(index: index, name: String(cString: name), computeCapability: (Int(major), Int(minor)), memoryBytes: memory))
        }
        return found
    }

    /// Makes `request` usable and says which device it is. `cuda` loads libtorch_cuda.so from the
    /// folder of the running libtorch (or `VIDPRED_TORCH_LIB`) and fails at once, saying why and
    /// what to install or set, when there is none, no driver or no such GPU; `auto` is the first
    /// GPU when that works and the CPU otherwise.
    public static func prepare(_ request: DeviceRequest, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Device {
        switch request {
        case .cpu: return .cpu
        case .auto: return (try? prepare(.cuda(0), environment: environment)) ?? .cpu
        case .cuda(let index):
            if !cudaAvailable {
                guard let folder = environment["VIDPRED_TORCH_LIB"] ?? torchLibraryFolder else {
                    throw TorchError("--device \(request): cannot tell which libtorch this process runs on; set VIDPRED_TORCH_LIB to its lib folder")
                }
                guard FileManager.default.fileExists(atPath: folder + "/libtorch_cuda.so") else {
                    throw TorchError("--device \(request): the libtorch in \(folder) has no CUDA (no libtorch_cuda.so; VidPred's own set-up keeps only the CPU libraries). On a GPU machine run the bundle (make bundle) with a CUDA build of torch \(version): pip install torch==\(version) and LIBTORCH=.../site-packages/torch; or use --device cpu")
                }
                if cudaDriverVersion == nil {
                    throw TorchError("--device \(request): no NVIDIA driver on this machine (libcuda.so.1 not found); install the driver, or use --device cpu")
                }
                try enableCUDA(libraryFolder: folder)
            }
            guard cudaAvailable, cudaDeviceCount > 0 else {
                throw TorchError("--device \(request): libtorch's CUDA backend sees no usable GPU (driver \(cudaDriverVersion ?? "none"), CUDA runtime \(cudaRuntimeVersion ?? "none")); check nvidia-smi, or use --device cpu")
            }
            guard index < cudaDeviceCount else {
                throw TorchError("--device \(request): this machine has \(cudaDeviceCount) GPU(s), numbered 0...\(cudaDeviceCount - 1)")
            }
            // TF32 for float32 work (PyTorch's own default for cuDNN convolutions; VidPred scores
            // in float32 either way) and cuDNN autotuning: the shapes of a run never change.
            try check(ct_cuda_tune(1, 1), "GPU settings")
            return .cuda(index)
        }
    }
}

/// A device as users ask for it: `cpu`, `cuda` (GPU 0), `cuda:N` or `auto` (a GPU when one is
/// usable, else the CPU). `Runtime.prepare` turns it into a `Device`.
public enum DeviceRequest: Equatable, Sendable, CustomStringConvertible {
    case cpu
    case cuda(Int)
    case auto

    public init(parsing text: String) throws {
        let t = text.lowercased().trimmingCharacters(in: .whitespaces)
        switch t {
        case "cpu": self = .cpu
        case "auto": self = .auto
        case "cuda", "gpu": self = .cuda(0)
        default:
            guard t.hasPrefix("cuda:"), let index = Int(t.dropFirst(5)), index >= 0 else {
                throw TorchError("unknown device '\(text)': use cpu, cuda, cuda:N (N = 0, 1, ...) or auto")
            }
            self = .cuda(index)
        }
    }

    public var description: String {
        switch self {
        case .cpu: return "cpu"
        case .cuda(let index): return "cuda:\(index)"
        case .auto: return "auto"
        }
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
