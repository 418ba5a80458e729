import Foundation
import Testing
import Torch
@testable import VidPred

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

private func maxDiff(_ a: Tensor, _ b: Tensor) throws -> Float {
    let x = try a.floats(), y = try b.floats()
    return zip(x, y).map { Swift.abs($0 - $1) }.max() ?? 0
}

/// The lab's model against PyTorch (reference/lab_model.py; fixtures by reference/make_model_fixtures.py).
@Suite struct LabModelTests {
    @Test func labPresetHasTheLabsParametersNameByName() throws {
        let model = try LabModel(.lab)
        #expect(model.parameterCount == 1_585_620)
        let listing = try String(contentsOf: repositoryRoot.appendingPathComponent("reference/lab_state_dict.txt"), encoding: .utf8)
        let expected = listing.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line -> (String, String) in
            let fields = line.split(separator: "\t")
            return (String(fields[0]), String(fields[1]))
        }
        let ours = model.stateDict().map { ($0.0, $0.1.shape.map(String.init).joined(separator: "x")) }
        #expect(ours.count == expected.count)
        for (a, b) in zip(ours, expected) {
            #expect(a.0 == b.0, "name \(a.0) vs PyTorch's \(b.0)")
            #expect(a.1 == b.1 || (a.1.isEmpty && b.1 == "scalar") || (a.1.isEmpty && b.1.isEmpty), "\(a.0): shape \(a.1) vs \(b.1)")
        }
    }

    @Test func tooSmallDimensionsAreAClearError() throws {
        #expect(throws: ConfigError.self) { try LabModel(ModelDimensions(frame: 4, label: 8, noise: 4, decoder: 24)) }
    }

    private func fixture() throws -> [String: Tensor] {
        try SafeTensors.read(repositoryRoot.appendingPathComponent("Tests/VidPredTests/Fixtures/lab_step.safetensors")).tensors
    }

    private func smallModel(_ f: [String: Tensor]) throws -> LabModel {
        let model = try LabModel(ModelDimensions(frame: 16, label: 8, noise: 4, decoder: 24))
        var weights: [String: Tensor] = [:]
        for (name, t) in f where name.hasPrefix("weights.") { weights[String(name.dropFirst(8))] = t }
        try model.load(stateDict: weights)
        return model
    }

    @Test func initialWeightsMatchPyTorchForTheSameSeed() throws {
        // The fixture's weights are PyTorch's default initialisation right after torch.manual_seed(0).
        let f = try fixture()
        let model = try RandomGenerator.initialising(seed: 0) { try LabModel(ModelDimensions(frame: 16, label: 8, noise: 4, decoder: 24)) }
        for (name, t) in model.stateDict() {
            let expected = try #require(f["weights." + name], "\(name) missing from the fixture")
            #expect(try maxDiff(t, expected) < 1e-7, "\(name)")
        }
    }

    @Test func oneStepMatchesPyTorchInTrainAndEvalMode() throws {
        let f = try fixture()
        let model = try smallModel(f)
        let prev = try #require(f["in.prev_frame"]), frame = try #require(f["in.frame"])
        let label = try #require(f["in.label"]), eps = try #require(f["in.eps"])
        func run() throws -> (Posterior, Tensor) {
            let labelFeature = try model.encodeLabel(label)
            let posterior = try model.posterior(frameFeature: model.encodeFrame(frame), labelFeature: labelFeature)
            let z = try posterior.sample(noise: eps)
            return (posterior, try model.decode(previousFeature: model.encodeFrame(prev), labelFeature: labelFeature, z: z))
        }
        let (posterior, xHat) = try run()
        #expect(try maxDiff(posterior.mu, #require(f["out.mu"])) < 1e-5)
        #expect(try maxDiff(posterior.logvar, #require(f["out.logvar"])) < 1e-5)
        #expect(try maxDiff(xHat, #require(f["out.x_hat"])) < 1e-5)
        #expect(try Swift.abs(posterior.klToStandardNormal().float() - #require(f["out.kl"]).float()) < 1e-3)
        #expect(try maxDiff(Functional.mseLoss(xHat, frame), #require(f["out.mse"])) < 1e-6)
        let state = Dictionary(uniqueKeysWithValues: model.stateDict())
        #expect(try maxDiff(#require(state["label_transformation.2.running_mean"]),
                            #require(f["out.state.label_transformation.2.running_mean"])) < 1e-6)
        model.eval()
        let (evalPosterior, evalXHat) = try run()
        #expect(try maxDiff(evalPosterior.mu, #require(f["out_eval.mu"])) < 1e-5)
        #expect(try maxDiff(evalXHat, #require(f["out_eval.x_hat"])) < 1e-5)
    }

    @Test func trainingStepMatchesPyTorch() throws {
        let f = try fixture()
        let model = try smallModel(f)
        let frames = try #require(f["train.frames"]), labels = try #require(f["train.labels"])
        let eps = try #require(f["train.eps"])
        let loss = try model.sequenceLoss(frames: frames, labels: labels, teacherForcing: true, beta: 0.5,
                                          noise: { t in try eps.select(dim: 0, index: t - 1) })
        #expect(try Swift.abs(loss.total.float() - #require(f["train.loss"]).float()) < 1e-4)
        #expect(try Swift.abs(loss.mse.float() - #require(f["train.mse"]).float()) < 1e-5)
        #expect(try Swift.abs(loss.kl.float() - #require(f["train.kl"]).float()) < 1e-3)
        let optimizer = try Optimizer(.adam, parameters: model.parameters, learningRate: 1e-3)
        try loss.total.backward()
        let params = Dictionary(uniqueKeysWithValues: model.namedParameters())
        var checked = 0
        for (name, expected) in f where name.hasPrefix("train.grad.") {
            let param = try #require(params[String(name.dropFirst(11))], "no parameter \(name)")
            let diff = try maxDiff(#require(param.grad), expected)
            let scale = try expected.abs().max().float()
            #expect(diff <= 1e-4 * Swift.max(1, scale), "\(name): max difference \(diff)")
            checked += 1
        }
        #expect(checked >= 20)
        let norm = try clipGradNorm(model.parameters, maxNorm: 1)
        #expect(try Swift.abs(norm - #require(f["train.grad_norm"]).item()) / norm < 1e-4)
        try optimizer.step()
        for (name, expected) in f where name.hasPrefix("train.after.") {
            let param = try #require(params[String(name.dropFirst(12))])
            #expect(try maxDiff(param, expected) < 1e-5, "\(name) after the Adam step")
        }
    }
}

