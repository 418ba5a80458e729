import Foundation

/// The built-in synthetic dance dataset: made on first use into one per-user cache folder (XDG's
/// `$XDG_CACHE_HOME/vidpred`, else `~/.cache/vidpred`), one folder per frame size, and reused by
/// every later command from any folder. Deleting it is safe: it is made again, identical.
public enum BuiltInData {
    /// The per-user cache folder of VidPred.
    public static func cacheFolder(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") {
            return URL(fileURLWithPath: xdg).appendingPathComponent("vidpred")
        }
        let home = environment["HOME"].map { URL(fileURLWithPath: $0) } ?? FileManager.default.homeDirectoryForCurrentUser
        return home.appendingPathComponent(".cache/vidpred")
    }

    /// Folder names carry the generator's version: a dataset of an earlier version stays where it
    /// is (runs that used it can still find it) and the current one is made beside it.
    static let prefix = "synthetic-dance-v\(SyntheticDance.generatorVersion)-"

    /// Where the dataset of this frame size lives.
    public static func folder(height: Int, width: Int, environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        cacheFolder(environment: environment).appendingPathComponent("\(prefix)\(height)x\(width)")
    }

    /// The dataset's folder, generated first when missing; `log` gets a line when it is made.
    public static func prepare(height: Int, width: Int, environment: [String: String] = ProcessInfo.processInfo.environment,
                               log: (String) -> Void = { _ in }) throws -> URL {
        var options = SyntheticDanceOptions()
        options.height = height
        options.width = width
        let folder = self.folder(height: height, width: width, environment: environment)
        let start = Date()
        let result = try SyntheticDance.generate(options, to: folder)
        if !result.reused {
            log(String(format: "made the built-in synthetic dance dataset (first use): %d frames in %.1f s into %@",
                       result.frameCount, Date().timeIntervalSince(start), folder.path))
        }
        return folder
    }

    /// Makes the built-in dataset again when `url` is its (deleted) folder; false for other folders.
    public static func remakeIfBuiltIn(_ url: URL, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Bool {
        let name = url.lastPathComponent
        guard url.deletingLastPathComponent().standardizedFileURL.path == cacheFolder(environment: environment).standardizedFileURL.path,
              name.hasPrefix(prefix) else { return false }
        let size = name.dropFirst(prefix.count).split(separator: "x").compactMap { Int($0) }
        guard size.count == 2 else { return false }
        _ = try prepare(height: size[0], width: size[1], environment: environment)
        return true
    }
}
