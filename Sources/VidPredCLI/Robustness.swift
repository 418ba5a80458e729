import ArgumentParser
import Foundation
import Torch
import VidPred
import VidPredData

/// Seeded fuzzing of every file reader: valid files mutated in the ways damage and hostile input
/// take (flipped bytes, cut files, extreme sizes, shapes and offsets in headers, wrong types in
/// settings). Each case must either be read or refused with an error; a crash ends the process,
/// which is what the tests and `vidpred bench robustness` would then report.
enum Fuzz {
    enum Reader: String, CaseIterable, ExpressibleByArgument, Sendable {
        case png, safetensors, config, metrics, dataset, ckpt
    }

    struct Result: Sendable {
        var reader: Reader
        var cases = 0
        var accepted = 0
        var refused = 0
        /// Cases whose data bytes were damaged in a file that carries a checksum, yet it loaded.
        var damagedAccepted = 0
        /// Refusals whose message does not name the file it read.
        var unnamed: [String] = []
        var slowestSeconds = 0.0
    }

    static func run(_ reader: Reader, cases: Int, seed: UInt64, in folder: URL) throws -> Result {
        var rng = SplitMix64(seed: seed &+ UInt64(Reader.allCases.firstIndex(of: reader)!) &* 7919)
        var result = Result(reader: reader)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let base = try baseInput(reader, in: folder)
        for index in 0..<cases {
            let start = Date()
            let (accepted, damaged, message, name) = try runCase(reader, base: base, index: index, rng: &rng, folder: folder)
            result.slowestSeconds = max(result.slowestSeconds, Date().timeIntervalSince(start))
            result.cases += 1
            if accepted { result.accepted += 1 } else { result.refused += 1 }
            if accepted && damaged { result.damagedAccepted += 1 }
            // A settings error may name the setting instead of the file.
            let names = [name] + (reader == .config ? TrainConfig.settings.map(\.key) : [])
            if let message, !names.contains(where: { message.contains($0) }) { result.unnamed.append(message) }
        }
        return result
    }

    // MARK: - inputs

    static func baseInput(_ reader: Reader, in folder: URL) throws -> Data {
        switch reader {
        case .png, .dataset:
            var image = RGBImage(width: 24, height: 12)
            for i in image.pixels.indices { image.pixels[i] = Float(i % 97) / 96 }
            return try PNG.encode(image)
        case .safetensors:
            let g = try RandomGenerator(seed: 1)
            return try SafeTensors.encode([("a.weight", try Tensor.randn([3, 4], generator: g)), ("b.steps", try Tensor.full([2], 7, dtype: .int64)),
                                           ("c.half", try Tensor.randn([5], generator: g).to(.bfloat16))], metadata: ["format": "pt"])
        case .config:
            return try TrainConfig().jsonData()
        case .ckpt:
            let g = try RandomGenerator(seed: 2)
            let url = folder.appendingPathComponent("base.ckpt")
            try LabCheckpoint(stateDict: [("a.weight", try Tensor.randn([3, 4], generator: g)), ("b.num_batches_tracked", try Tensor.full([], 3, dtype: .int64)),
                                          ("c.bias", try Tensor.randn([5], generator: g))], lr: 1e-3, tfr: 0.5, lastEpoch: 4).write(to: url)
            return try Data(contentsOf: url)
        case .metrics:
            // One record of each kind, as training writes them.
            return Data("""
                {"event":"log_started","schema":2,"vidpred_version":"0.13.0"}
                {"beta":0.01,"epoch":1,"event":"batch","iteration":1,"kl":10,"loss":0.5,"lr":0.001,"mse":0.4,"seconds":1.5,"teacher_forcing":true,"tfr":1}
                {"epoch":1,"event":"skipped_batch","iteration":2,"reason":"non-finite loss (nan)"}
                {"beta":0.01,"epoch":1,"event":"epoch","frames_per_second":10,"lr":0.001,"seconds":2,"skipped_batches":1,"teacher_forcing":true,"tfr":1,"train_kl":10,"train_loss":0.5,"train_mse":0.4}
                {"epoch":1,"event":"validation","psnr_per_frame":[19,21,"NaN"],"seconds":1,"val_loss":0.01,"val_psnr":20}
                {"epoch":1,"event":"checkpoint","path":"checkpoints/last.safetensors","reason":"last"}

                """.utf8)
        }
    }

