import Foundation
import Testing
import Torch
import VidPredData
@testable import VidPred

/// A planar (3, H, W) image mirrored left to right.
private func mirrored(_ planar: [Float], height: Int, width: Int) -> [Float] {
    var out = planar
    for c in 0..<3 {
        for y in 0..<height {
            for x in 0..<width { out[(c * height + y) * width + x] = planar[(c * height + y) * width + (width - 1 - x)] }
        }
    }
    return out
}

private func meanAbsoluteDifference(_ a: [Float], _ b: [Float]) -> Double {
    zip(a, b).reduce(0.0) { $0 + Double(abs($1.0 - $1.1)) } / Double(a.count)
}

/// A standing dancer with arms and legs apart (BODY_25, pixels of a 1024x512 frame).
private let dancer: [Keypoint] = {
    let xy: [(Double, Double)] = [(520, 90), (520, 140), (470, 145), (430, 210), (400, 270), (575, 140), (625, 200), (680, 240),
                                  (520, 280), (490, 280), (470, 370), (455, 460), (550, 280), (585, 370), (610, 455), (510, 80),
                                  (532, 80), (500, 85), (545, 85), (630, 470), (640, 468), (605, 462), (435, 472), (425, 470), (458, 465)]
    return xy.map { Keypoint(x: $0.0, y: $0.1, confidence: 1) }
}()

@Suite("Training augmentations and the label leakage measure")
struct AugmentationTests {
    /// The label of the dancer, its colours mirrored and the image flipped, is the label the
    /// renderer draws for the mirrored dancer (left and right points swapped, x mirrored); flipped
    /// without swapping the colours it is not.
    @Test func mirroredColoursGiveTheMirroredDancersLabel() throws {
        let (width, height) = (64, 32)
        let label = PoseLabel.draw(dancer, sourceWidth: 1024, sourceHeight: 512, width: width, height: height).pixels
        let mirroredDancer = Body25.mirrored.map { source in
            Keypoint(x: 1024 - dancer[source].x, y: dancer[source].y, confidence: dancer[source].confidence)
        }
        let expected = PoseLabel.draw(mirroredDancer, sourceWidth: 1024, sourceHeight: 512, width: width, height: height).pixels
        let swapped = mirrored(PoseLabel.mirroredColours(label, height: height, width: width), height: height, width: width)
        let flippedOnly = mirrored(label, height: height, width: width)
        let error = meanAbsoluteDifference(swapped, expected), control = meanAbsoluteDifference(flippedOnly, expected)
        #expect(error < control / 4, "colour-swapped error \(error) against flip-only \(control)")
        #expect(error < 0.01)
        // White stays white; a blank label is untouched.
        let blank = [Float](repeating: 1, count: 3 * width * height)
        #expect(PoseLabel.mirroredColours(blank, height: height, width: width) == blank)
    }

    @Test func changesAreSeededAndWithinTheirRanges() {
        let augmentation = Augmentation(flip: 0.5, zoom: 0.2, shift: 0.1, jitter: 0.1)
        let changes = augmentation.changes(count: 2000, seed: 7)
        #expect(changes == augmentation.changes(count: 2000, seed: 7))
        #expect(changes != augmentation.changes(count: 2000, seed: 8))
        let flips = Double(changes.filter(\.mirrored).count) / 2000
        #expect(abs(flips - 0.5) < 0.05)
        #expect(changes.allSatisfy { $0.scale >= 1 / 1.2 - 1e-9 && $0.scale <= 1.2 + 1e-9 && abs($0.dx) <= 0.1 && abs($0.dy) <= 0.1 })
        #expect(changes.allSatisfy { abs($0.brightness) <= 0.1 && abs($0.contrast - 1) <= 0.1 && abs($0.saturation - 1) <= 0.1 })
        #expect(changes.contains { $0.scale > 1.1 } && changes.contains { $0.scale < 0.9 })
        // Nothing on: every clip unchanged.
        #expect(Augmentation().changes(count: 50, seed: 7).allSatisfy { $0 == Augmentation.ClipChange() })
    }

