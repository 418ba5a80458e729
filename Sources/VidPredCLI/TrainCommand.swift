import ArgumentParser
import Foundation
import Torch
import VidPred
import VidPredData
import Yams

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the conditional VAE with the lab's protocol (settings and defaults are the lab's unless a preset says otherwise).",
        discussion: """
            Ctrl-C (or SIGTERM) finishes the batch, saves a checkpoint and exits with status 130 (143); continue with \
            --resume RUN, which uses the run's recorded settings and dataset and continues at the next batch, exactly \
            as if the run had not stopped (after a kill -9 too, from the last checkpoint). The run folder holds config.json, run.json (data, version, commands), metrics.jsonl and \
            checkpoints/ (docs/run-folder.md). The lab template's names work too: --DR, --save_root, --num_epoch, \
            --F_dim, --optim, --kl_anneal_type...


            """ + SettingsHelp.text)

    @Option(name: [.customLong("data"), .customLong("DR")],
            help: "Dataset in the lab layout (default: the built-in synthetic dance data in the per-user cache; with --resume: the run's recorded dataset).")
    var data: String?
    @Option(name: [.customLong("out"), .customLong("save_root")], help: "Run folder (default: runs/<date>-<time>).") var out: String?
    @Option(name: [.customLong("resume"), .customLong("ckpt_path"), .customLong("ckpt-path")],
            help: "Continue the run in this folder (or of this checkpoint in its checkpoints/) from its last checkpoint; or, given a lab .ckpt (the lab's Trainer.py --ckpt_path), start a new run (--out) from its weights, lr, tfr and epoch.")
    var resume: String?
    @Flag(help: "With --resume: train on --data even though it is not the dataset the run recorded.") var allowDataChange = false
    @OptionGroup var options: TrainOptions
    @OptionGroup var runtime: RuntimeOptions
    @OptionGroup var distributed: DistributedOptions

    func run() throws {
        if let processes = distributed.nprocPerNode, processes > 1 {
            return try launch(processes)
        }
        let placement = try JobPlacement.fromEnvironment()
        if let placement {
            if placement.rank > 0 { ProcessOutput.silenceStandardOutput() }  // rank 0 reports; errors still show
            if runtime.threads == nil, let omp = ProcessInfo.processInfo.environment["OMP_NUM_THREADS"].flatMap(Int.init), omp >= 1 {
                Runtime.threads = omp  // torchrun's share of the cores
            }
        }
        runtime.apply()
        // Installed before anything is loaded, so that a signal at any moment ends with 130/143.
        let interrupt = InterruptFlag()
        interrupt.install()
        var job: TrainingJob?
        do {
            if let placement {
                guard out != nil || resume != nil else {
                    throw CommandError("every rank of a job writes to one run folder: name it with --out (or --resume RUN); vidpred train --nproc-per-node names one itself")
                }
                job = try TrainingJob.join(placement, timeoutSeconds: distributed.timeoutSeconds)
                print("job: \(placement.worldSize) processes, \(Runtime.threads) thread(s) each, rendezvous \(placement.host):\(placement.port), timeout \(Int(distributed.timeoutSeconds)) s")
            }
            let (trainer, run) = try resume.map { path in
                let url = URL(fileURLWithPath: path)
                return LabCheckpoint.isLabCheckpoint(url) ? try started(fromLab: url, job: job) : try resumed(Self.runFolder(resuming: path), job: job)
            } ?? started(job: job)
            print("model: \(trainer.config.preset.modelSummary(trainer.config)), \(trainer.model.parameterCount) parameters; run folder: \(run.path)")
            RuntimeOptions.warnIfBFloat16IsEmulated(trainer.config.precision.usesAutocast, on: trainer.device, work: "training")
            let reason = try trainer.run(shouldStop: { interrupt.isRaised })
            print("stopped: \(reason)" + (reason == .interrupted ? "; continue with: vidpred train --resume \(run.path)" : ""))
            let best = trainer.progress
            if best.bestPSNR.isFinite {
                print(String(format: "best val PSNR %.2f dB at epoch %d: %@", best.bestPSNR, best.bestEpoch, run.bestCheckpoint.path))
            }
            if reason == .interrupted { throw interrupt.exitCode }
        } catch {
            if let job, !(error is JobError), !(error is ExitCode) { job.reportOwnFailure(error) }
            throw CommandLineHint.add(to: error)
        }
    }

    /// `--nproc-per-node N`: this command again as N ranks on this machine.
    private func launch(_ processes: Int) throws {
        guard try JobPlacement.fromEnvironment() == nil else {
            throw CommandError("--nproc-per-node starts the ranks itself; under torchrun or srun leave it out")
        }
        var arguments = DistributedOptions.removingLauncherOptions(from: Array(CommandLine.arguments.dropFirst()))
        let threads = runtime.threads ?? max(1, ProcessInfo.processInfo.activeProcessorCount / processes)
        if runtime.threads == nil { arguments += ["--threads", String(threads)] }
        if out == nil && resume == nil {
            let folder = "runs/\(Self.timestamp())"
            arguments += ["--out", folder]
        }
        let launcher = LocalLauncher(processes: processes, port: distributed.masterPort, threadsPerProcess: threads,
                                     timeoutSeconds: distributed.timeoutSeconds, executable: ProcessOutput.executable, arguments: arguments)
        let endings = try launcher.run(log: { print("[launcher] \($0)"); fflush(nil) })
        guard let failed = endings.first(where: { $0.exitCode != 0 }) else { return }
        let summary = endings.sorted { $0.rank < $1.rank }.map(\.description).joined(separator: "; ")
        if endings.allSatisfy({ [128 + SIGINT, 128 + SIGTERM].contains($0.exitCode) }) {
            print("[launcher] every rank stopped and rank 0 saved a checkpoint: continue with vidpred train --resume RUN (any number of ranks)")
        } else {
            FileHandle.standardError.write(Data("[launcher] the job failed: \(summary)\n".utf8))
        }
        throw ExitCode(failed.exitCode)
    }

    /// A new run: the settings from the preset, --config and the command line; the dataset named,
    /// else the built-in one.
    private func started(job: TrainingJob?) throws -> (Trainer, RunFolder) {
        let resolved = try options.resolve()
        let run = RunFolder(path: out ?? resolved.out ?? "runs/\(Self.timestamp())")
        let root: URL
        if let path = data ?? resolved.data {
            root = URL(fileURLWithPath: path)
            print("data: \(root.path)")
        } else {
            root = try Self.builtInData(resolved.config, job: job)
            print("data: the built-in synthetic dance dataset, \(root.path)")
        }
        return (try trainer(resolved.config, data: DataRecord.of(root), run: run, resume: false, job: job), run)
    }

    /// A new run continuing a lab checkpoint as the lab's `Trainer.py --ckpt_path` does: its
    /// weights (and so F, L, N, D), its lr with the template's scheduler started afresh (the
    /// multistep milestones count from the checkpoint's epoch), its tfr decaying from there by the
    /// schedule's steps, and the epoch count, so KL annealing continues where it was.
    private func started(fromLab url: URL, job: TrainingJob?) throws -> (Trainer, RunFolder) {
        let resolved = try options.resolve()
        guard let folder = out ?? resolved.out else {
            throw CommandError("training from the lab checkpoint \(url.path) starts a new run: name its folder with --out (--save_root)")
        }
        let checkpoint = try LabCheckpoint.read(url)
        var config = resolved.config
        guard config.preset == .lab else { throw CommandError("\(url.path) is a checkpoint of the lab's model: train it with --preset lab") }
        let dims = try checkpoint.dimensions(source: url)
        let explicit = try options.commandLineSource().entries.compactMap { TrainConfig.setting(named: $0.key)?.key }
        for (key, value, own) in [("frame_dim", config.frameDim, dims.frame), ("label_dim", config.labelDim, dims.label),
                                  ("noise_dim", config.noiseDim, dims.noise), ("decoder_dim", config.decoderDim, dims.decoder)]
        where explicit.contains(key) && value != own {
            throw CommandError("--\(key) \(value) does not match \(url.lastPathComponent), whose weights have \(own): leave it out")
        }
        config.frameDim = dims.frame; config.labelDim = dims.label; config.noiseDim = dims.noise; config.decoderDim = dims.decoder
        let epochs = checkpoint.lastEpoch ?? 0
        if let lr = checkpoint.lr { config.lr = lr }
        if config.lrSchedule == .multistep { config.milestones = config.milestones.map { $0 + epochs } }
        if let tfr = checkpoint.tfr {
            config.tfr = tfr
            config.tfrSde = max(config.tfrSde, epochs + 1)
        }
        guard epochs < config.epochs else {
            throw CommandError("\(url.lastPathComponent) has trained \(epochs) epochs, and this run has --num_epoch \(config.epochs): ask for more epochs")
        }
        print(String(format: "from %@: F=%d L=%d N=%d D=%d, %d epochs done, lr %g, tfr %.2f", url.path, dims.frame, dims.label, dims.noise,
                     dims.decoder, epochs, config.lr, config.tfr))
        let run = RunFolder(path: folder)
        let root: URL
        if let path = data ?? resolved.data {
            root = URL(fileURLWithPath: path)
        } else {
            root = try Self.builtInData(config, job: job)
        }
        print("data: \(root.path)")
        let start = Trainer.Start(weights: checkpoint.weights, epochsDone: epochs)
        return (try trainer(config, data: DataRecord.of(root), run: run, resume: false, start: start, job: job), run)
    }

    /// A resumed run: its recorded settings (only the run's length may change) and its recorded
    /// dataset (or the one named, when it is the same or the change is allowed).
    private func resumed(_ run: RunFolder, job: TrainingJob?) throws -> (Trainer, RunFolder) {
        guard options.config == nil else {
            throw CommandError("--config cannot be combined with --resume: a resumed run keeps its settings (\(run.config.path))")
        }
        let saved = try run.readConfig()
        let changes = try options.commandLineSource()
        if let other = changes.entries.first(where: { TrainConfig.setting(named: $0.key).map { !TrainConfig.lengthKeys.contains($0.key) } ?? true }) {
            throw CommandError("\(other.key) cannot change when a run is resumed: it keeps the settings in \(run.config.path); only --epochs and --time-budget-minutes can change")
        }
        let config = try TrainConfig.resolve([changes], base: saved)
        for (key, before, after) in TrainConfig.differences(saved, config) { print("\(key): \(before) -> \(after)") }
        let manifest = try run.readManifest()
        let choice = try DataChoice.resolve(requested: data.map { URL(fileURLWithPath: $0) }, recorded: manifest?.data,
                                            allowChange: allowDataChange, owner: "the run \(run.path)")
        print(choice.note)
        if runtime.threads == nil, let recorded = manifest?.sessions.last?.threads, recorded != Runtime.threads {
            Runtime.threads = recorded
            print("threads: \(recorded), as the run recorded, so that it continues bit for bit (--threads N changes it)")
        }
        return (try trainer(config, data: choice.record, run: run, resume: true, job: job), run)
    }

    /// The built-in dataset; in a job rank 0 makes it (once, into the cache) while the others wait.
    static func builtInData(_ config: TrainConfig, job: TrainingJob?) throws -> URL {
        if let job, !job.isLeader { _ = try job.decision("built-in data", during: "rank 0's preparation of the built-in data") }
        let root = try BuiltInData.prepare(height: config.height, width: config.width, log: { print($0) })
        if let job, job.isLeader { try job.announce("built-in data", root.path) }
        return root
    }

    private func trainer(_ config: TrainConfig, data: DataRecord, run: RunFolder, resume: Bool, start: Trainer.Start? = nil,
                         job: TrainingJob?) throws -> Trainer {
        let trainingData = try TrainingData.load(data, config: config)
        print("train: \(trainingData.trainFrameCount) frames in \(trainingData.train.count) video(s); val: \(trainingData.validation.map(\.count)) frames")
        return try Trainer(config: config, data: trainingData, run: run, resume: resume, start: start,
                           device: try runtime.prepareDevice(localRank: job?.placement.localRank), job: job,
                           onEvent: TrainingProgress().handle)
    }

    /// The run folder `--resume` names: the folder itself, or one of its checkpoints (the lab's
    /// --ckpt_path names a checkpoint file).
    static func runFolder(resuming path: String) throws -> RunFolder {
        let url = URL(fileURLWithPath: path)
        guard url.pathExtension == "safetensors" else { return RunFolder(url) }
        let run = RunFolder(url.deletingLastPathComponent().deletingLastPathComponent())
        guard url.standardizedFileURL == run.lastCheckpoint.standardizedFileURL else {
            throw CommandError("--resume continues a run from its last checkpoint (\(run.lastCheckpoint.path)); \(url.lastPathComponent) is another one. To start from it, copy the run folder and its checkpoint to last.*")
        }
        return run
    }

    static func timestamp() -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss"
        return f.string(from: Date())
    }
}