    /// One case: (read without error, the damage was in checksummed data, the error's text, the name it should mention).
    private static func runCase(_ reader: Reader, base: Data, index: Int, rng: inout SplitMix64,
                                folder: URL) throws -> (Bool, Bool, String?, String) {
        let name = "case-\(index)"
        switch reader {
        case .png:
            let data = mutatePNG(base, rng: &rng)
            do { _ = try PNG.decode(data, name: name); return (true, false, nil, name) } catch { return (false, false, "\(error)", name) }
        case .safetensors:
            let (data, damaged) = mutateSafeTensors(base, rng: &rng)
            do { _ = try SafeTensors.decode(data, source: name); return (true, damaged, nil, name) } catch { return (false, damaged, "\(error)", name) }
        case .config:
            let yaml = rng.next() % 2 == 0
            var text = String(decoding: base, as: UTF8.self)
            if yaml {
                // The same settings as `key: value` lines, the form users write.
                let object = (try? JSONSerialization.jsonObject(with: base)) as? [String: Any] ?? [:]
                text = object.keys.sorted().map { "\($0): \(object[$0].map { $0 is NSNull ? "null" : "\($0)" } ?? "null")" }.joined(separator: "\n")
            }
            let url = folder.appendingPathComponent("\(name).\(yaml ? "yaml" : "json")")
            try Data(mutateText(text, rng: &rng).utf8).write(to: url)
            defer { try? FileManager.default.removeItem(at: url) }
            do {
                if yaml {
                    let file = try ConfigFile.read(url.path)
                    try TrainConfig.resolve([file.settings]).validate()
                } else {
                    try TrainConfig.read(url).validate()
                }
                return (true, false, nil, url.lastPathComponent)
            } catch { return (false, false, "\(error)", url.lastPathComponent) }
        case .metrics:
            let url = folder.appendingPathComponent("\(name).jsonl")
            var data = Data(mutateText(String(decoding: base, as: UTF8.self), rng: &rng).utf8)
            if rng.next() % 4 == 0 { data = mutateBytes(data, rng: &rng) }
            try data.write(to: url)
            defer { try? FileManager.default.removeItem(at: url) }
            // The log reader never refuses a log: it reads what it can and reports the other lines.
            do {
                let contents = try MetricsLog.read(url)
                let log = try MetricsLog(url: url)  // opening repairs a torn last line
                try log.append(line: "{\"event\":\"checkpoint\"}")
                return (contents.unreadableLines.isEmpty, false, nil, url.lastPathComponent)
            } catch { return (false, false, "\(error)", url.lastPathComponent) }
        case .ckpt:
            let (data, damaged) = mutateCheckpoint(base, rng: &rng)
            do { _ = try LabCheckpoint.decode(data, source: name); return (true, damaged, nil, name) } catch { return (false, damaged, "\(error)", name) }
        case .dataset:
            let root = folder.appendingPathComponent(name)
            try makeTinyDataset(root, frame: base)
            defer { try? FileManager.default.removeItem(at: root) }
            try damageDataset(root, frame: base, rng: &rng)
            _ = DatasetCheck.run(root: root, trainVideoLength: 4, parallel: false)
            do {
                _ = try LabDataset.load(root: root, options: LabDatasetOptions(splits: [.train, .val], trainVideoLength: 4))
                return (true, false, nil, name)
            } catch { return (false, false, "\(error)", name) }
        }
    }

    // MARK: - mutations

    /// Values that break size arithmetic: zero, one, the edges of 31, 32, 63 and 64 bits.
    private static let extremes: [Int64] = [0, 1, -1, 255, 65535, 65536, 1 << 20, Int64(Int32.max), 1 << 31, Int64(UInt32.max),
                                            1 << 40, 1 << 62, Int64.max, Int64.min]

    private static func extreme(_ rng: inout SplitMix64) -> Int64 {
        rng.next() % 3 == 0 ? Int64(rng.next() % 100_000) : extremes[Int(rng.next() % UInt64(extremes.count))]
    }

