import Foundation

/// A value of the pickle subset `torch.save` writes: containers, numbers, strings, and the calls
/// a checkpoint is rebuilt from (a global called with arguments, a persistent id). Nothing is
/// executed: a call is kept as data for `TorchSave` to interpret, so reading an untrusted file
/// cannot run code (unlike Python's `pickle.load`).
public indirect enum PickleValue: Equatable {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list([PickleValue])
    /// Keys in insertion order (Python dicts and OrderedDicts keep it).
    case dict([(PickleValue, PickleValue)])
    /// `module.name`, e.g. `torch._utils._rebuild_tensor_v2`.
    case global(String)
    /// A call of `function` with `arguments`; `state` is what BUILD set on the result.
    case call(function: String, arguments: [PickleValue], state: PickleValue?)
    /// BINPERSID: the object the loader looks up by this id (a tensor storage in PyTorch files).
    case persistent(PickleValue)

    public static func == (a: PickleValue, b: PickleValue) -> Bool {
        switch (a, b) {
        case (.none, .none): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.float(x), .float(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.bytes(x), .bytes(y)): return x == y
        case let (.tuple(x), .tuple(y)), let (.list(x), .list(y)): return x == y
        case let (.dict(x), .dict(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case let (.global(x), .global(y)): return x == y
        case let (.call(f, a, s), .call(g, b, t)): return f == g && a == b && s == t
        case let (.persistent(x), .persistent(y)): return x == y
        default: return false
        }
    }

    /// The value of `key` in a dict (string keys), nil otherwise.
    public subscript(key: String) -> PickleValue? {
        guard case .dict(let items) = self else { return nil }
        return items.first { $0.0 == .string(key) }?.1
    }

    public var string: String? { if case .string(let s) = self { return s }; return nil }
    public var int: Int? { if case .int(let i) = self { return i }; return nil }
    /// A Python float, or an int read as one.
    public var double: Double? {
        switch self {
        case .float(let d): return d
        case .int(let i): return Double(i)
        default: return nil
        }
    }
    public var items: [PickleValue]? {
        switch self {
        case .tuple(let items), .list(let items): return items
        default: return nil
        }
    }
}

/// Reads and writes pickles (protocols 2 to 5, the opcodes `torch.save` and Python's pickler emit
/// for dicts, lists, tuples, numbers, strings and reduce calls).
public enum Pickle {
    public static func read(_ data: Data, source: String) throws -> PickleValue {
        var reader = PickleReader(bytes: [UInt8](data), source: source)
        return try reader.run()
    }

    /// Protocol 2 (what `torch.save` writes by default). Each `.call` becomes GLOBAL, its arguments
    /// as a tuple, REDUCE (and BUILD with its state); `orderedDict` items are set on the
    /// OrderedDict, as Python pickles one.
    public static func write(_ value: PickleValue) -> Data {
        var writer = PickleWriter()
        writer.bytes = [0x80, 2]
        writer.write(value)
        writer.bytes.append(UInt8(ascii: "."))
        return Data(writer.bytes)
    }

    /// A `collections.OrderedDict` with these items, for `write` (read back as a `.dict`).
    public static func orderedDict(_ items: [(PickleValue, PickleValue)]) -> PickleValue {
        .call(function: "collections.OrderedDict", arguments: [], state: .dict(items))
    }
}

private struct PickleReader {
    let bytes: [UInt8]
    let source: String
    var position = 0
    var stack: [PickleValue] = []
    var marks: [Int] = []
    var memo: [Int: PickleValue] = [:]

    init(bytes: [UInt8], source: String) {
        self.bytes = bytes
        self.source = source
    }

    func fail(_ why: String) -> TorchError {
        TorchError("\(source): cannot read the pickled data (\(why) at byte \(position)); the file is damaged or was not written by torch.save")
    }

    mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, position + count <= bytes.count else { throw fail("it ends early") }
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    mutating func unsigned(_ count: Int) throws -> Int {
        try take(count).reversed().reduce(0) { $0 << 8 | Int($1) }
    }

    mutating func line() throws -> String {
        guard let end = bytes[position...].firstIndex(of: 0x0A) else { throw fail("a GLOBAL name has no newline") }
        defer { position = end + 1 }
        return String(decoding: bytes[position..<end], as: UTF8.self)
    }

    mutating func pop() throws -> PickleValue {
        guard let value = stack.popLast() else { throw fail("the stack is empty") }
        return value
    }

    /// The values pushed since the last MARK.
    mutating func popMark() throws -> [PickleValue] {
        guard let mark = marks.popLast(), mark <= stack.count else { throw fail("no MARK") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    mutating func text(_ count: Int) throws -> PickleValue { .string(String(decoding: try take(count), as: UTF8.self)) }

    /// Adds key/value pairs to the dict on top of the stack.
    mutating func setItems(_ pairs: [PickleValue]) throws {
        guard pairs.count % 2 == 0, case .dict(var items)? = stack.last else { throw fail("SETITEM(S) without a dict") }
        for i in stride(from: 0, to: pairs.count, by: 2) {
            if let existing = items.firstIndex(where: { $0.0 == pairs[i] }) { items[existing].1 = pairs[i + 1] } else { items.append((pairs[i], pairs[i + 1])) }
        }
        stack[stack.count - 1] = .dict(items)
    }

    mutating func append(_ values: [PickleValue]) throws {
        guard case .list(let items)? = stack.last else { throw fail("APPEND(S) without a list") }
        stack[stack.count - 1] = .list(items + values)
    }

    mutating func run() throws -> PickleValue {
        while true {
            let op = try take(1).first!
            switch op {
            case 0x80: _ = try take(1)                                  // PROTO
            case 0x95: _ = try take(8)                                  // FRAME
            case UInt8(ascii: "."): return try pop()                    // STOP
            case UInt8(ascii: "("): marks.append(stack.count)           // MARK
            case UInt8(ascii: "0"): _ = try pop()                       // POP
            case UInt8(ascii: "1"): _ = try popMark()                   // POP_MARK
            case UInt8(ascii: "2"): stack.append(try pop()); stack.append(stack.last!)  // DUP
            case UInt8(ascii: "N"): stack.append(.none)
            case 0x88: stack.append(.bool(true))
            case 0x89: stack.append(.bool(false))
            case UInt8(ascii: "J"): stack.append(.int(Int(Int32(truncatingIfNeeded: try unsigned(4)))))
            case UInt8(ascii: "K"): stack.append(.int(try unsigned(1)))
            case UInt8(ascii: "M"): stack.append(.int(try unsigned(2)))
            case 0x8A, 0x8B:                                            // LONG1, LONG4: little-endian two's complement
                let count = try unsigned(op == 0x8A ? 1 : 4)
                guard count <= 8 else { throw fail("an integer of \(count) bytes") }
                let raw = try take(count)
                var value: Int64 = 0
                for (i, byte) in raw.enumerated() { value |= Int64(byte) << (8 * Int64(i)) }
                if count > 0, count < 8, raw.last! & 0x80 != 0 { value -= Int64(1) << (8 * Int64(count)) }
                stack.append(.int(Int(value)))
            case UInt8(ascii: "G"): stack.append(.float(Double(bitPattern: UInt64(try take(8).reduce(0) { $0 << 8 | Int($1) } as Int))))
            case UInt8(ascii: "X"): stack.append(try text(try unsigned(4)))
            case 0x8C: stack.append(try text(try unsigned(1)))           // SHORT_BINUNICODE
            case 0x8D: stack.append(try text(try unsigned(8)))           // BINUNICODE8
            case UInt8(ascii: "U"): stack.append(try text(try unsigned(1)))  // SHORT_BINSTRING
            case UInt8(ascii: "T"): stack.append(try text(try unsigned(4)))  // BINSTRING
            case UInt8(ascii: "C"): stack.append(.bytes(Array(try take(try unsigned(1)))))
            case UInt8(ascii: "B"): stack.append(.bytes(Array(try take(try unsigned(4)))))
            case UInt8(ascii: ")"): stack.append(.tuple([]))
            case UInt8(ascii: "t"): stack.append(.tuple(try popMark()))
            case 0x85: stack.append(.tuple([try pop()]))
            case 0x86: let b = try pop(), a = try pop(); stack.append(.tuple([a, b]))
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); stack.append(.tuple([a, b, c]))
            case UInt8(ascii: "]"): stack.append(.list([]))
            case UInt8(ascii: "l"): stack.append(.list(try popMark()))
            case UInt8(ascii: "a"): try append([try pop()])
            case UInt8(ascii: "e"): try append(try popMark())
            case UInt8(ascii: "}"): stack.append(.dict([]))
            case UInt8(ascii: "d"): stack.append(.dict([])); try setItems(try popMarkBelowTop())
            case UInt8(ascii: "s"): let value = try pop(), key = try pop(); try setItems([key, value])
            case UInt8(ascii: "u"): try setItems(try popMark())
            case UInt8(ascii: "c"): stack.append(.global(try line() + "." + (try line())))
            case 0x93:                                                  // STACK_GLOBAL
                guard case .string(let name) = try pop(), case .string(let module) = try pop() else { throw fail("STACK_GLOBAL without names") }
                stack.append(.global(module + "." + name))
            case UInt8(ascii: "R"), 0x81:                               // REDUCE, NEWOBJ
                guard case .tuple(let arguments) = try pop(), case .global(let function) = try pop() else {
                    throw fail("REDUCE without a global and an argument tuple")
                }
                // An OrderedDict is read as a dict (whose order is kept anyway).
                stack.append(function == "collections.OrderedDict" && arguments.isEmpty
                             ? .dict([]) : .call(function: function, arguments: arguments, state: nil))
            case UInt8(ascii: "b"):                                     // BUILD
                let state = try pop()
                switch try pop() {
                case .call(let function, let arguments, _): stack.append(.call(function: function, arguments: arguments, state: state))
                case .dict(let items): stack.append(.dict(items))       // an OrderedDict's attributes (a state dict's _metadata)
                default: throw fail("BUILD on something that is not an object")
                }
            case UInt8(ascii: "Q"): stack.append(.persistent(try pop()))
            case UInt8(ascii: "q"): memo[try unsigned(1)] = stack.last
            case UInt8(ascii: "r"): memo[try unsigned(4)] = stack.last
            case 0x94: memo[memo.count] = stack.last                    // MEMOIZE
            case UInt8(ascii: "h"), UInt8(ascii: "j"):
                let key = try unsigned(op == UInt8(ascii: "h") ? 1 : 4)
                guard let value = memo[key] else { throw fail("memo entry \(key) is missing") }
                stack.append(value)
            default:
                throw fail(String(format: "opcode 0x%02x is not one torch.save writes", op))
            }
        }
    }

    /// DICT: the key/value pairs above the mark, leaving the new dict on top.
    mutating func popMarkBelowTop() throws -> [PickleValue] {
        let dict = try pop()
        let pairs = try popMark()
        stack.append(dict)
        return pairs
    }
}

private struct PickleWriter {
    var bytes: [UInt8] = []

    mutating func int32(_ v: Int) { withUnsafeBytes(of: Int32(v).littleEndian) { bytes.append(contentsOf: $0) } }

    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        bytes.append(UInt8(ascii: "X")); int32(utf8.count); bytes.append(contentsOf: utf8)
    }

    mutating func write(_ value: PickleValue) {
        switch value {
        case .none: bytes.append(UInt8(ascii: "N"))
        case .bool(let b): bytes.append(b ? 0x88 : 0x89)
        case .int(let i):
            if (0..<256).contains(i) { bytes += [UInt8(ascii: "K"), UInt8(i)] }
            else if Int(Int32.min)...Int(Int32.max) ~= i { bytes.append(UInt8(ascii: "J")); int32(i) }
            else { bytes += [0x8A, 8]; withUnsafeBytes(of: Int64(i).littleEndian) { bytes.append(contentsOf: $0) } }
        case .float(let d): bytes.append(UInt8(ascii: "G")); withUnsafeBytes(of: d.bitPattern.bigEndian) { bytes.append(contentsOf: $0) }
        case .string(let s): string(s)
        case .bytes(let b): bytes.append(UInt8(ascii: "B")); int32(b.count); bytes.append(contentsOf: b)
        case .tuple(let items):
            if items.isEmpty { bytes.append(UInt8(ascii: ")")); return }
            bytes.append(UInt8(ascii: "("))
            for item in items { write(item) }
            bytes.append(UInt8(ascii: "t"))
        case .list(let items):
            bytes.append(UInt8(ascii: "]"))
            guard !items.isEmpty else { return }
            bytes.append(UInt8(ascii: "("))
            for item in items { write(item) }
            bytes.append(UInt8(ascii: "e"))
        case .dict(let items):
            bytes.append(UInt8(ascii: "}"))
            setItems(items)
        case .global(let name):
            let dot = name.lastIndex(of: ".")!
            bytes.append(UInt8(ascii: "c"))
            bytes += Array(name[..<dot].utf8) + [0x0A] + Array(name[name.index(after: dot)...].utf8) + [0x0A]
        case .call(let function, let arguments, let state):
            write(.global(function))
            write(.tuple(arguments))
            bytes.append(UInt8(ascii: "R"))
            if let state {
                if case .dict(let items) = state, function == "collections.OrderedDict" {
                    setItems(items)  // an OrderedDict's items are set on it, not a BUILD state
                } else {
                    write(state); bytes.append(UInt8(ascii: "b"))
                }
            }
        case .persistent(let id): write(id); bytes.append(UInt8(ascii: "Q"))
        }
    }

    mutating func setItems(_ items: [(PickleValue, PickleValue)]) {
        guard !items.isEmpty else { return }
        bytes.append(UInt8(ascii: "("))
        for (key, value) in items { write(key); write(value) }
        bytes.append(UInt8(ascii: "u"))
    }
}
