import Foundation

/// A setting's value as a config file, `config.json` or the command line holds it: JSON/YAML
/// scalars and lists, or the text typed after `--key`.
public enum ConfigValue: Codable, Equatable, Sendable, CustomStringConvertible {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case text(String)
    case list([ConfigValue])

    public init(from decoder: Decoder) throws {
        if var items = try? decoder.unkeyedContainer() {
            var values: [ConfigValue] = []
            while !items.isAtEnd { values.append(try items.decode(ConfigValue.self)) }
            self = .list(values)
            return
        }
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .integer(i) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .text(s) }
        else { throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected a number, text, true/false or a list") }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .integer(let i): try c.encode(i)
        case .number(let d): try c.encode(d)
        case .text(let s): try c.encode(s)
        case .list(let items): try c.encode(items)
        }
    }

    /// The value as a person would type it: `0.001`, `Cyclical`, `[2, 5]`, `none` (unset: the
    /// word `--help` and the command line use; config.json writes null).
    public var description: String {
        switch self {
        case .null: return "none"
        case .bool(let b): return b ? "true" : "false"
        case .integer(let i): return String(i)
        case .number(let d): return "\(d)"
        case .text(let s): return s
        case .list(let items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
        }
    }

    /// How an error message names what was found.
    var found: String {
        switch self {
        case .text(let s): return "'\(s)'"
        case .list: return "the list \(description)"
        default: return description
        }
    }
}

/// A value a setting can hold: read from a config file, `config.json` or command-line text, and
/// written back to `config.json`.
public protocol SettingValue: Equatable {
    /// Throws `WrongValue` naming what was expected.
    init(configValue: ConfigValue) throws
    var configValue: ConfigValue { get }
    /// What a value looks like, for help texts and errors: "an integer", "one of lab, pyramid".
    static var expected: String { get }
    /// The placeholder in help texts: N, X, lab|pyramid.
    static var placeholder: String { get }
}

/// A value of the wrong type or out of a setting's choices; the caller adds the key and source.
public struct WrongValue: Error {
    public let expected: String
}

extension ConfigValue {
    /// A scalar as text (numbers as written, text trimmed): how number and switch settings parse.
    var scalar: String? {
        switch self {
        case .integer(let i): return String(i)
        case .number(let d): return "\(d)"
        case .bool(let b): return "\(b)"
        case .text(let s): return s.trimmingCharacters(in: .whitespaces)
        case .null, .list: return nil
        }
    }

    /// The scalar made into a `T`, or `WrongValue` saying what was `expected`.
    func parsed<T>(_ expected: String, _ make: (String) -> T?) throws -> T {
        guard let text = scalar, let value = make(text) else { throw WrongValue(expected: expected) }
        return value
    }
}

extension Int: SettingValue {
    public init(configValue v: ConfigValue) throws { self = try v.parsed(Self.expected) { Int($0) } }
    public var configValue: ConfigValue { .integer(self) }
    public static var expected: String { "an integer" }
    public static var placeholder: String { "N" }
}

extension UInt64: SettingValue {
    public init(configValue v: ConfigValue) throws { self = try v.parsed(Self.expected) { UInt64($0) } }
    // Seeds above Int.max are written as text so that JSON readers keep every digit.
    public var configValue: ConfigValue { self <= UInt64(Int.max) ? .integer(Int(self)) : .text(String(self)) }
    public static var expected: String { "a whole number >= 0" }
    public static var placeholder: String { "N" }
}

extension Double: SettingValue {
    /// Finite numbers only: NaN and infinities are no setting's meaningful value (and not JSON).
    public init(configValue v: ConfigValue) throws { self = try v.parsed(Self.expected) { Double($0).flatMap { $0.isFinite ? $0 : nil } } }
    public var configValue: ConfigValue { .number(self) }
    public static var expected: String { "a finite number" }
    public static var placeholder: String { "X" }
}

extension Bool: SettingValue {
    public init(configValue v: ConfigValue) throws {
        self = try v.parsed(Self.expected) { ["true", "yes", "on", "1"].contains($0.lowercased()) ? true : ["false", "no", "off", "0"].contains($0.lowercased()) ? false : nil }
    }
    public var configValue: ConfigValue { .bool(self) }
    public static var expected: String { "true or false" }
    public static var placeholder: String { "true|false" }
}