    static func mutateBytes(_ data: Data, rng: inout SplitMix64) -> Data {
        var bytes = [UInt8](data)
        guard !bytes.isEmpty else { return data }
        switch rng.next() % 4 {
        case 0:  // flip a few bytes
            for _ in 0..<(1 + Int(rng.next() % 4)) { bytes[Int(rng.next() % UInt64(bytes.count))] ^= UInt8(1 + rng.next() % 255) }
        case 1:  // cut short
            bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count))))
        case 2:  // insert junk
            let at = Int(rng.next() % UInt64(bytes.count))
            bytes.insert(contentsOf: (0..<(1 + Int(rng.next() % 16))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
        default:  // repeat a slice
            let from = Int(rng.next() % UInt64(bytes.count)), length = min(Int(rng.next() % 64), bytes.count - from)
            bytes.insert(contentsOf: bytes[from..<(from + length)], at: Int(rng.next() % UInt64(bytes.count)))
        }
        return Data(bytes)
    }

    /// PNG: generic damage, or a header field (width, height, bit depth, colour type, a chunk
    /// length) set to an extreme value with the chunk's CRC fixed so that libpng reads on.
    static func mutatePNG(_ data: Data, rng: inout SplitMix64) -> Data {
        var bytes = [UInt8](data)
        func put32(_ value: Int64, at offset: Int) {
            let v = UInt32(truncatingIfNeeded: value)
            for k in 0..<4 { bytes[offset + k] = UInt8(truncatingIfNeeded: v >> (24 - 8 * UInt32(k))) }
        }
        func fixIHDRCRC() { put32(Int64(pngCRC(bytes[12..<29])), at: 29) }
        switch rng.next() % 5 {
        case 0: put32(extreme(&rng), at: 16); put32(extreme(&rng), at: 20); fixIHDRCRC()
        case 1: bytes[24] = [1, 2, 4, 8, 16, 0, 3, 255][Int(rng.next() % 8)]; bytes[25] = [0, 2, 3, 4, 6, 1, 7, 255][Int(rng.next() % 8)]; fixIHDRCRC()
        case 2: put32(extreme(&rng), at: 33)  // the length of the chunk after IHDR
        default: return mutateBytes(data, rng: &rng)
        }
        return Data(bytes)
    }

    /// PNG's CRC-32 is zip's.
    private static func pngCRC(_ bytes: ArraySlice<UInt8>) -> UInt32 { CRC32.checksum(Array(bytes)) }

    /// A `.ckpt`: damaged bytes (flips in an entry's data must be caught by its CRC-32), or the
    /// archive rewritten with valid CRCs around a damaged pickle or a storage cut short, so the
    /// pickle interpreter and the tensor checks are what stands between the file and the model.
    static func mutateCheckpoint(_ data: Data, rng: inout SplitMix64) -> (Data, damaged: Bool) {
        guard let archive = try? ZipArchive.Reader(data, source: "base") else { return (data, false) }
        var entries = archive.names.map { (name: $0, data: archive.entry($0)!) }
        switch rng.next() % 4 {
        case 0:
            return (mutateBytes(data, rng: &rng), false)
        case 1:  // one storage's bytes flipped, the CRC left as it was
            guard let index = entries.firstIndex(where: { $0.name.hasSuffix("/data/0") }), !entries[index].data.isEmpty else { return (data, false) }
            var bytes = [UInt8](data)
            let storage = [UInt8](entries[index].data)
            guard let at = (0...(bytes.count - storage.count)).first(where: { bytes[$0..<($0 + storage.count)].elementsEqual(storage) }) else { return (data, false) }
            bytes[at + Int(rng.next() % UInt64(storage.count))] ^= UInt8(1 + rng.next() % 255)
            return (Data(bytes), true)
        case 2:  // the pickle damaged, the archive valid
            guard let index = entries.firstIndex(where: { $0.name.hasSuffix("data.pkl") }) else { return (data, false) }
            entries[index].data = mutateBytes(entries[index].data, rng: &rng)
        default:  // a storage cut short or emptied, the archive valid
            guard let index = entries.firstIndex(where: { $0.name.contains("/data/") }) else { return (data, false) }
            entries[index].data = entries[index].data.prefix(Int(rng.next() % UInt64(entries[index].data.count + 1)))
        }
        return (ZipArchive.write(entries), false)
    }

    /// safetensors: damaged data (which the checksum must catch), generic damage, a wrong header
    /// length, or a rewritten header with extreme shapes and offsets (and no checksum, so the
    /// shape and offset checks are what stands between the header and the allocator).
    static func mutateSafeTensors(_ data: Data, rng: inout SplitMix64) -> (Data, damaged: Bool) {
        let headerLength = Int(data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << UInt64(8 * $1.offset) })
        var bytes = [UInt8](data)
        switch rng.next() % 4 {
        case 0:
            let dataStart = 8 + headerLength
            guard bytes.count > dataStart else { return (data, false) }
            bytes[dataStart + Int(rng.next() % UInt64(bytes.count - dataStart))] ^= UInt8(1 + rng.next() % 255)
            return (Data(bytes), true)
        case 1:
            let length = UInt64(bitPattern: extreme(&rng))
            for k in 0..<8 { bytes[k] = UInt8(truncatingIfNeeded: length >> UInt64(8 * k)) }
            return (Data(bytes), false)
        case 2:
            let shape = (0..<(1 + Int(rng.next() % 3))).map { _ in extreme(&rng) }
            let start = extreme(&rng), end = rng.next() % 2 == 0 ? extreme(&rng) : start &+ 48
            let dtype = ["F32", "I64", "BF16", "U8", "F64", "X9"][Int(rng.next() % 6)]
            let header = "{\"w\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":[\(start),\(end)]}}"
            var out = Data()
            var length = UInt64(header.utf8.count).littleEndian
            withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
            out.append(Data(header.utf8))
            out.append(Data(count: 48))
            return (out, false)
        default:
            return (mutateBytes(data, rng: &rng), false)
        }
    }

    /// Text formats (settings, logs): values replaced by wrong types and extreme numbers, lines
    /// dropped or repeated, or generic damage.
    static func mutateText(_ text: String, rng: inout SplitMix64) -> String {
        let tokens = ["-1", "0", "1e308", "-1e308", "nan", "NaN", ".inf", "\"x\"", "[1,2]", "{}", "null", "99999999999999999999", "true",
                      "16.5", "\"\"", "[", "}", "\"\\u0000\"", "-0", "9223372036854775807", "\u{FEFF}", "é"]
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard !lines.isEmpty else { return text }
        for _ in 0..<(1 + Int(rng.next() % 3)) {
            let i = Int(rng.next() % UInt64(lines.count))
            switch rng.next() % 5 {
            case 0, 1:
                // Replace a value (after a colon) by another token.
                if let colon = lines[i].firstIndex(of: ":") {
                    let token = tokens[Int(rng.next() % UInt64(tokens.count))]
                    let rest = lines[i][lines[i].index(after: colon)...]
                    let end = rest.firstIndex(where: { $0 == "," || $0 == "}" }) ?? rest.endIndex
                    lines[i] = String(lines[i][...colon]) + " " + token + String(rest[end...])
                }
            case 2: lines.remove(at: i); if lines.isEmpty { return "" }
            case 3: lines.insert(lines[i], at: i)
            default: return String(decoding: mutateBytes(Data(lines.joined(separator: "\n").utf8), rng: &rng), as: UTF8.self)
            }
        }
        return lines.joined(separator: "\n")
    }

    /// A dataset in the lab layout: 8 training frames and a 6-frame val video, 24x12.
    private static func makeTinyDataset(_ root: URL, frame: Data) throws {
        let fm = FileManager.default
        for (images, labels, count) in [("train/train_img", "train/train_label", 8), ("val/val_img", "val/val_label", 6)] {
            for folder in [images, labels] {
                let url = root.appendingPathComponent(folder)
                try fm.createDirectory(at: url, withIntermediateDirectories: true)
                for i in 0..<count { try frame.write(to: url.appendingPathComponent("\(i).png")) }
            }
        }
    }

    /// One to three kinds of damage: a mutated frame, a missing one, a stray file, an empty file.
    private static func damageDataset(_ root: URL, frame: Data, rng: inout SplitMix64) throws {
        let folders = ["train/train_img", "train/train_label", "val/val_img", "val/val_label"]
        for _ in 0..<(1 + Int(rng.next() % 3)) {
            let folder = root.appendingPathComponent(folders[Int(rng.next() % 4)])
            let file = folder.appendingPathComponent("\(rng.next() % 8).png")
            switch rng.next() % 5 {
            case 0, 1: try mutatePNG(frame, rng: &rng).write(to: file)
            case 2: try? FileManager.default.removeItem(at: file)
            case 3: try Data("not a frame".utf8).write(to: folder.appendingPathComponent("notes.txt"))
            default: try Data().write(to: file)
            }
        }
    }
}