/// The training settings of `train` and `sweep`: the preset's recipe, then a `--config` file, then
/// `--KEY VALUE` on the command line. Every setting of `TrainConfig.settings` is accepted, under
/// its key with dashes or underscores or the lab's name for it; `vidpred train --help` lists them.
struct TrainOptions: ParsableArguments {
    @Option(help: "A YAML or JSON file of settings: the keys of config.json, or the lab's argument names.") var config: String?
    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("Training settings as --KEY VALUE (listed above).", valueName: "settings"))
    var settings: [String] = []

    /// What the options resolve to: the settings, and where the file says the data and the run go.
    struct Resolved {
        var config: TrainConfig
        var data: String?
        var out: String?
    }

    func resolve(base: TrainConfig? = nil) throws -> Resolved {
        var sources: [SettingSource] = []
        var file: ConfigFile?
        if let config {
            file = try ConfigFile.read(config)
            sources.append(file!.settings)
        }
        sources.append(try commandLineSource())
        return Resolved(config: try TrainConfig.resolve(sources, base: base), data: file?.data, out: file?.out)
    }

    /// The `--KEY VALUE` settings. A true/false setting alone means true (`--shuffle`), `--no-KEY`
    /// false; `--KEY=VALUE` works for any.
    func commandLineSource() throws -> SettingSource {
        var entries: [(key: String, value: ConfigValue)] = []
        var i = 0
        while i < settings.count {
            let token = settings[i]
            i += 1
            guard token.hasPrefix("-"), token.count > 1 else {
                throw ValidationError("unexpected argument '\(token)': settings are written --KEY VALUE (vidpred train --help lists them)")
            }
            var name = token, inline: String?
            if let eq = token.firstIndex(of: "=") {
                name = String(token[..<eq])
                inline = String(token[token.index(after: eq)...])
            }
            try LabArguments.check(name)
            if let setting = TrainConfig.setting(named: name) {
                if let inline {
                    entries.append((name, .text(inline)))
                } else if setting.isSwitch {
                    let next = i < settings.count ? (try? Bool(configValue: .text(settings[i]))) : nil
                    if next != nil { i += 1 }
                    entries.append((name, .bool(next ?? true)))
                } else {
                    guard i < settings.count else { throw ValidationError("\(name) needs a value: \(setting.expected)") }
                    entries.append((name, .text(settings[i])))
                    i += 1
                }
            } else if name.hasPrefix("--no-"), let setting = TrainConfig.setting(named: String(name.dropFirst(5))), setting.isSwitch, inline == nil {
                entries.append(("--" + name.dropFirst(5), .bool(false)))
            } else {
                throw TrainConfig.unknownSetting(name, in: Self.source(entries))
            }
        }
        return Self.source(entries)
    }

    static func source(_ entries: [(key: String, value: ConfigValue)]) -> SettingSource {
        SettingSource(name: "the command line", entries: entries, spell: { "--" + $0.replacingOccurrences(of: "_", with: "-") })
    }
}