@Suite struct ScheduleTests {
    @Test func teacherForcingDecaysFromTheDecayStartAndFloorsAtZero() {
        let lab = TeacherForcingSchedule()  // 1.0, sde 10, step 0.1, every epoch
        let values = (0..<25).map { lab.ratio(epoch: $0) }
        print("tfr (lab, every epoch):", values.map { String(format: "%.1f", $0) }.joined(separator: " "))
        #expect(values[0...9].allSatisfy { $0 == 1.0 })
        #expect(Swift.abs(values[10] - 0.9) < 1e-9 && Swift.abs(values[15] - 0.4) < 1e-9)
        #expect(values[19...].allSatisfy { Swift.abs($0) < 1e-9 })
        let every5 = TeacherForcingSchedule(every: 5)
        let s5 = (0..<41).map { every5.ratio(epoch: $0) }
        print("tfr (strategy every 5):", s5.map { String(format: "%.1f", $0) }.joined(separator: " "))
        #expect(Swift.abs(s5[10] - 0.9) < 1e-9 && Swift.abs(s5[14] - 0.9) < 1e-9 && Swift.abs(s5[15] - 0.8) < 1e-9)
        let every10 = TeacherForcingSchedule(every: 10)
        #expect(Swift.abs(every10.ratio(epoch: 19) - 0.9) < 1e-9 && Swift.abs(every10.ratio(epoch: 20) - 0.8) < 1e-9)
    }

    @Test func cyclicalAnnealingOverSeventyEpochsWithTenCycles() {
        let kl = KLAnnealing(kind: .cyclical, cycles: 10, ratio: 1, epochs: 70)
        let values = (0..<70).map { kl.beta(epoch: $0) }
        print("beta (cyclical, 70 epochs, 10 cycles):", values.map { String(format: "%.2f", $0) }.joined(separator: " "))
        for cycle in 0..<10 {
            #expect(values[cycle * 7] == 0, "each cycle starts at 0")
            for i in 0..<7 { #expect(Swift.abs(values[cycle * 7 + i] - Double(i) / 7) < 1e-9) }
        }
    }

    @Test func cyclicalWithRatioHalfHoldsAtStop() {
        let kl = KLAnnealing(kind: .cyclical, cycles: 4, ratio: 0.5, epochs: 40)
        let v = (0..<40).map { kl.beta(epoch: $0) }
        #expect(v[0] == 0 && Swift.abs(v[2] - 0.4) < 1e-9 && v[5] == 1 && v[9] == 1 && v[10] == 0)
    }

    @Test func monotonicAndNone() {
        let mono = KLAnnealing(kind: .monotonic, ratio: 1, epochs: 70)
        #expect(mono.beta(epoch: 0) == 0 && Swift.abs(mono.beta(epoch: 35) - 0.5) < 1e-9)
        let monoHalf = KLAnnealing(kind: .monotonic, ratio: 0.5, epochs: 20)
        #expect(Swift.abs(monoHalf.beta(epoch: 9) - 0.9) < 1e-9 && Swift.abs(monoHalf.beta(epoch: 10) - 1) < 1e-9 && monoHalf.beta(epoch: 19) == 1)
        #expect(KLAnnealing(kind: .none).beta(epoch: 3) == 1)
        #expect(mono.beta(epoch: 500) == mono.beta(epoch: 69), "beyond the plan the last value holds")
    }
}