/// Kills training at chosen moments (SIGKILL at random times and at every point between the
/// writes of a checkpoint, SIGINT and SIGTERM), resumes each run with `train --resume` until it
/// finishes, and compares it with a run that was never interrupted: final weights byte for byte,
/// the whole metrics log (minus wall-clock times), and leftover temporary files.
struct KillCampaign {
    enum Interruption: CustomStringConvertible, Sendable {
        case killAt(FaultInjection.Point, occurrence: Int)
        /// `twice`: the signal again 50 ms later (a user pressing Ctrl-C twice).
        case signal(Int32, afterSeconds: Double, twice: Bool = false)

        var description: String {
            switch self {
            case .killAt(let point, let n): return "SIGKILL at \(point.rawValue) #\(n)"
            case .signal(let s, let t, let twice):
                return String(format: "%@%@ after %.2f s", s == SIGKILL ? "SIGKILL" : s == SIGINT ? "SIGINT" : "SIGTERM", twice ? " twice" : "", t)
            }
        }
    }

    struct Outcome: Sendable {
        var interruption: String
        /// How the interrupted process ended: "signal 9", "exit 130", or "finished" (too late to interrupt).
        var firstEnd: String
        var resumes: Int
        var resumed: Bool
        var sameWeights: Bool
        var sameLog: Bool
        var leftovers: [String]
        var problem: String?
        var ok: Bool { resumed && sameWeights && sameLog && leftovers.isEmpty && problem == nil }
    }

