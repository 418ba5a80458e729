import Foundation
import Testing
import VidPred
import VidPredData

/// PSNR, the lab's PSNR and SSIM against NumPy reference values (reference/make_metric_fixtures.py;
/// its SSIM matches scikit-image's structural_similarity to 1e-15), and the lab score's frame range.
@Suite("Frame metrics")
struct MetricTests {
    static func decode(_ fixture: MetricFixture, _ base64: String) throws -> [Float] {
        let data = try #require(Data(base64Encoded: base64), "fixture \(fixture.name) is not base64")
        if fixture.isFloat32 {
            return data.withUnsafeBytes { raw in
                (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
            }
        }
        return data.map { Float($0) / 255 }
    }

    @Test("PSNR, lab PSNR and SSIM match the NumPy reference", arguments: metricFixtures.map(\.name))
    func matchesReference(name: String) throws {
        let fixture = try #require(metricFixtures.first { $0.name == name })
        let target = try Self.decode(fixture, fixture.target)
        let prediction = try Self.decode(fixture, fixture.prediction)
        #expect(target.count == fixture.channels * fixture.height * fixture.width)
        let psnr = Metrics.psnr(prediction, target)
        let lab = Metrics.labPSNR(prediction, target)
        let ssim = SSIM.ssim(prediction, target, height: fixture.height, width: fixture.width)
        #expect(abs(psnr - fixture.psnr) < 1e-4, "PSNR \(psnr) vs reference \(fixture.psnr)")
        #expect(abs(lab - fixture.labPSNR) < 1e-4, "lab PSNR \(lab) vs reference \(fixture.labPSNR)")
        #expect(abs(ssim - fixture.ssim) < 1e-6, "SSIM \(ssim) vs reference \(fixture.ssim)")
    }

    @Test("SSIM is 1 for identical images, symmetric, and nan below the 11x11 window")
    func ssimProperties() {
        let a = TestSupport.frames(2, height: 16, width: 24, seed: 1)
        #expect(abs(SSIM.ssim(a[0].pixels, a[0].pixels, height: 16, width: 24) - 1) < 1e-12)
        let ab = SSIM.ssim(a[0].pixels, a[1].pixels, height: 16, width: 24)
        let ba = SSIM.ssim(a[1].pixels, a[0].pixels, height: 16, width: 24)
        #expect(abs(ab - ba) < 1e-12 && ab < 1)
        let small = TestSupport.frames(1, height: 8, width: 16, seed: 2)[0].pixels
        #expect(SSIM.ssim(small, small, height: 8, width: 16).isNaN)
        #expect(abs(SSIM.taps.reduce(0, +) - 1) < 1e-12 && SSIM.taps.count == 11)
    }

    @Test("the lab score uses frames 1...600 only: frame 0 and frames after 600 do not count")
    func labScoreFrameRange() {
        let truth = TestSupport.frames(640, height: 4, width: 6, seed: 3).map(\.pixels)
        // A prediction off by a fixed amount on every frame ...
        let near = truth.map { $0.map { min(1, $0 + 0.04) } }
        let reference = Metrics.labScore(prediction: near, truth: truth)
        // ... then ruined on frame 0 and on frames 601..639: the score must not move.
        var ruined = near
        ruined[0] = ruined[0].map { 1 - $0 }
        for t in 601..<640 { ruined[t] = ruined[t].map { 1 - $0 } }
        #expect(Metrics.labScore(prediction: ruined, truth: truth) == reference)
        // Ruining frame 1 or frame 600 does move it.
        for t in [1, 600] {
            var changed = near
            changed[t] = changed[t].map { 1 - $0 }
            #expect(Metrics.labScore(prediction: changed, truth: truth) < reference, "frame \(t) must be scored")
        }
        // It is the mean of the 600 per-frame lab PSNRs.
        let manual = (1...600).map { Metrics.labPSNR(near[$0], truth[$0]) }.reduce(0, +) / 600
        #expect(abs(reference - manual) < 1e-9)
    }

    @Test("VideoScore: per-frame scores skip frame 0; K samples give the mean and the best of K")
    func videoScoreAndBestOfK() {
        let truth = TestSupport.frames(6, height: 12, width: 12, seed: 4).map(\.pixels)
        let good = truth.map { $0.map { min(1, $0 + 0.02) } }
        let bad = truth.map { $0.map { min(1, $0 + 0.1) } }
        let g = VideoScore.compute(prediction: good, truth: truth, height: 12, width: 12)
        let b = VideoScore.compute(prediction: bad, truth: truth, height: 12, width: 12)
        #expect(g.psnrPerFrame.count == 5 && g.ssimPerFrame.count == 5)
        #expect(abs(g.psnrPerFrame[0] - Metrics.psnr(good[1], truth[1])) < 1e-12)
        #expect(abs(g.ssim - VideoScore.mean((1..<6).map { SSIM.ssim(good[$0], truth[$0], height: 12, width: 12) })) < 1e-12)
        let k = SampledVideoScore(samples: [b, g])
        #expect(k.bestPSNR == g.psnr && k.bestSSIM == g.ssim && k.bestLabScore == g.labScore)
        #expect(abs(k.meanPSNR - (g.psnr + b.psnr) / 2) < 1e-12)
        // Predictions are clipped to [0, 1] before scoring, as the lab clips.
        let overshoot = truth.map { $0.map { $0 + 5 } }
        let clipped = truth.map { _ in [Float](repeating: 1, count: truth[0].count) }
        #expect(VideoScore.compute(prediction: overshoot, truth: truth, height: 12, width: 12).psnr
                == VideoScore.compute(prediction: clipped, truth: truth, height: 12, width: 12).psnr)
    }

    @Test("on the real sample, repeating the first frame scores what its README says (22.93 val, 16.69 test/0)",
          .enabled(if: TestSupport.realSample != nil, "the real sample ../shared/data/edn-s4 is absent (set VIDPRED_EDN_S4 to its folder)"))
    func realSampleBaseline() throws {
        let root = try #require(TestSupport.realSample)
        let dataset = try LabDataset.load(root: root, options: LabDatasetOptions(splits: [.val, .test]))
        for (video, expected) in [(dataset.val[0], 22.93), (dataset.test[0], 16.69)] {
            let truth = try #require(video.referenceFrames)
            let frames = (0..<truth.count).map { Array(truth.samples(from: $0, count: 1)) }
            let first = video.frames.frame(0).pixels
            let score = Metrics.labScore(prediction: Array(repeating: first, count: frames.count), truth: frames)
            #expect(abs(score - expected) < 0.006, "\(video.displayName): \(score) dB, README says \(expected)")
        }
    }
}
