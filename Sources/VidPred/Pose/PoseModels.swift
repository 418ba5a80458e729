import Foundation

/// Where the pose models are: `--models DIR`, else `VIDPRED_MODELS`, else the `.deps/models` that
/// scripts/setup.sh fills in the checkout this binary was built in (.build/<config>/vidpred).
public enum PoseModels {
    public static func folder(explicit: String? = nil) throws -> URL {
        if let explicit { return URL(fileURLWithPath: explicit) }
        if let env = ProcessInfo.processInfo.environment["VIDPRED_MODELS"], !env.isEmpty { return URL(fileURLWithPath: env) }
        let executable = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        var folder = executable.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = folder.appendingPathComponent(".deps/models")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent(BlazePose.detectorFile).path) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        throw ConfigError("the pose models (\(BlazePose.detectorFile), \(BlazePose.landmarkFile)) were not found: run scripts/setup.sh in the checkout, or name their folder with --models DIR or VIDPRED_MODELS")
    }
}
