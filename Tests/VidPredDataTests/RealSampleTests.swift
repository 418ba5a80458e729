import Foundation
import Testing
@testable import VidPredData

/// Tests on the real 32x64 sample (../shared/data/edn-s4); skipped with a message when absent.
@Suite("Real sample (edn-s4)")
struct RealSampleTests {
    static let sample = TestSupport.realSample

    @Test("counts, shapes, value ranges and file-name pairing", .enabled(if: sample != nil, "edn-s4 sample not found next to the repository (../shared/data/edn-s4): skipped"))
    func loadsRealSample() throws {
        let root = try #require(Self.sample)
        let data = try LabDataset.load(root: root)
        #expect(data.train.count == 1 && data.val.count == 1 && data.test.count == 1)
        let train = data.train[0], val = data.val[0], test = data.test[0]
        #expect(train.frames.count == 1000 && train.labels.count == 1000)
        #expect(val.frames.count == 630 && val.labels.count == 630)
        #expect(test.name == "0" && test.frames.count == 1 && test.labels.count == 630 && test.groundTruth?.count == 630)
        for sequence in [train.frames, train.labels, val.frames, val.labels, test.frames, test.labels] {
            #expect(sequence.height == 32 && sequence.width == 64 && sequence.frameSize == 6144)
            #expect(sequence.pixels.count == sequence.count * 6144)
            #expect(sequence.pixels.allSatisfy { $0 >= 0 && $0 <= 1 })
        }
        // Pairing by name, ordered by frame number (source numbers 020001... step 4, a few gaps).
        #expect(train.frames.names == train.labels.names)
        let numbers = train.frames.names.compactMap(FrameFolder.frameNumber)
        #expect(numbers.count == 1000 && numbers.first == 20001)
        #expect(zip(numbers, numbers.dropFirst()).allSatisfy { $0 < $1 })
        #expect(val.frames.names.first == "frame000000.png" && val.frames.names.last == "frame000629.png")
        #expect(test.labels.names == test.groundTruth?.names)
        // Labels are white-background skeletons: mostly white, some colour.
        let labelMean = train.labels.pixels.reduce(0, +) / Float(train.labels.pixels.count)
        #expect(labelMean > 0.9 && labelMean < 1)
        // The given test frame is the ground truth's first frame.
        #expect(test.frames.frame(0) == test.groundTruth?.frame(0))
    }

    @Test("label k shows the pose of frame k: the dancer's and the skeleton's horizontal positions agree",
          .enabled(if: sample != nil, "edn-s4 sample not found: skipped"))
    func labelsFollowTheDancer() throws {
        let root = try #require(Self.sample)
        var options = LabDatasetOptions()
        options.splits = [.train, .test]
        let data = try LabDataset.load(root: root, options: options)
        for (frames, labels) in [(data.train[0].frames, data.train[0].labels), (try #require(data.test[0].groundTruth), data.test[0].labels)] {
            let dancer = Self.dancerColumns(frames), skeleton = Self.skeletonColumns(labels)
            let aligned = Self.correlation(dancer, skeleton)
            let shifted = Self.correlation(dancer, Array(skeleton[100...] + skeleton[..<100]))
            #expect(aligned > 0.9, "aligned correlation \(aligned)")
            #expect(shifted < 0.5, "shifted correlation \(shifted)")
        }
    }

    /// Horizontal centre of where each frame differs from the mean frame (the moving dancer).
    static func dancerColumns(_ frames: FrameSequence) -> [Double] {
        var mean = [Float](repeating: 0, count: frames.frameSize)
        for i in 0..<frames.count {
            for (j, v) in frames.samples(from: i, count: 1).enumerated() { mean[j] += v / Float(frames.count) }
        }
        return (0..<frames.count).map { i in
            let frame = frames.frame(i)
            return centre(frame) { x, y in
                var d: Float = 0
                for c in 0..<3 { d += abs(frame[c, y, x] - mean[(c * frames.height + y) * frames.width + x]) }
                return d > 0.15 ? d : 0
            }
        }
    }

    /// Horizontal centre of the non-white label pixels.
    static func skeletonColumns(_ labels: FrameSequence) -> [Double] {
        (0..<labels.count).map { i in
            let label = labels.frame(i)
            return centre(label) { x, y in
                let d = (0..<3).reduce(Float(0)) { $0 + 1 - label[$1, y, x] }
                return d > 0.05 ? d : 0
            }
        }
    }

    static func centre(_ image: RGBImage, weight: (Int, Int) -> Float) -> Double {
        var total = 0.0, sum = 0.0
        for y in 0..<image.height {
            for x in 0..<image.width {
                let w = Double(weight(x, y))
                total += w
                sum += w * Double(x)
            }
        }
        return total > 0 ? sum / total : Double(image.width) / 2
    }

    static func correlation(_ a: [Double], _ b: [Double]) -> Double {
        let n = Double(a.count)
        let ma = a.reduce(0, +) / n, mb = b.reduce(0, +) / n
        var sab = 0.0, saa = 0.0, sbb = 0.0
        for (x, y) in zip(a, b) {
            sab += (x - ma) * (y - mb); saa += (x - ma) * (x - ma); sbb += (y - mb) * (y - mb)
        }
        return sab / (saa * sbb).squareRoot()
    }
}
