import Foundation
import VidPred

/// `vidpred sweep`'s grid: axes such as `tfr_every=1,5` and `kl_anneal_type=None,Monotonic,Cyclical`
/// (training settings, written as in config files or with dashes), every combination applied on
/// top of one base config.
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

    /// Parses `key=v1,v2,...` specs; each key must name a training setting (its config key, a
    /// lab alias, or either with dashes), and is kept as the setting's config key.
    public init(_ specs: [String]) throws {
        var axes: [Axis] = []
        for spec in specs {
            guard let eq = spec.firstIndex(of: "=") else {
                throw ReportError("grid axis '\(spec)': write KEY=VALUE1,VALUE2 (e.g. tfr_every=1,5)")
            }
            let name = spec[..<eq].trimmingCharacters(in: .whitespaces)
            guard let setting = TrainConfig.setting(named: name) else {
                throw ReportError("grid axis '\(spec)': '\(name)' is not a training setting; use one of: \(TrainConfig.settings.map(\.key).joined(separator: ", "))")
            }
            let values = Self.splitValues(String(spec[spec.index(after: eq)...]))
            guard !values.isEmpty, !values.contains(where: \.isEmpty) else {
                throw ReportError("grid axis '\(spec)': give at least one value, comma-separated, none empty")
            }
            guard !axes.contains(where: { $0.key == setting.key }) else {
                throw ReportError("grid: '\(setting.key)' is given twice; list all its values in one axis")
            }
            axes.append(Axis(key: setting.key, values: values))
        }
        guard !axes.isEmpty else { throw ReportError("a sweep needs at least one grid axis KEY=V1,V2") }
        self.axes = axes
    }

    /// Every combination (the last axis varies fastest), applied to `base` and validated.
    public func points(base: TrainConfig) throws -> [Point] {
        var combos: [[(key: String, value: String)]] = [[]]
        for axis in axes {
            combos = combos.flatMap { combo in axis.values.map { combo + [(axis.key, $0)] } }
        }
        return try combos.map { settings in
            let name = settings.map { "\($0.key)-\(Self.safe($0.value))" }.joined(separator: "_")
            let source = SettingSource(name: "grid point \(name)", entries: settings.map { ($0.key, ConfigValue.text($0.value)) })
            do {
                return Point(name: name, settings: settings, config: try TrainConfig.resolve([source], base: base))
            } catch let error as ConfigError {
                throw ReportError(error.description)
            }
        }
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

    /// A value as part of a folder name: letters, digits, dots and dashes.
    static func safe(_ value: String) -> String {
        String(value.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "-" })
    }
}