/// The lab template's arguments that VidPred has no setting for, and why.
enum LabArguments {
    static let withoutSetting: [String: String] = [
        "num_workers": "VidPred decodes the whole dataset into memory once; there are no loader workers",
        "gpu": "the lab's template never used it",
        "device": "the device is not a setting of the run: give the command --device cpu, cuda, cuda:N or auto",
        "test": "to validate a trained run use `vidpred predict --run RUN --splits val` and `vidpred eval --run RUN`",
        "store_visualization": "`vidpred predict` writes GIFs and contact sheets of every video",
    ]

    static func check(_ name: String) throws {
        if let why = withoutSetting[Setting.normalise(name)] { throw CommandError("\(name) is an argument of the lab's template that VidPred does not take: \(why)") }
    }
}

/// A `--config` file: YAML or JSON with the keys of config.json (or the lab's names), plus where
/// the data and the run folder are (`data`/`DR`, `out`/`save_root`).
struct ConfigFile {
    var settings: SettingSource
    var data: String?
    var out: String?

    static func read(_ path: String) throws -> ConfigFile {
        guard let text = try? String(contentsOf: URL(fileURLWithPath: path), encoding: .utf8) else {
            throw CommandError("cannot read the config file \(path): check the path")
        }
        let values: [String: ConfigValue]
        do {
            values = try YAMLDecoder().decode([String: ConfigValue].self, from: text)  // JSON is YAML too
        } catch {
            throw CommandError("\(path) is not a YAML or JSON mapping of settings (\(error)); write one `key: value` per line, e.g. tfr_sde: 10")
        }
        var file = ConfigFile(settings: SettingSource(name: path, entries: []), data: nil, out: nil)
        for (key, value) in values.sorted(by: { $0.key < $1.key }) {
            try LabArguments.check(key)
            switch Setting.normalise(key) {
            case "data", "dr": file.data = value.description
            case "out", "save_root": file.out = value.description
            default: file.settings.entries.append((key, value))
            }
        }
        return file
    }
}