    /// Every moment between writes of the tiny run (3 epochs, 8 batches each): the first
    /// renames are run.json, config.json, then best's and last's pairs and epoch-0002's.
    static let everyTargetedPoint: [(FaultInjection.Point, [Int])] = [
        (.beforeRename, [1, 2, 3, 4, 5, 6, 8, 10, 12]), (.checkpointBetweenFiles, [1, 2, 3, 4, 5]),
        (.checkpointBeforeLog, [1, 2, 3]), (.batchLogged, [1, 5, 9, 17]),
    ]

    /// The targeted kills, `randomKills` SIGKILLs at random times within `duration` (the
    /// reference run's wall time), and one SIGTERM, one SIGINT and one double SIGINT.
    static func plan(randomKills: Int, seed: UInt64, duration: Double, targeted: [(FaultInjection.Point, [Int])]) -> [Interruption] {
        var rng = SplitMix64(seed: seed)
        var plan: [Interruption] = targeted.flatMap { point, occurrences in occurrences.map { Interruption.killAt(point, occurrence: $0) } }
        for _ in 0..<randomKills { plan.append(.signal(SIGKILL, afterSeconds: 0.2 + Double(rng.next() % 1000) / 1000 * duration)) }
        plan.append(.signal(SIGTERM, afterSeconds: duration * 0.4))
        plan.append(.signal(SIGINT, afterSeconds: duration * 0.6))
        plan.append(.signal(SIGINT, afterSeconds: duration * 0.5, twice: true))
        return plan
    }

    let binary: URL
    let folder: URL
    /// Settings of the tiny model every run trains: 3 epochs of 8 batches, a periodic checkpoint,
    /// and for the lab preset the teacher-forcing coin and KL annealing in play.
    var settings: [String]

    init(binary: URL, folder: URL, preset: Preset = .lab, threads: Int = 1) {
        self.binary = binary
        self.folder = folder
        let model = preset == .lab
            ? ["--frame-dim", "8", "--label-dim", "4", "--decoder-dim", "8", "--tfr", "0.5", "--tfr-sde", "1",
               "--kl-anneal-type", "cyclical", "--kl-anneal-cycle", "2"]
            : ["--preset", "pyramid", "--pyramid-frame", "8,8,8", "--pyramid-pose", "4,4,4"]
        settings = model + ["--noise-dim", "4", "--height", "16", "--width", "32", "--train-vi-len", "4", "--batch-size", "2",
                            "--epochs", "3", "--val-vi-len", "6", "--per-save", "2", "--threads", String(threads)]
    }
    var data: URL { folder.appendingPathComponent("data") }
    var reference: URL { folder.appendingPathComponent("reference") }