extension Array: SettingValue where Element == Int {
    /// A list (`[2, 5]`), or comma-separated integers (`2,5`, `[2,5]`).
    public init(configValue v: ConfigValue) throws {
        if case .list(let items) = v { self = try items.map { try Int(configValue: $0) }; return }
        let inner = try v.parsed(Self.expected) { $0 }.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
        do {
            self = try inner.isEmpty ? [] : inner.split(separator: ",").map { try Int(configValue: .text(String($0))) }
        } catch { throw WrongValue(expected: Self.expected) }
    }
    public var configValue: ConfigValue { .list(map(\.configValue)) }
    public static var expected: String { "a list of integers such as 2,5" }
    public static var placeholder: String { "N,N,..." }
}

extension Optional: SettingValue where Wrapped: SettingValue {
    /// `null` (or the text `none`) leaves the setting unset.
    public init(configValue v: ConfigValue) throws {
        if v == .null || ["none", "null"].contains(v.scalar?.lowercased() ?? "") { self = nil; return }
        do { self = try Wrapped(configValue: v) } catch { throw WrongValue(expected: Self.expected) }
    }
    public var configValue: ConfigValue { map(\.configValue) ?? .null }
    public static var expected: String { "\(Wrapped.expected), or none" }
    public static var placeholder: String { Wrapped.placeholder }
}

/// A setting with a fixed list of choices. Parsing ignores case, so the lab's spellings work
/// (`Adam`, `AdamW`, `None`).
public protocol SettingChoice: SettingValue, RawRepresentable<String>, CaseIterable, Sendable {}

extension SettingChoice {
    public init(configValue v: ConfigValue) throws {
        guard case .text(let s) = v,
              let match = Self.allCases.first(where: { $0.rawValue.lowercased() == s.lowercased() }) else {
            throw WrongValue(expected: Self.expected)
        }
        self = match
    }
    public var configValue: ConfigValue { .text(rawValue) }
    public static var expected: String { "one of " + allCases.map(\.rawValue).joined(separator: ", ") }
    public static var placeholder: String { allCases.map(\.rawValue).joined(separator: "|") }
}

/// One setting of a training run: its key (in config files, `config.json` and, with dashes, on the
/// command line), the lab template's names for it, a help text, and how to read and write its
/// `TrainConfig` property. `TrainConfig.settings` lists them all: everything that reads or writes
/// settings goes through that one list.
public struct Setting {
    public enum Section: String, CaseIterable, Sendable {
        case model = "Model", data = "Data", optimisation = "Optimisation", teacherForcing = "Teacher forcing"
        case klAnnealing = "KL annealing", run = "Run control"
    }

    public let key: String
    /// Other names accepted for it (the lab template's argument names: `num_epoch`, `F_dim`...).
    public let aliases: [String]
    public let section: Section
    public let help: String
    public let expected: String
    public let placeholder: String
    /// true/false settings: on the command line the key alone means true.
    public let isSwitch: Bool
    /// The preset whose model alone reads it (nil: every run); its help starts with the preset's name.
    public let preset: Preset?
    /// What a saved `config.json` without this key was trained with, for a setting added after
    /// runs were saved and whose recipe value has changed since (nil: the preset's recipe, as for
    /// a config file). An old run then resumes, predicts and evaluates with the model it trained.
    public let savedWithout: ConfigValue?
    let read: (TrainConfig) -> ConfigValue
    let write: (inout TrainConfig, ConfigValue) throws -> Void

    init<Value: SettingValue>(_ key: String, _ path: WritableKeyPath<TrainConfig, Value>, _ section: Section, _ help: String,
                              aliases: [String] = [], onlyFor preset: Preset? = nil, savedWithout: Value? = nil) {
        self.key = key
        self.aliases = aliases
        self.section = section
        self.preset = preset
        self.savedWithout = savedWithout?.configValue
        self.help = preset.map { "\($0.rawValue.prefix(1).uppercased() + $0.rawValue.dropFirst()) preset: " + help } ?? help
        expected = Value.expected
        placeholder = Value.placeholder
        isSwitch = Value.self == Bool.self
        read = { $0[keyPath: path].configValue }
        write = { config, value in config[keyPath: path] = try Value(configValue: value) }
    }

    public func value(in config: TrainConfig) -> ConfigValue { read(config) }

    /// Sets the value; a wrong type or an unknown choice is a `ConfigError` naming the key as
    /// `spelled`, the source and what was expected.
    public func apply(_ value: ConfigValue, to config: inout TrainConfig, spelled: String, source: String) throws {
        do {
            try write(&config, value)
        } catch let wrong as WrongValue {
            throw ConfigError("\(source): \(spelled) must be \(wrong.expected); found \(value.found)")
        }
    }

