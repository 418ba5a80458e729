import Foundation
import VidPred

/// `vidpred sweep`'s grid: axes such as `tfr_every=1,5` and `kl_anneal_type=None,Monotonic,Cyclical`
/// (config keys, as in config.json), every combination applied on top of one base config.
public struct SweepGrid: Sendable {
    public struct Axis: Sendable, Equatable {
        public var key: String
        public var values: [String]
    }

    /// One combination: its folder name and the config it trains with.
    public struct Point: Sendable {
        public var name: String
        public var settings: [(key: String, value: String)]
        public var config: TrainConfig
    }

    public let axes: [Axis]

    /// Parses `key=v1,v2,...` specs. Keys may be written with dashes (`tfr-every`), as on the
    /// command line; they must be keys of config.json.
    public init(_ specs: [String]) throws {
        let known = try SweepGrid.knownKeys()
        var axes: [Axis] = []
        for spec in specs {
            guard let eq = spec.firstIndex(of: "=") else {
                throw ReportError("--grid '\(spec)': write KEY=VALUE1,VALUE2 (e.g. --grid tfr_every=1,5)")
            }
            let key = spec[..<eq].trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "-", with: "_")
            let values = Self.splitValues(String(spec[spec.index(after: eq)...]))
            guard known.contains(key) else {
                throw ReportError("--grid '\(spec)': '\(key)' is not a training option; use one of: \(known.sorted().joined(separator: ", "))")
            }
            guard !values.isEmpty, !values.contains(where: \.isEmpty) else {
                throw ReportError("--grid '\(spec)': give at least one value, comma-separated, none empty")
            }
            guard !axes.contains(where: { $0.key == key }) else { throw ReportError("--grid: '\(key)' is given twice; list all its values in one --grid") }
            axes.append(Axis(key: key, values: values))
        }
        guard !axes.isEmpty else { throw ReportError("sweep needs at least one --grid KEY=V1,V2") }
        self.axes = axes
    }

    /// Every combination (the last axis varies fastest), applied to `base` and validated.
    public func points(base: TrainConfig) throws -> [Point] {
        var combos: [[(key: String, value: String)]] = [[]]
        for axis in axes {
            combos = combos.flatMap { combo in axis.values.map { combo + [(axis.key, $0)] } }
        }
        return try combos.map { settings in
            Point(name: settings.map { "\($0.key)-\(Self.safe($0.value))" }.joined(separator: "_"),
                  settings: settings, config: try Self.apply(settings, to: base))
        }
    }

    /// The config with each key set to its value. Values are typed as config.json would type them
    /// (numbers, true/false, lists like [2,5], else text), then the whole config is decoded and
    /// validated, so a bad value is reported with its key.
    public static func apply(_ settings: [(key: String, value: String)], to base: TrainConfig) throws -> TrainConfig {
        var dictionary = try configDictionary(base)
        for (key, value) in settings {
            dictionary[key] = (try? JSONSerialization.jsonObject(with: Data(value.utf8), options: [.fragmentsAllowed])) ?? value
        }
        let data = try JSONSerialization.data(withJSONObject: dictionary)
        let config: TrainConfig
        do {
            config = try JSONDecoder().decode(TrainConfig.self, from: data)
        } catch {
            let keys = settings.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
            throw ReportError("sweep point \(keys): a value has the wrong type for its option (\(error))")
        }
        do {
            try config.validate()
        } catch {
            throw ReportError("sweep point \(settings.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")): \(error)")
        }
        return config
    }

    /// Every key of config.json, including the optional ones a default config leaves out.
    static func knownKeys() throws -> Set<String> {
        var probe = TrainConfig()
        probe.windowStride = 1; probe.weightDecay = 0; probe.earlyStopPatience = 1; probe.timeBudgetMinutes = 1
        return Set(try configDictionary(probe).keys)
    }

    /// Splits at commas outside brackets, so a list value stays whole: `milestones=[2,5],[10,20]`.
    static func splitValues(_ text: String) -> [String] {
        var values: [String] = [], current = "", depth = 0
        for c in text {
            if c == "[" { depth += 1 } else if c == "]" { depth -= 1 }
            if c == "," && depth == 0 { values.append(current); current = "" } else { current.append(c) }
        }
        values.append(current)
        return values.map { $0.trimmingCharacters(in: .whitespaces) }
    }

    static func configDictionary(_ config: TrainConfig) throws -> [String: Any] {
        let data = try JSONEncoder().encode(config)
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    /// A value as part of a folder name: letters, digits, dots and dashes.
    static func safe(_ value: String) -> String {
        String(value.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "-" })
    }
}
