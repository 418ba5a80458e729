import ArgumentParser
import Foundation
import Torch
import VidPred

/// Writes a VidPred checkpoint of the lab preset as the lab's own `.ckpt`, for the lab's
/// `Tester.py --ckpt_path` (or `Trainer.py --ckpt_path` to train on in PyTorch).
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a lab-preset checkpoint as the lab's .ckpt (PyTorch's torch.save format), for the lab's Tester.py and Trainer.py.",
        discussion: """
            The file holds the template's dict: state_dict (the lab VAE_Model's keys, float32), optimizer (the state dict \
            again, as the template writes it), lr and tfr (the values for the next epoch) and last_epoch (epochs trained). \
            Only the lab preset's network is the lab's VAE_Model: pyramid checkpoints, and lab models trained with a learned \
            prior, have no counterpart there.
            """)

    @OptionGroup var model: ModelChoice
    @Option(help: "The .ckpt file to write (e.g. epoch=40.ckpt).") var ckpt: String

    func run() throws {
        do { try export() } catch { throw CommandLineHint.add(to: error) }
    }

    private func export() throws {
        let trained = try model.load()
        guard let lab = trained.model as? LabModel else {
            throw ValidationError("\(trained.checkpoint.path) is a \(trained.config.preset.rawValue) model: only lab-preset models can be exported to the lab's .ckpt")
        }
        guard !lab.hasLearnedPrior else {
            throw ValidationError("\(trained.checkpoint.path) was trained with a learned prior, which the lab's VAE_Model lacks: export a model trained with --prior standard")
        }
        let config = trained.config
        let epochs = (try? SafeTensors.readMetadata(trained.checkpoint))?["epochs_done"].flatMap { Int($0) }
        let next = epochs ?? 0
        let checkpoint = LabCheckpoint(stateDict: lab.stateDict(),
                                       lr: config.learningRateSchedule.learningRate(base: config.lr, epoch: next),
                                       tfr: config.teacherForcing.ratio(epoch: next), lastEpoch: epochs)
        let url = URL(fileURLWithPath: ckpt)
        try checkpoint.write(to: url)
        print(String(format: "wrote %@: lab model F=%d L=%d N=%d D=%d from %@, last_epoch %@, lr %g, tfr %.2f",
                     url.path, lab.dimensions.frame, lab.dimensions.label, lab.dimensions.noise, lab.dimensions.decoder,
                     trained.checkpoint.path, epochs.map(String.init) ?? "unknown", checkpoint.lr!, checkpoint.tfr!))
        print("load it in PyTorch: model.load_state_dict(torch.load('\(url.lastPathComponent)')['state_dict'])")
    }
}