    /// `shiftX` widens the horizontal range only, and draws the same numbers: the vertical shifts
    /// and every other change are those of the run without it, the horizontal ones scaled.
    @Test func horizontalShiftWidensOnlyTheHorizontalRange() {
        let plain = Augmentation(flip: 0.5, zoom: 0.2, shift: 0.1, jitter: 0.1)
        var across = plain
        across.shiftX = 0.4
        let (a, b) = (plain.changes(count: 2000, seed: 7), across.changes(count: 2000, seed: 7))
        #expect(b.allSatisfy { abs($0.dx) <= 0.4 && abs($0.dy) <= 0.1 })
        #expect(b.contains { abs($0.dx) > 0.3 })
        for (p, q) in zip(a, b) {
            #expect(abs(q.dx - 4 * p.dx) < 1e-12)
            var unshifted = q
            unshifted.dx = p.dx
            #expect(unshifted == p)
        }
        // Horizontal only: a run with no other change still moves its clips.
        let sideways = Augmentation(shiftX: 0.3)
        #expect(sideways.isActive && sideways.moves)
        #expect(sideways.changes(count: 200, seed: 1).allSatisfy { $0.dy == 0 && abs($0.dx) <= 0.3 })
    }

    /// The grid's conventions: a flip resamples nothing, a shift of a quarter of the width moves
    /// the picture right by a quarter with the border pixels filling in, and no change is the identity.
    @Test func movesFlipAndShiftAsTheyClaim() throws {
        let (height, width) = (4, 8)
        let values = (0..<(2 * 3 * height * width)).map { Float($0 % 97) / 97 }
        let x = try Tensor(values, shape: [2, 3, height, width])
        let augmenter = try ClipAugmenter(Augmentation(flip: 1, shift: 0.25), data: TrainingData(train: [], validation: []))
        let flipped = try augmenter.move(x, [Augmentation.ClipChange(mirrored: true), Augmentation.ClipChange()])
        let expected = try Tensor.cat([x.narrow(dim: 0, start: 0, length: 1).flipped([3]), x.narrow(dim: 0, start: 1, length: 1)], dim: 0)
        #expect(try (flipped - expected).abs().max().item() < 1e-6)
        let shifted = try augmenter.move(x, [Augmentation.ClipChange(dx: 0.25), Augmentation.ClipChange(dx: 0.25)]).floats()
        for c in 0..<6 {
            for y in 0..<height {
                for j in 0..<width {
                    let source = max(j - 2, 0)
                    #expect(abs(shifted[(c * height + y) * width + j] - values[(c * height + y) * width + source]) < 1e-5)
                }
            }
        }
    }

    /// A batch: jitter changes the frames, never the labels; a flipped clip's labels are the
    /// colour-mirrored labels, flipped.
    @Test func batchesJitterFramesOnlyAndMirrorLabelColours() throws {
        let (height, width, count) = (32, 64, 3)
        let label = PoseLabel.draw(dancer, sourceWidth: 1024, sourceHeight: 512, width: width, height: height).pixels
        let frames = (0..<(count * 3 * height * width)).map { i -> Float in Float((i * 7919) % 1000) / 1000 }
        let video = try VideoTensors(frames: frames, labels: Array((0..<count).map { _ in label }.joined()), count: count, height: height, width: width)
        let data = TrainingData(train: [video], validation: [])
        let window = [FrameWindow(video: 0, start: 0)]
        let jitter = try ClipAugmenter(Augmentation(jitter: 0.2), data: data)
        let change = Augmentation.ClipChange(brightness: 0.1, contrast: 1.2, saturation: 0.8)
        let jittered = try jitter.batch(window, changes: [change], data: data, length: 2)
        let plain = try data.batch(window, length: 2)
        #expect(try (jittered.labels - plain.labels).abs().max().item() == 0)
        #expect(try (jittered.frames - plain.frames).abs().max().item() > 0.05)
        let flip = try ClipAugmenter(Augmentation(flip: 1), data: data)
        let flipped = try flip.batch(window, changes: [Augmentation.ClipChange(mirrored: true)], data: data, length: 2)
        let expected = mirrored(PoseLabel.mirroredColours(label, height: height, width: width), height: height, width: width)
        let firstLabel = try flipped.labels.narrow(dim: 1, start: 0, length: 1).contiguous().floats()
        #expect(meanAbsoluteDifference(firstLabel, expected) < 1e-6)
    }