/// `vidpred train --help`'s list of settings, made from `TrainConfig.settings`: each with its
/// value, the lab's name for it and the default of each preset.
enum SettingsHelp {
    static let text: String = {
        var lines = ["SETTINGS (--KEY VALUE; in --config files and config.json: key: value)"]
        for section in Setting.Section.allCases {
            lines.append("")
            lines.append("  \(section.rawValue):")
            for setting in TrainConfig.settings where setting.section == section {
                let flag = "--" + setting.key.replacingOccurrences(of: "_", with: "-")
                let aliases = setting.aliases.map { "--" + $0 }
                lines.append("  " + ([flag] + aliases).joined(separator: ", ") + " " + (setting.isSwitch ? "[true|false]" : setting.placeholder))
                // The preset picks the recipe: each preset's own default.
                let defaults = setting.key == "preset" ? [(Preset.lab, ConfigValue.text("lab"))] : Preset.allCases.map { ($0, setting.value(in: $0.recipe)) }
                let shown = Set(defaults.map { typed($0.1) }).count == 1
                    ? "Default: \(typed(defaults[0].1))."
                    : "Default: " + defaults.map { "\(typed($0.1)) (\($0.0.rawValue))" }.joined(separator: ", ") + "."
                lines += wrap(setting.help + " " + shown, indent: 6, width: 79)
            }
        }
        return lines.joined(separator: "\n")
    }()

