import Foundation
import Testing
import Torch
@testable import VidPred

/// The batched training and generation paths against the lab's frame-by-frame computation, and
/// the pyramid preset's properties.
@Suite(.serialized) struct FastPathTests {
    private let tiny = ModelDimensions(frame: 16, label: 8, noise: 4, decoder: 24)

    private func clips(batch: Int = 2, length: Int = 5, height: Int = 8, width: Int = 16, seed: UInt64 = 4) throws -> (Tensor, Tensor) {
        let g = try RandomGenerator(seed: seed)
        return (try Tensor.rand([batch, length, 3, height, width], generator: g), try Tensor.rand([batch, length, 3, height, width], generator: g))
    }

    /// Fixed noise per step, so both paths use the same eps.
    private func fixedNoise(batch: Int, noise: Int, height: Int, width: Int, steps: Int) throws -> [Tensor] {
        let g = try RandomGenerator(seed: 11)
        return try (0...steps).map { _ in try Tensor.randn([batch, noise, height, width], generator: g) }
    }

    private func maxDifference(_ a: Tensor, _ b: Tensor) throws -> Double { try (a - b).abs().max().item() }

    /// The training MSE of each of `steps` Adam steps (lr 3e-3, no teacher forcing, fixed noise).
    private func mseOverAdamSteps(_ model: some VideoModel, frames: Tensor, labels: Tensor, steps: Int = 30) throws -> [Double] {
        model.train()
        let optimizer = try Optimizer(.adam, parameters: model.parameters, learningRate: 3e-3)
        var losses: [Double] = []
        for _ in 0..<steps {
            try optimizer.zeroGrad()
            let loss = try model.sequenceLoss(frames: frames, labels: labels, teacherForcing: false, beta: 1e-3,
                                              generator: RandomGenerator(seed: 2))
            try loss.total.backward()
            try optimizer.step()
            losses.append(try loss.mse.item())
        }
        return losses
    }

