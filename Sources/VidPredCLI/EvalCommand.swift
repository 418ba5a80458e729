import ArgumentParser
import Foundation
import VidPred
import VidPredData
import VidPredReport

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score predictions against the real frames: per-frame PSNR and SSIM, their means, the lab's score.",
        discussion: """
            Reads the predictions `vidpred predict` wrote (RUN/predictions) and compares every sample of every video \
            that has ground truth (val videos; test videos with test/test_gt). PSNR and SSIM (Gaussian window 11, \
            sigma 1.5) use range 1 over frames 1..T-1; the lab's score is PSNR on 0-255 values over frames 1..600. \
            With K samples per video both the mean and the best of K are reported. Writes RUN/eval.json.
            """)

    @Option(name: .customLong("run"), help: "Run folder (reads RUN/predictions, writes RUN/eval.json).") var runFolder: String?
    @Option(help: "A predictions folder instead of --run.") var predictions: String?
    @Option(name: [.customLong("ckpt-path"), .customLong("ckpt_path"), .customLong("checkpoint")],
            help: "Generate from this checkpoint first (a lab .ckpt, as the lab's Trainer.py --test, or a VidPred .safetensors) with `vidpred predict`, into --predictions (default: NAME-predictions beside it), then score.")
    var checkpoint: String?
    @Option(name: [.customLong("data"), .customLong("DR")],
            help: "Dataset with the real frames (default: the one predict used, from predictions/manifest.json).") var data: String?
    @Flag(help: "Score against --data even though it is not the dataset the predictions were made from.") var allowDataChange = false
    @Option(help: "Where to write the JSON (default: RUN/eval.json, or eval.json in the predictions folder).") var out: String?
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        do { try score() } catch { throw CommandLineHint.add(to: error) }
    }

    private func score() throws {
        let layout: PredictionLayout
        switch (runFolder, predictions) {
        case (nil, _) where checkpoint != nil:
            let url = URL(fileURLWithPath: checkpoint!)
            let folder = predictions ?? url.deletingPathExtension().path + "-predictions"
            // Only videos with ground truth can be scored: test videos when test/test_gt exists.
            let testTruth = data.map { FileManager.default.fileExists(atPath: URL(fileURLWithPath: $0).appendingPathComponent("test/test_gt").path) } ?? false
            let predict = try Predict.parse(["--checkpoint", url.path, "--out", folder, "--splits", testTruth ? "val,test" : "val",
                                             "--device", runtime.device] + (runtime.threads.map { ["--threads", String($0)] } ?? [])
                                            + (data.map { ["--data", $0] } ?? []) + (allowDataChange ? ["--allow-data-change"] : []))
            try predict.run()
            print("")
            layout = PredictionLayout(root: URL(fileURLWithPath: folder))
        case (_, _) where checkpoint != nil: throw ValidationError("give either --run or --ckpt-path, not both")
        case (let run?, nil): layout = PredictionLayout(run: RunFolder(path: run))
        case (nil, let folder?): layout = PredictionLayout(root: URL(fileURLWithPath: folder))
        case (nil, nil): throw ValidationError("say what to score: --run runs/NAME, --predictions DIR or --ckpt-path FILE")
        default: throw ValidationError("give either --run or --predictions, not both")
        }
        let manifest = try PredictionManifest.read(layout.manifest)
        let requested = data.map { URL(fileURLWithPath: $0) }
        let dataRoot: URL
        if let record = manifest?.dataRecord {
            let choice = try DataChoice.resolve(requested: requested, recorded: record, allowChange: allowDataChange,
                                                owner: "the predictions in \(layout.root.path)")
            print(choice.note)
            dataRoot = choice.url
        } else {
            // Manifests of earlier versions kept only the data's path; without a manifest the user names it.
            guard let root = requested ?? manifest.map({ URL(fileURLWithPath: $0.data) }) else {
                throw ValidationError("\(layout.manifest.path) is missing: say where the real frames are with --data DIR")
            }
            print("data: \(root.path)")
            dataRoot = root
        }
        // Frames are compared at the size they were generated at.
        let size = try Self.frameSize(layout: layout, manifest: manifest)
        // Only the splits that were predicted need to be in the data.
        let splits = LabSplit.allCases.filter { split in layout.videos().contains { $0.split == split.rawValue } && split != .train }
        let dataset = try LabDataset.load(root: dataRoot, options: LabDatasetOptions(height: size.height, width: size.width,
                                                                                     splits: splits))
        let result = try EvaluationResult.evaluate(predictions: layout, dataset: dataset) { name, index, count in
            print("scoring \(name) (\(index + 1)/\(count))")
        }
        for skipped in result.skipped { print("not scored: \(skipped.video): \(skipped.reason)") }
        guard !result.videos.isEmpty else {
            throw ValidationError("no predicted video has ground truth in \(dataRoot.path): predict val videos (--splits val) or add test/test_gt")
        }
        print("")
        print(result.table(), terminator: "")
        let outURL = out.map { URL(fileURLWithPath: $0) }
            ?? (runFolder.map { RunFolder(path: $0).evaluation } ?? layout.root.appendingPathComponent("eval.json"))
        try result.writeJSON(to: outURL, predictions: layout.root, data: dataRoot)
        print("\nwrote \(outURL.path)")
    }

    /// The size of the predicted frames: from the manifest, else from the first frame on disk.
    static func frameSize(layout: PredictionLayout, manifest: PredictionManifest?) throws -> (height: Int, width: Int) {
        if let m = manifest { return (m.height, m.width) }
        guard let video = layout.videos().first else {
            throw ValidationError("\(layout.root.path) holds no predicted videos: run `vidpred predict` first")
        }
        let frames = PredictionLayout.framesFolder(in: video.samples[0])
        let first = try PNG.read(frames.appendingPathComponent(PredictionLayout.frameName(0)))
        return (first.height, first.width)
    }
}