    /// Makes the data and the uninterrupted reference run; returns its wall time.
    func prepare() throws -> Double {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        _ = try launch(["make-data", "synthetic", "--out", data.path, "--train-frames", "64", "--val-videos", "1", "--test-videos", "1",
                        "--video-length", "8", "--height", "16", "--width", "32"]).wait()
        try? FileManager.default.removeItem(at: reference)
        let start = Date()
        let end = try launch(["train", "--data", data.path, "--out", reference.path] + settings).wait()
        guard end == "exit 0" else { throw CommandError("the reference run failed (\(end)); see \(reference.path)") }
        return Date().timeIntervalSince(start)
    }

    func run(_ interruption: Interruption, label: String) throws -> Outcome {
        let run = folder.appendingPathComponent(label)
        try? FileManager.default.removeItem(at: run)
        var environment: [String: String] = [:]
        if case .killAt(let point, let n) = interruption { environment["VIDPRED_KILL_AT"] = "\(point.rawValue):\(n)" }
        let started = Date()
        let process = try launch(["train", "--data", data.path, "--out", run.path] + settings, environment: environment)
        if case .signal(let number, let seconds, let twice) = interruption {
            if number != SIGKILL {
                // SIGINT and SIGTERM are caught once `train` runs its own code (a slow start on a
                // loaded machine must not turn the test into one of process start-up): wait for
                // the run folder's log, then for the rest of the delay.
                let log = run.appendingPathComponent("metrics.jsonl")
                while !FileManager.default.fileExists(atPath: log.path) && process.process.isRunning && Date().timeIntervalSince(started) < 120 {
                    Thread.sleep(forTimeInterval: 0.01)
                }
            }
            Thread.sleep(forTimeInterval: max(0, seconds - Date().timeIntervalSince(started)))
            kill(process.process.processIdentifier, number)
            if twice {
                // The second signal must end the process at once with the same status, not crash it.
                Thread.sleep(forTimeInterval: 0.05)
                kill(process.process.processIdentifier, number)
            }
        }
        let firstEnd = process.wait()
        var outcome = Outcome(interruption: interruption.description, firstEnd: firstEnd, resumes: 0, resumed: false, sameWeights: false,
                              sameLog: false, leftovers: [], problem: nil)
        if case .signal(let number, _, _) = interruption, number != SIGKILL, firstEnd != "exit 0", firstEnd != "exit \(128 + number)" {
            outcome.problem = "ended with \(firstEnd), expected exit \(128 + number)"
        }
        var end = firstEnd
        while end != "exit 0" && outcome.resumes < 3 {
            outcome.resumes += 1
            // Killed before it wrote its settings, the run never started: its command starts it (as the resume error says).
            let started = FileManager.default.fileExists(atPath: run.appendingPathComponent("config.json").path)
            // No --threads: a resume uses the thread count the run recorded.
            end = try launch(started ? ["train", "--resume", run.path]
                                     : ["train", "--data", data.path, "--out", run.path] + settings).wait()
        }
        outcome.resumed = end == "exit 0"
        guard outcome.resumed else { outcome.problem = outcome.problem ?? "resume ended with \(end) (\(run.path)/train.log)"; return outcome }
        outcome.sameWeights = try Self.sameWeights(reference.appendingPathComponent("checkpoints/last.safetensors"),
                                                   run.appendingPathComponent("checkpoints/last.safetensors"))
        outcome.sameLog = try Self.logRecords(reference) == Self.logRecords(run)
        outcome.leftovers = Self.temporaryFiles(in: run)
        return outcome
    }

    /// A started `vidpred` process, its output appended to `train.log` in the campaign folder.
    struct Launched {
        let process: Process
        /// "exit N" or "signal N".
        func wait() -> String {
            process.waitUntilExit()
            return process.terminationReason == .uncaughtSignal ? "signal \(process.terminationStatus)" : "exit \(process.terminationStatus)"
        }
    }

    private func launch(_ arguments: [String], environment: [String: String] = [:]) throws -> Launched {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let log = folder.appendingPathComponent("train.log")
        if !FileManager.default.fileExists(atPath: log.path) { try Data().write(to: log) }
        let handle = try FileHandle(forWritingTo: log)
        try handle.seekToEnd()
        handle.write(Data("\n$ vidpred \(arguments.joined(separator: " ")) \(environment)\n".utf8))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        try handle.close()  // the child has its own copy
        return Launched(process: process)
    }