    /// A value as it is typed on the command line: `none`, `2,5`.
    static func typed(_ value: ConfigValue) -> String {
        switch value {
        case .list(let items): return items.map(\.description).joined(separator: ",")
        default: return value.description
        }
    }

    static func wrap(_ text: String, indent: Int, width: Int) -> [String] {
        var lines: [String] = [], line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty && indent + line.count + 1 + word.count > width {
                lines.append(String(repeating: " ", count: indent) + line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty { lines.append(String(repeating: " ", count: indent) + line) }
        return lines
    }
}

/// A command that cannot go on, said in the command line's terms (unlike ValidationError, no usage text follows).
struct CommandError: Error, CustomStringConvertible, LocalizedError {
    let description: String
    init(_ description: String) { self.description = description }
    var errorDescription: String? { description }
}

/// Library errors say what is wrong in the library's terms; this adds the flag that fixes it.
enum CommandLineHint {
    static func add(to error: Error) -> Error {
        guard let run = error as? RunError else { return error }
        switch run.kind {
        case .dataNotRecorded: return CommandError(run.description + " with --data DIR")
        case .dataChanged: return CommandError(run.description + " (--allow-data-change uses it anyway)")
        case .runExists: return CommandError(run.description + " (--resume RUN continues it; --out names another folder)")
        case .noCheckpoint, .other: return error
        }
    }
}
