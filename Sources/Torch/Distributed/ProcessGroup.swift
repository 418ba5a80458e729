import CTorch
import Foundation

/// One process's membership of a job of several processes (ranks) that train as one, on PyTorch's
/// distributed engine: c10d's TCPStore for the rendezvous (rank 0 hosts it at the address torchrun
/// calls MASTER_ADDR:MASTER_PORT) and its gloo process group for the collectives, which work on
/// CPU tensors (and on CUDA tensors through host copies). Every collective is a barrier: all ranks
/// must call the same ones in the same order.
public final class ProcessGroup: @unchecked Sendable {
    // @unchecked: the handle is used by the training thread only; c10d objects are thread-safe.
    public let rank: Int
    public let worldSize: Int
    /// Bounds the rendezvous and each collective: a dead peer fails a collective at once (its
    /// sockets close), a hung one after this many seconds.
    public let timeoutSeconds: Double
    private let handle: ct_group

    /// Joins the job; returns when all `worldSize` ranks have joined (or throws after the timeout).
    public init(host: String, port: Int, rank: Int, worldSize: Int, timeoutSeconds: Double) throws {
        guard worldSize >= 1, (0..<worldSize).contains(rank) else {
            throw TorchError("rank \(rank) is not one of a job of \(worldSize) processes (ranks 0...\(worldSize - 1))")
        }
        guard (1...65535).contains(port) else { throw TorchError("port \(port) is not a TCP port (1...65535)") }
        var out: ct_group?
        try check(ct_group_new(host, Int32(port), Int32(rank), Int32(worldSize), Int32(min(timeoutSeconds * 1000, Double(Int32.max))), &out),
                  "joining the distributed job")
        guard let out else { throw TorchError("joining the distributed job: libtorch returned no process group") }
        handle = out
        self.rank = rank
        self.worldSize = worldSize
        self.timeoutSeconds = timeoutSeconds
    }

    deinit { ct_group_free(handle) }

    /// Sums each tensor over the ranks, in place.
    public func allReduceSum(_ tensors: [Tensor]) throws {
        var handles: [ct_tensor?] = tensors.map(\.handle)
        try check(ct_group_allreduce(handle, &handles, Int32(handles.count)), "all-reduce")
    }

    /// Overwrites each tensor with `root`'s.
    public func broadcast(_ tensors: [Tensor], from root: Int = 0) throws {
        var handles: [ct_tensor?] = tensors.map(\.handle)
        try check(ct_group_broadcast(handle, &handles, Int32(handles.count), Int32(root)), "broadcast")
    }

    /// Numbers summed over the ranks (float64).
    public func allReduceSum(_ values: [Double]) throws -> [Double] {
        let tensor = try values.withUnsafeBytes { try Tensor(bytes: $0, dtype: .float64, shape: [values.count]) }
        try allReduceSum([tensor])
        return try tensor.doubles()
    }

    /// `root`'s numbers (float64).
    public func broadcast(_ values: [Double], from root: Int = 0) throws -> [Double] {
        let tensor = try values.withUnsafeBytes { try Tensor(bytes: $0, dtype: .float64, shape: [values.count]) }
        try broadcast([tensor], from: root)
        return try tensor.doubles()
    }

    /// Sums the parameters' gradients over the ranks in place, in flat buckets of about
    /// `bucketBytes` (DDP's 25 MB); returns the number of buckets. A parameter with a gradient on
    /// some rank gets one on every rank.
    @discardableResult
    public func allReduceGradients(_ parameters: [Tensor], bucketBytes: Int = 25 << 20) throws -> Int {
        var handles: [ct_tensor?] = parameters.map(\.handle)
        var buckets: Int32 = 0
        try check(ct_group_allreduce_grads(handle, &handles, Int32(handles.count), Int64(bucketBytes), &buckets), "gradient all-reduce")
        return Int(buckets)
    }

    /// `x` summed over the ranks as a new tensor that autograd goes through (the backward pass
    /// sums the gradients over the ranks too). Every rank must run the same backward.
    public func allReduceSumDifferentiable(_ x: Tensor) throws -> Tensor {
        var out: ct_tensor?
        try check(ct_group_allreduce_differentiable(handle, x.handle, &out), "all-reduce (autograd)")
        guard let out else { throw TorchError("all-reduce (autograd): libtorch returned no tensor") }
        return Tensor(handle: out)
    }

    // MARK: the job's key-value store

    public func set(_ key: String, _ value: String) throws {
        try check(ct_store_set(handle, key, value), "store set")
    }

    /// The value of `key`, waiting for some rank to set it for at most `timeoutSeconds`.
    public func get(_ key: String, timeoutSeconds: Double) throws -> String {
        var value: UnsafeMutablePointer<CChar>?
        try check(ct_store_get(handle, key, Int32(min(timeoutSeconds * 1000, Double(Int32.max))), &value), "store get")
        defer { ct_string_free(value) }
        return value.map { String(cString: $0) } ?? ""
    }

    public func has(_ key: String) throws -> Bool {
        var present: Int32 = 0
        try check(ct_store_check(handle, key, &present), "store check")
        return present != 0
    }

    /// A TCP port nobody listens on now (the kernel's choice for port 0).
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TorchError("cannot open a socket to find a free port (errno \(errno)): name a port") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw TorchError("cannot find a free port on 127.0.0.1 (errno \(errno)): name a port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