    private func gradients(_ model: Module, of loss: Tensor) throws -> [Tensor] {
        for p in model.parameters { try p.clearGrad() }
        try loss.backward()
        return try model.parameters.map { try #require($0.grad).clone() }
    }

    private func runningStatistics(_ model: Module) throws -> [Tensor] {
        try model.stateDict().filter { $0.0.contains("running_") }.map { try $0.1.clone() }
    }

    private func restore(_ model: Module, _ stats: [Tensor]) throws {
        for ((_, t), saved) in zip(model.stateDict().filter { $0.0.contains("running_") }, stats) { try t.copyIn(saved) }
    }

    @Test func groupedBatchNormEqualsSeparateCalls() throws {
        let bn = try BatchNorm2d(3)
        let g = try RandomGenerator(seed: 2)
        let x = try Tensor.rand([6, 3, 4, 5], generator: g) * 3
        let grouped = try bn.forward(x, groups: 3)
        let groupedStats = try runningStatistics(bn)
        try restore(bn, [try Tensor.zeros([3]), try Tensor.ones([3])])
        let separate = try Tensor.cat((0..<3).map { try bn(x.narrow(dim: 0, start: 2 * $0, length: 2)) }, dim: 0)
        #expect(try maxDifference(grouped, separate) < 1e-5)
        for (a, b) in zip(groupedStats, try runningStatistics(bn)) { #expect(try maxDifference(a, b) < 1e-6) }
    }

    @Test(arguments: [(true, false), (false, false), (true, true), (false, true)])
    func labFastLossEqualsFrameByFrame(teacherForcing: Bool, learnedPrior: Bool) throws {
        let model = try RandomGenerator.initialising(seed: 5) { try LabModel(tiny, learnedPrior: learnedPrior) }
        let (frames, labels) = try clips()
        let noise = try fixedNoise(batch: 2, noise: 4, height: 8, width: 16, steps: 4)
        let before = try runningStatistics(model)
        let fast = try model.sequenceLoss(frames: frames, labels: labels, teacherForcing: teacherForcing, beta: 0.3, noise: { noise[$0] })
        let fastGrads = try gradients(model, of: fast.total)
        let fastStats = try runningStatistics(model)
        try restore(model, before)
        let slow = try model.sequenceLossFrameByFrame(frames: frames, labels: labels, teacherForcing: teacherForcing, beta: 0.3,
                                                      noise: { noise[$0] })
        let slowGrads = try gradients(model, of: slow.total)
        let (a, b) = (try fast.total.item(), try slow.total.item())
        #expect(abs(a - b) <= 1e-5 * max(1, abs(b)), "loss \(a) vs \(b)")
        #expect(abs(try fast.mse.item() - slow.mse.item()) < 1e-6)
        for (name, (g1, g2)) in zip(model.namedParameters().map(\.0), zip(fastGrads, slowGrads)) {
            let scale = max(1e-3, try g2.abs().max().item())
            // Absolute slack for gradients that are zero in exact arithmetic (a conv bias right
            // before BatchNorm gets float noise of ~1e-6 on both paths).
            let difference = try maxDifference(g1, g2)
            #expect(difference < 1e-4 * scale + 1e-5, "gradient of \(name): difference \(difference), scale \(scale)")
        }
        for (s1, s2) in zip(fastStats, try runningStatistics(model)) { #expect(try maxDifference(s1, s2) < 1e-5) }
        for (p1, p2) in zip(fast.predictions, slow.predictions) { #expect(try maxDifference(p1, p2) < 1e-5) }
    }

    @Test func labGenerateEqualsTheFrameByFrameRollout() throws {
        let model = try RandomGenerator.initialising(seed: 6) { try LabModel(tiny) }
        model.eval()
        let (frames, labels) = try clips(batch: 3, length: 40)  // more frames than one label chunk
        let first = try frames.select(dim: 1, index: 0)
        let fast = try model.rollout(firstFrame: first, labels: labels, generator: RandomGenerator(seed: 8))
        let slow = try model.rolloutFrameByFrame(firstFrame: first, labels: labels, generator: RandomGenerator(seed: 8))
        #expect(fast.shape == [3, 40, 3, 8, 16])
        #expect(try maxDifference(fast, slow) < 1e-5)
    }

    @Test func channelsLastGenerationEqualsNCHW() throws {
        let model = try RandomGenerator.initialising(seed: 6) { try LabModel(tiny) }
        model.eval()
        let (frames, labels) = try clips(batch: 2, length: 6)
        let first = try frames.select(dim: 1, index: 0)
        let nchw = try model.rollout(firstFrame: first, labels: labels, generator: RandomGenerator(seed: 8))
        try model.convertToChannelsLast()
        // The decoder's input follows the features' layout (z is drawn NCHW).
        let features = try model.encodeFrame(first)
        #expect(features.isChannelsLast)
        let channelsLast = try model.rollout(firstFrame: first, labels: labels, generator: RandomGenerator(seed: 8))
        #expect(try maxDifference(nchw, channelsLast) < 1e-5)
    }

    @Test func rolloutRowsAreIndependentVideos() throws {
        let models: [any VideoModel] = try RandomGenerator.initialising(seed: 7) {
            [try LabModel(tiny), try PyramidModel(PyramidDimensions(frame: [8, 8, 16], pose: [4, 4, 8], noise: 4))]
        }
        for model in models {
            model.eval()
            let (frames, labels) = try clips(batch: 2, length: 6)
            let first = try frames.select(dim: 1, index: 0)
            // Zero noise: each row's video must not depend on the other row.
            let zero = try Tensor.zeros(model.noiseShape(batch: 2, height: 8, width: 16))
            let both = try model.generate(firstFrame: first, labels: labels, latent: .standardNormal, noise: { _ in zero }, onFrame: { _ in })
            let zeroOne = try Tensor.zeros(model.noiseShape(batch: 1, height: 8, width: 16))
            let second = try model.generate(firstFrame: first.narrow(dim: 0, start: 1, length: 1), labels: labels.narrow(dim: 0, start: 1, length: 1),
                                            latent: .standardNormal, noise: { _ in zeroOne }, onFrame: { _ in })
            #expect(try maxDifference(both.narrow(dim: 0, start: 1, length: 1), second) < 1e-5, "\(model.preset)")
        }
    }

    @Test func untrainedPyramidRepeatsTheGivenFrameAndLearns() throws {
        let model = try RandomGenerator.initialising(seed: 8) { try PyramidModel(PyramidDimensions(frame: [8, 8, 16], pose: [4, 4, 8], noise: 4), learnedPrior: true) }
        let (_, labels) = try clips(length: 4)
        let frames = try labels.clamped(0.05, 0.95)  // a learnable task: each frame shows its pose image
        let first = try frames.select(dim: 1, index: 0)
        model.eval()
        let video = try model.rollout(firstFrame: first, labels: labels, generator: RandomGenerator(seed: 1), latent: .priorMean)
        // The head starts at zero: x̂_t = sigmoid(logit(x_0)) = x_0.
        #expect(try maxDifference(video.select(dim: 1, index: 3), first) < 1e-5)
        let losses = try mseOverAdamSteps(model, frames: frames, labels: labels)
        #expect(losses.last! < losses.first! * 0.9, "pyramid mse \(losses.first!) -> \(losses.last!)")
        // A reference frame from elsewhere is accepted and changes the loss.
        let other = try Tensor.rand([2, 3, 8, 16], generator: RandomGenerator(seed: 5))
        let withReference = try model.sequenceLoss(frames: frames, labels: labels, teacherForcing: true, beta: 0,
                                                   generator: nil, noise: { _ in try Tensor.zeros([2, 4, 2, 4]) },
                                                   reference: ReferenceFrames(frames: other, labels: labels.select(dim: 1, index: 0)))
        let withOwn = try model.sequenceLoss(frames: frames, labels: labels, teacherForcing: true, beta: 0,
                                             generator: nil, noise: { _ in try Tensor.zeros([2, 4, 2, 4]) }, reference: nil)
        #expect(try withReference.total.item() != withOwn.total.item())
    }

    /// `residual composite`: x̂ = m * x_0 + (1 - m) * sigmoid(g). Untrained, m = sigmoid(3) and g = 0;
    /// it learns; and where the mask is closed no pixel of the given frame reaches the output,
    /// which a residual of the given frame cannot do (its strokes: issue 19).
    @Test func compositeStartsNearTheGivenFrameLearnsAndItsClosedMaskDropsTheGivenPixels() throws {
        let dimensions = PyramidDimensions(frame: [8, 8, 16], pose: [4, 4, 8], noise: 4, residual: .composite)
        let model = try RandomGenerator.initialising(seed: 8) { try PyramidModel(dimensions, learnedPrior: true) }
        let (_, labels) = try clips(length: 4)
        let frames = try labels.clamped(0.05, 0.95)
        let first = try frames.select(dim: 1, index: 0)
        model.eval()
        let video = try model.rollout(firstFrame: first, labels: labels, generator: RandomGenerator(seed: 1), latent: .priorMean)
        let m = 1 / (1 + exp(-PyramidModel.initialMaskLogit))
        #expect(try maxDifference(video.select(dim: 1, index: 3), first * m + (1 - m) * 0.5) < 1e-5)

        let losses = try mseOverAdamSteps(model, frames: frames, labels: labels)
        #expect(losses.last! < losses.first! * 0.9, "composite mse \(losses.first!) -> \(losses.last!)")

        // The same decoder inputs with two different given frames' pixels (features unchanged).
        model.eval()
        func outputs(_ model: PyramidModel) throws -> (Tensor, Tensor) {
            let features = try model.encodeFrames(first)
            let pose = try model.encodePoses(labels.select(dim: 1, index: 1), steps: 1)
            let z = try Tensor.zeros(model.noiseShape(batch: 2, height: 8, width: 16))
            func decode(_ pixels: Tensor) throws -> Tensor {
                try model.decode(previousFrame: first, previous: features, given: GivenFrame(pixels: pixels, features: features), pose: pose, z: z)
            }
            return (try decode(first), try decode(first.rsub(1)))
        }
        let (opened, openedOther) = try outputs(model)
        #expect(try maxDifference(opened, openedOther) > 1e-2)
        try noGrad { try model.head.bias!.narrow(dim: 0, start: 3, length: 1).fill(-40) }
        let (closed, closedOther) = try outputs(model)
        #expect(try maxDifference(closed, closedOther) < 1e-6)
        // A residual of the given frame carries its pixels whatever the head says.
        let residual = try RandomGenerator.initialising(seed: 8) { try PyramidModel(PyramidDimensions(frame: [8, 8, 16], pose: [4, 4, 8], noise: 4)) }
        residual.eval()
        try noGrad { try residual.head.bias!.fill(-5) }
        let (a, b) = try outputs(residual)
        #expect(try maxDifference(a, b) > 1e-3)
    }

    /// `previous_frame given`: each step is predicted from the given frame, its pose and z alone.
    /// A rollout's frame t then does not depend on the poses before t (with the model's own
    /// predictions as previous frames it does), and the clip loss is the same with and without
    /// teacher forcing (nothing depends on a prediction); the model learns.
    @Test func previousFrameGivenPredictsEveryStepFromTheGivenFrameAlone() throws {
        func model(_ previous: PreviousFrame) throws -> PyramidModel {
            let dimensions = PyramidDimensions(frame: [8, 8, 16], pose: [4, 4, 8], noise: 4, previousFrame: previous)
            let model = try RandomGenerator.initialising(seed: 9) { try PyramidModel(dimensions, learnedPrior: true) }
            // A head that is not zero, so the output depends on the features.
            try noGrad { try model.head.weight.copyIn(Tensor.randn(model.head.weight.shape, generator: RandomGenerator(seed: 3)) * 2) }
            return model
        }
        let (frames, labels) = try clips(length: 5)
        let first = try frames.select(dim: 1, index: 0)
        // The same videos with step 2's pose changed.
        let otherPose = try Tensor.rand([2, 1, 3, 8, 16], generator: RandomGenerator(seed: 6))
        let changed = try Tensor.cat([labels.narrow(dim: 1, start: 0, length: 2), otherPose, labels.narrow(dim: 1, start: 3, length: 2)], dim: 1)
        func stepDifference(_ model: PyramidModel, step: Int) throws -> Double {
            model.eval()
            let a = try model.rollout(firstFrame: first, labels: labels, latent: .priorMean)
            let b = try model.rollout(firstFrame: first, labels: changed, latent: .priorMean)
            return try maxDifference(a.select(dim: 1, index: step), b.select(dim: 1, index: step))
        }
        let given = try model(.given), predicted = try model(.predicted)
        #expect(try stepDifference(given, step: 2) > 1e-3)  // the changed pose's own frame changes
        #expect(try stepDifference(given, step: 3) < 1e-6)
        #expect(try stepDifference(predicted, step: 3) > 1e-3)

        func loss(_ model: PyramidModel, teacherForcing: Bool) throws -> Double {
            model.train()
            return try model.sequenceLoss(frames: frames, labels: labels, teacherForcing: teacherForcing, beta: 1e-3,
                                          generator: RandomGenerator(seed: 2)).total.item()
        }
        #expect(abs(try loss(given, teacherForcing: true) - loss(given, teacherForcing: false)) < 1e-6)
        #expect(abs(try loss(predicted, teacherForcing: true) - loss(predicted, teacherForcing: false)) > 1e-5)

        let learnable = try labels.clamped(0.05, 0.95)  // each frame shows its pose image
        let losses = try mseOverAdamSteps(given, frames: learnable, labels: labels)
        #expect(losses.last! < losses.first! * 0.9, "previous_frame given mse \(losses.first!) -> \(losses.last!)")
    }

    /// `given_attention`: at the lowest scales the decoder looks the given frame's features up by
    /// content. A convolution reaches a few cells around, so without it a change of the given
    /// frame's features at the left edge cannot reach the output's right edge; with it, it does.
    /// The attention's softmax matches exp / sum in float32, and the model learns.
    @Test func givenAttentionCarriesTheGivenFrameAcrossTheWholeFrame() throws {
        let logits = try Tensor([0.5, -1, 2, 3, 0, -2], shape: [2, 3]).to(.bfloat16)
        let exact = try logits.to(.float32).exp()
        #expect(try maxDifference(logits.softmax(dim: 1), exact / exact.sum(dims: [1], keepDims: true)) < 1e-6)
        #expect(try logits.softmax(dim: 1).dtype == .float32)

        func model(_ attention: Int) throws -> PyramidModel {
            let dimensions = PyramidDimensions(frame: [8, 8, 16], pose: [4, 4, 8], noise: 4, previousFrame: .given, givenAttention: attention)
            let model = try RandomGenerator.initialising(seed: 9) { try PyramidModel(dimensions, learnedPrior: true) }
            try noGrad { try model.head.weight.copyIn(Tensor.randn(model.head.weight.shape, generator: RandomGenerator(seed: 3)) * 2) }
            model.eval()
            return model
        }
        // 8x64 frames: the lowest scale is 2x16, a convolution's reach there is a few of its 16 columns.
        let g = try RandomGenerator(seed: 5)
        let first = try Tensor.rand([1, 3, 8, 64], generator: g), pose = try Tensor.rand([1, 3, 8, 64], generator: g)
        func rightEdgeChange(_ model: PyramidModel) throws -> Double {
            let features = try model.encodeFrames(first)
            var moved = features
            let low = features.scales[2]
            moved.scales[2] = try Tensor.cat([low.narrow(dim: 3, start: 0, length: 2) + 1, low.narrow(dim: 3, start: 2, length: 14)], dim: 3)
            let poseFeatures = try model.encodePoses(pose, steps: 1)
            let z = try Tensor.zeros(model.noiseShape(batch: 1, height: 8, width: 64))
            func decode(_ given: FeatureMaps) throws -> Tensor {
                try model.decode(previousFrame: first, previous: features, given: GivenFrame(pixels: first, features: given), pose: poseFeatures, z: z)
                    .narrow(dim: 3, start: 48, length: 16)
            }
            return try maxDifference(decode(features), decode(moved))
        }
        let without = try model(0), with = try model(1)
        #expect(try rightEdgeChange(without) == 0)
        #expect(try rightEdgeChange(with) > 1e-4)
        #expect(with.stateDict().contains { $0.0 == "attentions.0.query.weight" } && !without.stateDict().contains { $0.0.hasPrefix("attentions") })

        let (_, labels) = try clips(length: 4)
        let losses = try mseOverAdamSteps(try model(2), frames: try labels.clamped(0.05, 0.95), labels: labels)
        #expect(losses.last! < losses.first! * 0.9, "given_attention 2 mse \(losses.first!) -> \(losses.last!)")
        #expect(throws: ConfigError.self) { try PyramidModel(PyramidDimensions(frame: [8, 8, 16], pose: [0, 0, 8], noise: 4, givenAttention: 2)) }
        // Without the given frame's features as a decoder input, attention still reaches them.
        let attendingOnly = try RandomGenerator.initialising(seed: 9) {
            try PyramidModel(PyramidDimensions(frame: [8, 8, 16], pose: [4, 4, 8], noise: 4, reference: false, previousFrame: .given, givenAttention: 1))
        }
        try noGrad { try attendingOnly.head.weight.copyIn(Tensor.randn(attendingOnly.head.weight.shape, generator: RandomGenerator(seed: 3)) * 2) }
        attendingOnly.eval()
        #expect(try rightEdgeChange(attendingOnly) > 1e-4)
    }

    /// `align_given`: each step's decoder takes the given frame's features moved sideways by how far
    /// its pose puts the dancer from where the given frame's label has them. Whole-cell moves are
    /// exact, what moves in repeats the border, an unknown place (a blank label) moves nothing. With
    /// the dancer where the given frame has them the model decodes exactly as the same weights
    /// without it; elsewhere it does not; training uses the reference frame's label; it learns,
    /// and it needs `previous_frame given`.
    @Test func alignGivenMovesTheGivenFramesFeaturesToWhereThePosePutsTheDancer() throws {
        let ramp = try Tensor((0..<24).map { Float($0 % 8) }, shape: [3, 1, 1, 8])
        let moved = try PyramidModel.movedSideways(ramp, by: Tensor([0.25, -0.25, .nan]))
        #expect(try moved.select(dim: 0, index: 0).floats() == [0, 0, 0, 1, 2, 3, 4, 5], "2 of 8 columns right, column 0 repeated")
        #expect(try moved.select(dim: 0, index: 1).floats() == [2, 3, 4, 5, 6, 7, 7, 7])
        #expect(try moved.select(dim: 0, index: 2).floats() == (0..<8).map(Float.init))

        func model(align: Bool) throws -> PyramidModel {
            let dimensions = PyramidDimensions(frame: [8, 8, 16], pose: [4, 4, 8], noise: 4, previousFrame: .given, alignGiven: align)
            let model = try RandomGenerator.initialising(seed: 9) { try PyramidModel(dimensions, learnedPrior: true) }
            try noGrad { try model.head.weight.copyIn(Tensor.randn(model.head.weight.shape, generator: RandomGenerator(seed: 3)) * 2) }
            model.eval()
            return model
        }
        /// A pose label (3, 8, 16): white, with a dark bar at `column`.
        func bar(_ column: Int) throws -> Tensor {
            try Tensor((0..<3 * 8 * 16).map { $0 % 16 == column ? 0.2 : 1 }, shape: [3, 8, 16])
        }
        let aligned = try model(align: true), plain = try model(align: false)
        #expect(aligned.stateDict().map(\.0) == plain.stateDict().map(\.0), "no weights of its own")
        let first = try Tensor.rand([1, 3, 8, 16], generator: RandomGenerator(seed: 5))
        let labels = try Tensor.stack([bar(4), bar(4), bar(12), Tensor.ones([3, 8, 16])], dim: 0).reshaped([1, 4, 3, 8, 16])
        let (a, p) = (try aligned.rollout(firstFrame: first, labels: labels, latent: .priorMean), try plain.rollout(firstFrame: first, labels: labels, latent: .priorMean))
        #expect(try maxDifference(a.select(dim: 1, index: 1), p.select(dim: 1, index: 1)) < 1e-5, "the dancer where the given frame has them")
        #expect(try maxDifference(a.select(dim: 1, index: 2), p.select(dim: 1, index: 2)) > 1e-3, "half the width away")
        #expect(try maxDifference(a.select(dim: 1, index: 3), p.select(dim: 1, index: 3)) < 1e-5, "a blank label: not moved")

        // Training with another frame as the given one reads that frame's label.
        let (frames, clipLabels) = try clips(batch: 1, length: 3)
        func loss(referenceBar column: Int) throws -> Double {
            try aligned.sequenceLoss(frames: frames, labels: clipLabels, teacherForcing: false, beta: 0, generator: nil,
                                     noise: { _ in try Tensor.zeros([1, 4, 2, 4]) },
                                     reference: ReferenceFrames(frames: first, labels: bar(column).reshaped([1, 3, 8, 16]))).total.item()
        }
        #expect(try loss(referenceBar: 2) != loss(referenceBar: 13))

        let (_, trainLabels) = try clips(length: 4)
        let losses = try mseOverAdamSteps(try model(align: true), frames: try trainLabels.clamped(0.05, 0.95), labels: trainLabels)
        #expect(losses.last! < losses.first! * 0.9, "align_given mse \(losses.first!) -> \(losses.last!)")
        #expect { try PyramidModel(PyramidDimensions(frame: [8, 8, 16], pose: [4, 4, 8], noise: 4, alignGiven: true)) } throws: {
            "\($0)".contains("align_given true needs previous_frame given") && "\($0)".contains("--align-given false")
        }
    }

    /// `align_flow`: a learned flow moves the given frame's features further than `align_given`'s
    /// sideways shift, place by place. A flow moves like a shift of the same size along x and y,
    /// is resized to each scale, and adds to the shift; before training (its last layer zero) the
    /// model decodes exactly as `align_given` with the same weights; the flow learns from the
    /// loss (the gradient reaches it through grid_sample); it needs `align_given`.
    @Test func alignFlowMovesEachPlaceOfTheGivenFramesFeatures() throws {
        let ramp = try Tensor((0..<16).map { Float($0 % 8) }, shape: [2, 1, 1, 8])
        // x: 0.5 of grid_sample's [-1, 1] (2 of 8 columns), y: 0; given at half the width (resized).
        let right = try Tensor([Float](repeating: 0.5, count: 4) + [Float](repeating: 0, count: 4), shape: [1, 2, 1, 4]).expanded([2, 2, 1, 4])
        let flowed = try PyramidModel.movedSideways(ramp, by: Tensor([0, 0.125]), flow: right)
        #expect(try flowed.select(dim: 0, index: 0).floats() == [0, 0, 0, 1, 2, 3, 4, 5], "the flow alone: 2 columns right")
        #expect(try flowed.select(dim: 0, index: 1).floats() == [0, 0, 0, 0, 1, 2, 3, 4], "flow and shift add")
        let rows = try Tensor((0..<8).map { Float($0 / 2) }, shape: [1, 1, 4, 2])
        let down = try Tensor([0, 0, 0, 0, 0.5, 0.5, 0.5, 0.5], shape: [1, 2, 2, 2])  // y: a quarter of the height, one of 4 rows
        #expect(try PyramidModel.movedSideways(rows, by: Tensor([0]), flow: down).floats() == [0, 0, 0, 0, 1, 1, 2, 2], "one row down")

        func model(flow: Bool) throws -> PyramidModel {
            let dimensions = PyramidDimensions(frame: [8, 8, 16], pose: [4, 4, 8], noise: 4, previousFrame: .given, alignGiven: true, alignFlow: flow)
            let model = try RandomGenerator.initialising(seed: 9) { try PyramidModel(dimensions, learnedPrior: true) }
            try noGrad { try model.head.weight.copyIn(Tensor.randn(model.head.weight.shape, generator: RandomGenerator(seed: 3)) * 2) }
            model.eval()
            return model
        }
        let flowing = try model(flow: true), shifting = try model(flow: false)
        let first = try Tensor.rand([1, 3, 8, 16], generator: RandomGenerator(seed: 5))
        let (_, labels) = try clips(batch: 1, length: 4)
        let (a, s) = (try flowing.rollout(firstFrame: first, labels: labels, latent: .priorMean), try shifting.rollout(firstFrame: first, labels: labels, latent: .priorMean))
        #expect(try maxDifference(a, s) < 1e-5, "an untrained flow moves nothing beyond the shift")
        let flowOut = try #require(flowing.flowNet?.layers.last as? Conv2d)
        try noGrad { try flowOut.bias!.copyIn(Tensor([10, -8])) }
        #expect(try maxDifference(flowing.rollout(firstFrame: first, labels: labels, latent: .priorMean), s) > 1e-3, "a flow moves them")
        // However large the net's output, the flow stays within its bound.
        try noGrad { try flowOut.bias!.copyIn(Tensor([1e4, -1e4])) }
        let poses = try flowing.encodePoses(labels.select(dim: 1, index: 2), steps: 1)
        let given = try flowing.givenFrame(pixels: first, features: flowing.encodeFrames(first), label: labels.select(dim: 1, index: 0))
        let bounded = try #require(try flowing.alignmentFlow(given: given, pose: poses))
        #expect(try bounded.narrow(dim: 1, start: 0, length: 1).floats().allSatisfy { abs($0 - Float(PyramidModel.maximumFlow)) < 1e-6 })
        #expect(try bounded.narrow(dim: 1, start: 1, length: 1).floats().allSatisfy { abs($0 + Float(PyramidModel.maximumFlow)) < 1e-6 })

        let (_, trainLabels) = try clips(length: 4)
        let trained = try model(flow: true)
        let losses = try mseOverAdamSteps(trained, frames: try trainLabels.clamped(0.05, 0.95), labels: trainLabels)
        #expect(losses.last! < losses.first! * 0.9, "align_flow mse \(losses.first!) -> \(losses.last!)")
        let learned = try #require(trained.flowNet?.layers.last as? Conv2d)
        #expect(try learned.weight.abs().max().item() > 1e-4, "the flow's last layer left zero")
        #expect { try PyramidModel(PyramidDimensions(frame: [8, 8, 16], pose: [4, 4, 8], noise: 4, previousFrame: .given, alignFlow: true)) } throws: {
            "\($0)".contains("align_flow true needs align_given true") && "\($0)".contains("--align-flow false")
        }
    }

    /// One scale per width: four widths put z at 1/8 of the frame, and the frame sides must then
    /// be divisible by 8.
    @Test func pyramidDepthFollowsTheNumberOfWidths() throws {
        let dimensions = PyramidDimensions(frame: [4, 8, 8, 16], pose: [4, 4, 8, 8], noise: 4)
        let model = try RandomGenerator.initialising(seed: 9) { try PyramidModel(dimensions) }
        #expect(model.noiseShape(batch: 2, height: 8, width: 16) == [2, 4, 1, 2])
        let (_, labels) = try clips(length: 4)
        let first = try labels.select(dim: 1, index: 0).clamped(0.05, 0.95)
        model.eval()
        let video = try model.rollout(firstFrame: first, labels: labels, generator: RandomGenerator(seed: 1))
        #expect(video.shape == [2, 4, 3, 8, 16])
        #expect(try maxDifference(video.select(dim: 1, index: 3), first) < 1e-5)  // zero head: the given frame
        #expect(throws: ConfigError.self) { try model.checkFrameSize(height: 12, width: 16) }
        var config = TrainConfig()
        config.preset = .pyramid
        config.pyramidFrame = [16, 32, 64, 128]
        config.pyramidPose = [8, 16, 32]
        let mismatch = #expect(throws: ConfigError.self) { try config.validate() }
        #expect(mismatch?.description.contains("pyramid_pose [8, 16, 32]") == true, "\(String(describing: mismatch))")
        config.pyramidPose = [8, 16, 32, 64]
        (config.height, config.width) = (36, 64)
        let size = #expect(throws: ConfigError.self) { try config.validate() }
        #expect(size?.description.contains("divisible by 8") == true, "\(String(describing: size))")
    }

    @Test func pyramidPresetHasAtMostAQuarterOfTheLabFLOPsPerFrame() throws {
        let pyramid = try Preset.pyramid.recipe.makeModel(), lab = try LabModel(.lab)
        pyramid.eval(); lab.eval()
        let g = try RandomGenerator(seed: 1)
        let first = try Tensor.rand([1, 3, 32, 64], generator: g), labels = try Tensor.rand([1, 3, 3, 32, 64], generator: g)
        let labFlops = try FlopCounter.count { _ = try lab.rollout(firstFrame: first, labels: labels, generator: g) }
        let pyramidFlops = try FlopCounter.count { _ = try pyramid.rollout(firstFrame: first, labels: labels, generator: g) }
        print(String(format: "conv GFLOP per generated frame: lab %.3f, pyramid %.3f (%.1f%%)", labFlops / 2e9, pyramidFlops / 2e9, pyramidFlops / labFlops * 100))
        // The lab's network: 3.2 G multiply-adds per generated frame (two frames generated here).
        #expect(labFlops / 2 > 6.2e9 && labFlops / 2 < 6.6e9, "lab: \(labFlops / 2) FLOPs per frame")
        #expect(pyramidFlops <= labFlops / 4)
    }

    @Test(.enabled(if: Runtime.cpuHasBFloat16, "this CPU has no AVX512-BF16/AMX"))
    func bf16TrainingStaysCloseToFloat32() throws {
        let (frames, labels) = try clips(batch: 2, length: 5, height: 16, width: 32)
        // Both runs start from the same weights, copied rather than re-drawn from the global
        // generator, which tests in other suites (running in parallel) also draw from.
        let initial = Dictionary(uniqueKeysWithValues: try RandomGenerator.initialising(seed: 9) { try LabModel(tiny) }.stateDict())
        func train(bf16: Bool) throws -> [Double] {
            let model = try LabModel(tiny)
            try model.load(stateDict: initial)
            if bf16 { try model.convertToChannelsLast() }
            let optimizer = try Optimizer(.adam, parameters: model.parameters, learningRate: 1e-3)
            var losses: [Double] = []
            for step in 0..<8 {
                try optimizer.zeroGrad()
                let noise = try fixedNoise(batch: 2, noise: 4, height: 16, width: 32, steps: 4)
                let loss = try autocast(enabled: bf16) {
                    try model.sequenceLoss(frames: frames, labels: labels, teacherForcing: step % 2 == 0, beta: 1e-3, noise: { noise[$0] })
                }
                try loss.total.backward()
                try clipGradNorm(model.parameters, maxNorm: 1)
                try optimizer.step()
                losses.append(try loss.mse.item())
            }
            return losses
        }
        let f32 = try train(bf16: false), b16 = try train(bf16: true)
        // bfloat16 keeps 8 bits of mantissa: the stated tolerance is 3% on the loss after 8 steps.
        for (a, b) in zip(f32, b16) { #expect(abs(a - b) / a < 0.03, "fp32 \(a) vs bf16 \(b)") }
    }

    @Test(.enabled(if: Runtime.cpuHasBFloat16, "this CPU has no AVX512-BF16/AMX"))
    func bf16GenerationStaysCloseToFloat32() throws {
        let model = try RandomGenerator.initialising(seed: 4) { try LabModel(tiny) }
        model.eval()
        try model.convertToChannelsLast()
        let (frames, labels) = try clips(batch: 5, length: 12, height: 16, width: 32)
        let first = try frames.select(dim: 1, index: 0)
        // Five videos: batches of 3 + 2 in float32 and one of 5 under autocast (the models' defaults).
        func generate(bf16: Bool) throws -> Tensor {
            let generators = try (0..<5).map { try RandomGenerator(seed: 60 + UInt64($0)) }
            return try autocast(enabled: bf16) {
                try Predictor(model: model).rollout(firstFrame: first, labels: labels, generators: generators)
            }.to(.float32)
        }
        let f32 = try generate(bf16: false), b16 = try generate(bf16: true)
        // Unclamped: an untrained model's frames leave [0, 1], where clamping would hide differences.
        let relative = try ((f32 - b16).square().mean().item() / f32.square().mean().item()).squareRoot()
        print(String(format: "bf16 vs fp32 generation, 11 autoregressive steps: relative RMS difference %.4f", relative))
        #expect(relative > 0, "autocast changed nothing: bf16 did not run")
        // bfloat16 keeps 8 bits of mantissa (0.4% per rounding): the stated tolerance is 2% after
        // 11 steps of feeding predictions back.
        #expect(relative < 0.02, "bf16 generation differs from fp32 by \(relative) (relative RMS)")
    }
}