    /// With pose widths starting at 0 the label enters at half resolution: a change of the label
    /// that averages to zero over every 2x2 block cannot reach the output, where with full-resolution
    /// pose features it does (the path the leaked strokes took).
    @Test(arguments: [([0, 4, 4], false), ([4, 4, 4], true)])
    func fullResolutionLabelDetailReachesTheOutputOnlyThroughFullResolutionPoseFeatures(pose: [Int], reaches: Bool) throws {
        let model = try RandomGenerator.initialising(seed: 3) {
            try PyramidModel(PyramidDimensions(frame: [8, 8, 8], pose: pose, noise: 2), learnedPrior: false)
        }
        try noGrad { try model.head.weight.uniformFill(-0.5, 0.5) }  // an untrained head outputs the given frame whatever the label
        let (height, width, steps) = (8, 16, 3)
        let base = (0..<(steps * 3 * height * width)).map { i -> Float in 0.3 + 0.4 * Float((i * 37) % 101) / 101 }
        // +-0.2 in a checkerboard of single pixels: zero mean over every 2x2 block.
        let pattern = (0..<(steps * 3 * height * width)).map { i -> Float in
            let x = i % width, y = (i / width) % height
            return (x + y) % 2 == 0 ? 0.2 : -0.2
        }
        let firstPixels = (0..<(3 * height * width)).map { i -> Float in 0.2 + 0.6 * Float((i * 13) % 29) / 29 }
        let first = try Tensor(firstPixels, shape: [1, 3, height, width])
        func output(_ labels: [Float]) throws -> Tensor {
            try model.rollout(firstFrame: first, labels: Tensor(labels, shape: [1, steps, 3, height, width]), generator: RandomGenerator(seed: 5))
        }
        let difference = try (output(base) - output(zip(base, pattern).map { $0 + $1 })).abs().max().item()
        if reaches { #expect(difference > 1e-3) } else { #expect(difference < 1e-5) }
    }

    /// The measure reads an output that follows the label's colours at 20% as 0.2, one that
    /// changes in ways unrelated to them as about nothing, and one that does not change as 0.
    @Test func leakageMeasuresTheShareOfTheLabelsColoursTheOutputFollows() throws {
        let (height, width, count) = (32, 64, 4)
        let label = PoseLabel.draw(dancer, sourceWidth: 1024, sourceHeight: 512, width: width, height: height).pixels
        let rotatedLabel = LabelLeakage.rotatedColours(label, height: height, width: width)
        let plane = height * width
        #expect(Array(rotatedLabel[0..<plane]) == Array(label[plane..<(2 * plane)]), "R takes G")
        let output: [[Float]] = (0..<count).map { t in
            (0..<(3 * plane)).map { i -> Float in 0.35 + 0.1 * Float((i * 31 + t) % 17) / 17 }
        }
        let labels = Array(repeating: label, count: count)
        func measure(_ rotatedOutput: [[Float]]) -> Double {
            LabelLeakage.measure(output: output, outputWithRotatedLabels: rotatedOutput, labels: labels, height: height, width: width)
        }
        #expect(measure(output) == 0)
        let following = output.map { frame in (0..<frame.count).map { frame[$0] + 0.2 * (rotatedLabel[$0] - label[$0]) } }
        #expect(abs(measure(following) - 0.2) < 0.01)
        var rng = SplitMix64(seed: 9)
        let unrelated = output.map { $0.map { $0 + Float(rng.uniform(-0.1, 0.1)) } }
        #expect(abs(measure(unrelated)) < 0.02)
    }

    /// `dancerColumns` finds the dancer's sideways place from the label (nil for a blank one).
    /// With `reference_far 1` each clip's given frame is drawn in proportion to how far that place
    /// is from the clip's first frame's: never a frame with the dancer in the same place or with no
    /// dancer, three times as often one three times as far; 0.5 draws half of them uniformly; 0
    /// draws as before (uniformly, the same frames). Bad values and combinations are refused.
    @Test func referenceFarDrawsInProportionToTheDancersSidewaysDistance() throws {
        let (height, width) = (32, 64)
        func label(movedBy dx: Double?) -> [Float] {
            guard let dx else { return [Float](repeating: 1, count: 3 * height * width) }
            return PoseLabel.draw(dancer.map { Keypoint(x: $0.x + dx * 1024, y: $0.y, confidence: 1) },
                                  sourceWidth: 1024, sourceHeight: 512, width: width, height: height).pixels
        }
        let moves: [Double?] = [0, 0, 0.1, 0.3, nil]
        let labels = Array(moves.map(label).joined())
        let video = try VideoTensors(frames: [Float](repeating: 0.5, count: labels.count), labels: labels,
                                     count: moves.count, height: height, width: width)
        let columns = try video.dancerColumns()
        #expect(columns[4] == nil)
        let start = try #require(columns[0])
        #expect(start > 0.4 && start < 0.65, "the dancer stands near the middle: \(start)")
        let (nearer, farther) = (try #require(columns[2]), try #require(columns[3]))
        #expect(abs(nearer - start - 0.1) < 0.01 && abs(farther - start - 0.3) < 0.01, "\(columns)")
        // A video longer than one chunk of 256 frames (the pattern repeated 60 times) gives the same places.
        let long = try VideoTensors(frames: [Float](repeating: 0.5, count: 60 * labels.count), labels: Array(repeatElement(labels, count: 60).joined()),
                                    count: 60 * moves.count, height: height, width: width)
        #expect(try long.dancerColumns() == Array(repeatElement(columns, count: 60).joined()))

        let data = TrainingData(train: [video], validation: [])
        func sampler(far: Double, sampling: ReferenceSampling = .random) throws -> ReferenceSampler {
            var config = Preset.pyramid.recipe
            (config.referenceSampling, config.referenceFar) = (sampling, far)
            try config.validate()
            return try ReferenceSampler(config, data: data)
        }
        func shares(far: Double) throws -> [Double] {
            let sampler = try sampler(far: far)
            var rng = SplitMix64(seed: 5), counts = [Double](repeating: 0, count: moves.count)
            for _ in 0..<4000 { counts[sampler.index(for: FrameWindow(video: 0, start: 0), count: moves.count, rng: &rng)] += 1 }
            return counts.map { $0 / 4000 }
        }
        let far = try shares(far: 1)
        #expect(far[0] == 0 && far[1] == 0 && far[4] == 0, "\(far)")
        #expect(abs(far[3] - 0.75) < 0.03, "\(far)")
        let half = try shares(far: 0.5)  // 0.5 x uniform (0.2 each) + 0.5 x (0, 0, 0.25, 0.75, 0)
        #expect(zip(half, [0.1, 0.1, 0.225, 0.475, 0.1]).allSatisfy { abs($0 - $1) < 0.03 }, "\(half)")
        #expect(try shares(far: 0).allSatisfy { abs($0 - 0.2) < 0.03 })
        var rng = SplitMix64(seed: 9), uniform = SplitMix64(seed: 9)
        let plain = try sampler(far: 0)
        #expect((0..<50).allSatisfy { _ in plain.index(for: FrameWindow(video: 0, start: 1), count: 5, rng: &rng) == Int(uniform.next() % 5) })
        let batch = try sampler(far: 1).frames(for: [FrameWindow(video: 0, start: 0)], in: data, seed: 1)
        #expect(batch?.frames.shape == [1, 3, height, width])
        // With the frame, its label: the far one (a quarter of the draws are frame 2, the rest frame 3).
        let place = try #require(try batch.map { try VideoTensors.dancerColumns(labels: $0.labels) }?.first ?? nil)
        #expect(abs(place - nearer) < 1e-5 || abs(place - farther) < 1e-5, "\(place)")
        #expect(try sampler(far: 0, sampling: .window).frames(for: [FrameWindow(video: 0, start: 0)], in: data, seed: 1) == nil)

        #expect { try sampler(far: 1.5) } throws: { "\($0)".contains("reference_far must be in [0, 1] (got 1.5)") }
        #expect { try sampler(far: 0.5, sampling: .window) } throws: {
            "\($0)".contains("reference_far 0.5 needs reference_sampling random (got window)") && "\($0)".contains("add --reference-far 0")
        }
        // The pyramid recipe draws far given frames (0.22.0); asking it for window references names the key to change.
        #expect { try TrainConfig.resolve([SettingSource(name: "line", entries: [("preset", .text("pyramid")), ("reference_sampling", .text("window"))])]) } throws: {
            "\($0)".contains("reference_far 0.5 needs reference_sampling random") && "\($0)".contains("--reference-far 0")
        }
        let windows = try TrainConfig.resolve([SettingSource(name: "line", entries: [("preset", .text("pyramid")), ("reference_sampling", .text("window")), ("reference_far", .number(0))])])
        #expect(windows.referenceSampling == .window && windows.referenceFar == 0)
    }
}