    static func sameWeights(_ a: URL, _ b: URL) throws -> Bool {
        let x = try SafeTensors.read(a), y = try SafeTensors.read(b)
        guard x.order == y.order else { return false }
        return try x.order.allSatisfy { try x.tensors[$0]!.bytes() == y.tensors[$0]!.bytes() }
    }

    /// The log's records as JSON objects without their wall-clock fields.
    static func logRecords(_ run: URL) throws -> [NSDictionary] {
        let text = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        return text.split(separator: "\n").map { line in
            let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? ["unreadable": String(line)]
            return object.filter { !["seconds", "frames_per_second"].contains($0.key) } as NSDictionary
        }
    }

    static func temporaryFiles(in run: URL) -> [String] {
        let files = FileManager.default.enumerator(atPath: run.path)?.compactMap { $0 as? String } ?? []
        return files.filter { $0.contains(".tmp-") || $0.contains(".nosync") }
    }
}

extension Bench {
    struct Robustness: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Crash safety: kill training at random and targeted moments and resume it; fuzz every file reader.",
            discussion: """
                Kills: a tiny model trains 3 epochs into a scratch folder, uninterrupted once; then each interruption \
                (SIGKILL at random times and at every point between a checkpoint's writes, SIGINT, SIGTERM) is resumed \
                with `train --resume` and compared with it: weights byte for byte, the whole log minus wall-clock \
                times, leftover temporary files. Fuzz: --cases mutated inputs per reader; a crash ends this command.
                """)
        @Option(help: "Random SIGKILLs (plus the targeted ones and one SIGINT and one SIGTERM).") var kills = 12
        @Option(help: "Fuzzed inputs per reader.") var cases = 1000
        @Option(help: "Seed of the random kill times and mutations.") var seed: UInt64 = 1
        @Option(help: "Scratch folder (default: a new temporary folder).") var out: String?
        @Option(help: "The preset of the tiny model the killed runs train.") var preset = Preset.lab
        @Option(help: "Threads of the killed runs (their resumes use the thread count the run recorded).") var trainingThreads = 1

        func run() throws {
            let folder = out.map { URL(fileURLWithPath: $0) }
                ?? FileManager.default.temporaryDirectory.appendingPathComponent("vidpred-robustness-\(UUID().uuidString.prefix(8))")
            print("scratch folder: \(folder.path)")
            for reader in Fuzz.Reader.allCases {
                let r = try Fuzz.run(reader, cases: cases, seed: seed, in: folder.appendingPathComponent("fuzz"))
                print(String(format: "fuzz %-12@ %5d cases: %5d read, %5d %@, %d damaged files loaded, %d errors not naming the file, slowest %.3f s",
                             reader.rawValue, r.cases, r.accepted, r.refused, reader == .metrics ? "with lines reported unreadable" : "refused",
                             r.damagedAccepted, r.unnamed.count, r.slowestSeconds))
                fflush(nil)
            }
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            print("peak resident memory of the fuzzing: \(usage.ru_maxrss / 1024) MB")
            let binary = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
            let campaign = KillCampaign(binary: binary.path.hasPrefix("/") ? binary : URL(fileURLWithPath: Bundle.main.executablePath ?? "vidpred"),
                                        folder: folder.appendingPathComponent("kills"), preset: preset, threads: trainingThreads)
            let duration = try campaign.prepare()
            print(String(format: "reference run: %.1f s", duration))
            let plan = KillCampaign.plan(randomKills: kills, seed: seed, duration: duration, targeted: KillCampaign.everyTargetedPoint)
            var good = 0
            for (i, interruption) in plan.enumerated() {
                let o = try campaign.run(interruption, label: "run-\(i)")
                if o.ok { good += 1 }
                print("\(o.ok ? "ok  " : "FAIL") \(o.interruption): \(o.firstEnd), \(o.resumes) resume(s), weights \(o.sameWeights ? "identical" : "DIFFER"), log \(o.sameLog ? "identical" : "DIFFERS"), \(o.leftovers.count) leftover file(s)\(o.problem.map { "; \($0)" } ?? "")")
                fflush(nil)
            }
            print("\(good)/\(plan.count) interrupted runs resumed to the uninterrupted result")
            if good < plan.count { throw ExitCode.failure }
        }
    }
}
