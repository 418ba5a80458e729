/// Base class of every layer and model. Parameters and child modules are found by reflection over
/// stored properties, so a model is written as plain properties:
///
///     final class Block: Module {
///         let conv1 = Conv2d(16, 16, kernel: 3, padding: 1)
///         let skip: Conv2d?            // optional children are skipped when nil
///         let layers: [Module]         // arrays are named by index: layers.0, layers.1
///     }
///
/// Property names become the dotted parameter names (`block.conv1.weight`) converted from
/// camelCase to snake_case (`depthConv` -> `depth_conv`), which are also the safetensors keys, so
/// checkpoints load in PyTorch with the same module structure. A module whose names must differ
/// (e.g. to match an existing PyTorch model) overrides `namedChildren()`.
open class Module {
    /// True in training mode (batch statistics, dropout...), false in evaluation mode.
    public private(set) var isTraining = true

    public init() {}

    /// Applies the module to one input. Modules with several inputs define their own methods.
    open func forward(_ x: Tensor) throws -> Tensor {
        throw TorchError("\(type(of: self)) has no single-input forward")
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        ModuleProfiler.isEnabled ? try ModuleProfiler.around(self) { try forward(x) } : try forward(x)
    }

    /// Applies the module in float32 even under autocast (its input cast up): for an output layer
    /// whose result feeds a loss or the next step at full precision (see `withoutAutocast`).
    public func callInFloat32(_ x: Tensor) throws -> Tensor {
        try withoutAutocast(on: x.device) { try self(x.to(.float32)) }
    }

    // MARK: - structure

    /// Direct children with their names (default: stored properties holding modules).
    open func namedChildren() -> [(String, Module)] {
        var result: [(String, Module)] = []
        for (label, value) in Self.storedProperties(of: self) {
            if let module = value as? Module {
                result.append((label, module))
            } else if let modules = value as? [Module] {
                for (index, module) in modules.enumerated() { result.append(("\(label).\(index)", module)) }
            }
        }
        return result
    }

    /// This module and every module below it.
    public var modules: [Module] { [self] + namedChildren().flatMap { $0.1.modules } }

    /// Parameters owned directly by this module (default: stored `Tensor` properties).
    open func ownParameters() -> [(String, Tensor)] {
        Self.storedProperties(of: self).compactMap { label, value in
            (value as? Tensor).map { (label, $0) }
        }
    }

    /// Non-trainable state saved with the weights (BatchNorm's running statistics).
    open func ownBuffers() -> [(String, Tensor)] { [] }

    /// Every trainable parameter, with dotted names, in PyTorch's order.
    public func namedParameters() -> [(String, Tensor)] {
        var result = ownParameters()
        for (name, child) in namedChildren() {
            result += child.namedParameters().map { ("\(name).\($0.0)", $0.1) }
        }
        return result
    }

    public var parameters: [Tensor] { namedParameters().map(\.1) }

    /// Parameters and buffers: what a checkpoint holds, in PyTorch's `state_dict()` order.
    public func stateDict() -> [(String, Tensor)] {
        var result = ownParameters() + ownBuffers()
        for (name, child) in namedChildren() {
            result += child.stateDict().map { ("\(name).\($0.0)", $0.1) }
        }
        return result
    }

    /// Number of trainable scalars.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// Sets training (true) or evaluation (false) mode here and in every descendant.
    public func train(_ on: Bool = true) {
        isTraining = on
        for (_, child) in namedChildren() { child.train(on) }
    }

    public func eval() { train(false) }

    /// Marks every parameter as requiring gradients (done once after construction).
    public func enableGradients() throws {
        for p in parameters { try p.requiringGrad(true) }
    }

    /// Copies tensors into this module's parameters and buffers by name. Strict: a missing, an
    /// unexpected or a misshapen tensor is an error that names it.
    public func load(stateDict source: [String: Tensor], strict: Bool = true) throws {
        let own = stateDict()
        var problems: [String] = []
        let ownNames = Set(own.map(\.0))
        if strict {
            let missing = own.map(\.0).filter { source[$0] == nil }
            let unexpected = source.keys.filter { !ownNames.contains($0) }.sorted()
            if !missing.isEmpty { problems.append("missing: \(missing.prefix(8).joined(separator: ", "))\(missing.count > 8 ? " (+\(missing.count - 8) more)" : "")") }
            if !unexpected.isEmpty { problems.append("unexpected: \(unexpected.prefix(8).joined(separator: ", "))\(unexpected.count > 8 ? " (+\(unexpected.count - 8) more)" : "")") }
        }
        for (name, target) in own {
            guard let value = source[name] else { continue }
            if value.shape != target.shape {
                problems.append("\(name): checkpoint has shape \(value.shape), model expects \(target.shape)")
            }
        }
        if !problems.isEmpty { throw TorchError("state dict does not match the model: " + problems.joined(separator: "; ")) }
        for (name, target) in own {
            guard let value = source[name] else { continue }
            try target.copyIn(value)
        }
    }

    /// Moves every parameter and buffer to `device` (before an optimizer is made: it holds the
    /// tensors it was given, and creates its state on their device).
    public func move(to device: Device) throws {
        for (_, tensor) in stateDict() where tensor.device != device { try tensor.move(to: device) }
    }

    /// Stores every 4-D parameter channels-last (NHWC in memory), which oneDNN's convolutions
    /// prefer; values, names and autograd identity are unchanged.
    public func convertToChannelsLast() throws {
        for (_, p) in stateDict() where p.rank == 4 {
            try p.setChannelsLast()
        }
    }

    // MARK: - reflection

    private static func storedProperties(of object: AnyObject) -> [(String, Any)] {
        var chain: [Mirror] = []
        var mirror: Mirror? = Mirror(reflecting: object)
        while let m = mirror {
            chain.append(m)
            mirror = m.superclassMirror
        }
        // Base-class properties first, as PyTorch registers them in __init__ order.
        var result: [(String, Any)] = []
        for m in chain.reversed() {
            for child in m.children {
                guard let label = child.label, label != "isTraining" else { continue }
                result.append((snakeCase(label), child.value))
            }
        }
        return result
    }

    /// `depthConv` -> `depth_conv`; names already in snake_case are unchanged.
    static func snakeCase(_ name: String) -> String {
        var out = ""
        for ch in name {
            if ch.isUppercase {
                if !out.isEmpty && !out.hasSuffix("_") { out.append("_") }
                out.append(contentsOf: ch.lowercased())
            } else {
                out.append(ch)
            }
        }
        return out
    }
}

/// Runs modules one after another; children are named "0", "1", ... as in PyTorch's nn.Sequential.
public final class Sequential: Module {
    public let layers: [Module]

    public init(_ layers: [Module]) {
        self.layers = layers
        super.init()
    }

    public convenience init(_ layers: Module...) { self.init(layers) }

    public override func namedChildren() -> [(String, Module)] {
        layers.enumerated().map { ("\($0.offset)", $0.element) }
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        var y = x
        for layer in layers { y = try layer(y) }
        return y
    }

    /// The layers in order, the last one in float32 even under autocast (`callInFloat32`).
    public func forwardWithFloat32Output(_ x: Tensor) throws -> Tensor {
        var y = x
        for layer in layers.dropLast() { y = try layer(y) }
        guard let last = layers.last else { return y }
        return try last.callInFloat32(y)
    }
}
