import CTorch

/// An error raised by libtorch (its message, shapes included) or by the engine's own checks.
public struct TorchError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Turns a shim status into a Swift error carrying libtorch's message for this thread.
@inline(__always)
func check(_ status: Int32, _ operation: StaticString) throws {
    if status != 0 {
        let text = String(cString: ct_last_error())
        throw TorchError("\(operation): \(text)")
    }
}