    /// Keys and aliases compare without case, with `-` and `_` alike and leading dashes dropped.
    public static func normalise(_ name: String) -> String {
        String(name.drop { $0 == "-" }).lowercased().replacingOccurrences(of: "-", with: "_")
    }
}

/// Settings as one source gave them (a config file, the command line, a sweep's grid point), in
/// the order given, each key as the user wrote it.
public struct SettingSource {
    /// How messages name the source: "my.yaml", "the command line".
    public var name: String
    public var entries: [(key: String, value: ConfigValue)]
    /// How this source writes a setting's key, for suggestions (`tfr_sde` in a file).
    public var spell: (String) -> String

    public init(name: String, entries: [(key: String, value: ConfigValue)], spell: @escaping (String) -> String = { $0 }) {
        self.name = name
        self.entries = entries
        self.spell = spell
    }
}

/// A setting that cannot be used as given: an unknown key, a value of the wrong type or out of
/// range. The message names the key, the source and what is allowed.
public struct ConfigError: Error, CustomStringConvertible, LocalizedError {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var errorDescription: String? { description }
}

extension TrainConfig {
    /// The setting a key or alias names, if any.
    public static func setting(named name: String) -> Setting? {
        let wanted = Setting.normalise(name)
        return settings.first { $0.key == wanted || $0.aliases.contains { Setting.normalise($0) == wanted } }
    }

    /// Builds a run's settings: `base` (default: the recipe of the preset the sources name last,
    /// else the lab's), then every source in order, later ones overriding earlier ones; then
    /// `validate()`. Unknown keys and keys given twice in one source are errors.
    public static func resolve(_ sources: [SettingSource], base: TrainConfig? = nil) throws -> TrainConfig {
        var resolved: [(Setting, ConfigValue, spelled: String, source: String)] = []
        for source in sources {
            var seen: [String: String] = [:]
            for (key, value) in source.entries {
                guard let setting = setting(named: key) else { throw unknownSetting(key, in: source) }
                if let earlier = seen[setting.key] {
                    throw ConfigError("\(source.name): \(key) is given twice (also as \(earlier)); keep one")
                }
                seen[setting.key] = key
                resolved.append((setting, value, key, source.name))
            }
        }
        var config: TrainConfig
        if let base {
            config = base
        } else {
            var probe = TrainConfig()
            for (setting, value, spelled, source) in resolved where setting.key == "preset" {
                try setting.apply(value, to: &probe, spelled: spelled, source: source)
            }
            config = probe.preset.recipe
        }
        for (setting, value, spelled, source) in resolved {
            try setting.apply(value, to: &config, spelled: spelled, source: source)
        }
        try config.validate()
        return config
    }

    /// The error for a key no setting has: it names the key and the source, suggests the nearest
    /// valid one and lists them all.
    public static func unknownSetting(_ key: String, in source: SettingSource) -> ConfigError {
        let names = settings.flatMap { [$0.key] + $0.aliases }
        let wanted = Setting.normalise(key)
        let nearest = names.map { (name: $0, distance: editDistance(Setting.normalise($0), wanted)) }.min { $0.distance < $1.distance }
        var text = "\(source.name): unknown setting \(key)"
        if let nearest, nearest.distance <= max(2, wanted.count / 3), let target = setting(named: nearest.name) {
            let spelled = source.spell(nearest.name)
            text += "; did you mean \(spelled)" + (nearest.name == target.key ? "" : " (\(source.spell(target.key)))") + "?"
        }
        return ConfigError(text + " Valid settings: " + settings.map { source.spell($0.key) }.joined(separator: ", "))
    }

    /// Levenshtein distance (insertions, deletions and substitutions of one character).
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var diagonal = row[0]
            row[0] = i
            for j in 1...b.count {
                let above = row[j]
                row[j] = min(above + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1))
                diagonal = above
            }
        }
        return row[b.count]
    }

    /// The settings a continued run may change (`train --resume`, `sweep`): its length, nothing else.
    public static let lengthKeys: Set<String> = ["epochs", "time_budget_minutes"]

    /// The settings whose values differ: "frame_dim: 16 here, 32 there".
    public static func differences(_ a: TrainConfig, _ b: TrainConfig) -> [(key: String, a: ConfigValue, b: ConfigValue)] {
        settings.compactMap { s in
            let (x, y) = (s.value(in: a), s.value(in: b))
            return x == y ? nil : (s.key, x, y)
        }
    }
}
