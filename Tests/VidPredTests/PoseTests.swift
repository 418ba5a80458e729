import Foundation
import Testing
import Torch
import VidPredData
@testable import VidPred

private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
private let keypointsFolder = root.appendingPathComponent("../shared/data/edn-video/keypoints")

/// The pose models scripts/setup.sh extracts.
private func models() throws -> URL {
    let folder = root.appendingPathComponent(".deps/models")
    try #require(FileManager.default.fileExists(atPath: folder.appendingPathComponent(BlazePose.detectorFile).path),
                 "\(folder.path) has no pose models: run scripts/setup.sh (make test does)")
    return folder
}

@Suite("Pose extraction: BlazePose on libtorch, BODY_25, labels, OpenPose JSON")
struct PoseTests {
    /// The goal on the three frames OpenPose annotated: over the body points both models
    /// define, the median distance at most 3% of the body height (neck to mid-ankle) and none
    /// beyond 10%.
    @Test func keypointsAgreeWithOpenPoseOnTheAnnotatedFrames() throws {
        let pose = try BlazePose(models: try models())
        var relative: [Double] = []
        for name in ["frame020001", "frame020005", "frame020009"] {
            let image = try PNG.read(keypointsFolder.appendingPathComponent("\(name).png"))
            let found = try #require(try pose.estimate(Tensor(image.pixels, shape: [3, image.height, image.width]), track: false), "\(name): no person found")
            let truth = try PoseBenchmark.openPosePoints(keypointsFolder.appendingPathComponent("\(name)_pose.yml"))
            relative += PoseBenchmark.relativeDistances(Body25.fromBlazePose(found.landmarks), truth: truth)
        }
        let sorted = relative.sorted()
        #expect(sorted.count >= 40, "only \(sorted.count) points compared")
        #expect(sorted[sorted.count / 2] <= 0.03, "median \(sorted[sorted.count / 2])")
        #expect(sorted.last! <= 0.10, "largest \(sorted.last!)")
    }

    @Test func body25TakesMeansAndLeavesOutWhatIsNotVisible() {
        var landmarks = (0..<33).map { Keypoint(x: Double($0), y: Double(100 + $0), confidence: 0.9) }
        landmarks[14] = Keypoint(x: 50, y: 50, confidence: 0.2)  // right elbow, hidden
        let points = Body25.fromBlazePose(landmarks)
        #expect(points.count == 25)
        #expect(points[1] == Keypoint(x: 11.5, y: 111.5, confidence: 0.9))  // neck: mean of the shoulders
        #expect(points[8] == Keypoint(x: 23.5, y: 123.5, confidence: 0.9))  // mid hip
        #expect(points[3] == .missing)
        #expect(points[20] == .missing && points[23] == .missing)  // no small toes in BlazePose
        #expect(points[19] == Keypoint(x: 31, y: 131, confidence: 0.9))
    }

    @Test func openPoseJSONRoundTripsAndSaysWhenNobodyIsThere() throws {
        let points = (0..<25).map { Keypoint(x: Double($0) * 1.5, y: Double($0), confidence: $0 == 3 ? 0 : 0.8) }
        let data = try Body25.openPoseJSON([points])
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let people = try #require(object["people"] as? [[String: Any]])
        #expect((people.first?["pose_keypoints_2d"] as? [Double])?.count == 75)
        #expect(try Body25.readOpenPoseJSON(data, name: "x.json") == points)
        #expect(try Body25.readOpenPoseJSON(try Body25.openPoseJSON([]), name: "empty.json") == nil)
        #expect(throws: ConfigError.self) { try Body25.readOpenPoseJSON(Data("[1]".utf8), name: "bad.json") }
    }

    /// A limb is drawn in its first point's colour at 60% over white, a joint in its own colour,
    /// nothing elsewhere; a small label is the large one resized.
    @Test func labelsAreDrawnInTheDatasetsColours() {
        var points = [Keypoint](repeating: .missing, count: 25)
        points[10] = Keypoint(x: 200, y: 100, confidence: 1)  // right knee
        points[11] = Keypoint(x: 200, y: 400, confidence: 1)  // right ankle
        let label = PoseLabel.draw(points, sourceWidth: 1024, sourceHeight: 512, width: 1024, height: 512)
        func pixel(_ x: Int, _ y: Int) -> [Float] { (0..<3).map { label.pixels[$0 * 1024 * 512 + y * 1024 + x] } }
        let knee = PoseLabel.colours[10]
        let limb = [knee.0, knee.1, knee.2].map { Float($0) / 255 * 0.6 + 0.4 }
        #expect(zip(pixel(200, 250), limb).allSatisfy { abs($0 - $1) < 0.01 }, "\(pixel(200, 250)) vs \(limb)")
        #expect(zip(pixel(200, 100), [knee.0, knee.1, knee.2].map { Float($0) / 255 }).allSatisfy { abs($0 - $1) < 0.01 })
        #expect(pixel(600, 250) == [1, 1, 1])
        // A hand: a thin stroke from the wrist to each finger point given (here the thumb).
        let hand = [Keypoint(x: 600, y: 250, confidence: 1), Keypoint(x: 650, y: 250, confidence: 1), .missing, .missing]
        let withHand = PoseLabel.draw(points, hands: [hand], sourceWidth: 1024, sourceHeight: 512, width: 1024, height: 512)
        let thumb: [Float] = (0..<3).map { (channel: Int) -> Float in withHand.pixels[channel * 1024 * 512 + 250 * 1024 + 625] }
        #expect(thumb == [1, 0, 0])
        let small = PoseLabel.draw(points, sourceWidth: 1024, sourceHeight: 512, width: 64, height: 32)
        #expect(small.width == 64 && small.height == 32)
        #expect(small.pixels.contains { $0 < 0.95 })
    }

    /// The agreement figure: 1 for a label with itself, lower for a shifted one, lowest for none.
    @Test func agreementFallsAsLabelsDiverge() {
        var points = [Keypoint](repeating: .missing, count: 25)
        points[1] = Keypoint(x: 500, y: 100, confidence: 1); points[8] = Keypoint(x: 500, y: 300, confidence: 1)
        let label = PoseLabel.draw(points, sourceWidth: 1024, sourceHeight: 512, width: 256, height: 128)
        var moved = points
        moved[1].x += 12; moved[8].x += 12
        let shifted = PoseLabel.draw(moved, sourceWidth: 1024, sourceHeight: 512, width: 256, height: 128)
        moved[1].x += 60; moved[8].x += 60
        let far = PoseLabel.draw(moved, sourceWidth: 1024, sourceHeight: 512, width: 256, height: 128)
        #expect(abs(PoseBenchmark.agreement(label, label) - 1) < 1e-9)
        let (near, distant) = (PoseBenchmark.agreement(label, shifted), PoseBenchmark.agreement(label, far))
        #expect(near < 0.999 && distant < near, "\(near), \(distant)")
    }

    /// Everybody Dance Now's fit: scaled by the ratio of body heights (medians over the source's
    /// frames), feet moved onto the target's.
    @Test func motionTransferScalesByBodyHeightAndAlignsTheFeet() throws {
        func body(neck: (Double, Double), ankles: Double) -> [Keypoint] {
            var points = [Keypoint](repeating: .missing, count: 25)
            points[1] = Keypoint(x: neck.0, y: neck.1, confidence: 1)
            points[11] = Keypoint(x: neck.0 - 10, y: ankles, confidence: 1)
            points[14] = Keypoint(x: neck.0 + 10, y: ankles, confidence: 1)
            return points
        }
        var noAnkles = body(neck: (90, 100), ankles: 290)
        noAnkles[11] = .missing
        let source: [[Keypoint]?] = [nil, noAnkles, body(neck: (100, 100), ankles: 300), nil, body(neck: (120, 100), ankles: 300),
                                     body(neck: (110, 200), ankles: 300)]
        let target = body(neck: (500, 50), ankles: 450)
        let fit = try #require(MotionTransfer.fit(source: source, target: target))
        // Source heights 200.25, 200.25 (rounded by the feet offset), 100.5: median 200.2; target 400.1.
        #expect(abs(fit.scale - Body25.bodyHeight(target)! / Body25.bodyHeight(source[2]!)!) < 1e-9)
        // The feet of the first frame that shows both ankles go where the target's are.
        #expect(fit.sourceFeet.x == 100 && fit.sourceFeet.y == 300 && fit.targetFeet.x == 500 && fit.targetFeet.y == 450)
        #expect(fit.apply(Keypoint(x: 100, y: 300, confidence: 1)) == Keypoint(x: 500, y: 450, confidence: 1))
        let above = fit.apply(Keypoint(x: 100, y: 200, confidence: 1))
        #expect(abs(above.x - 500) < 1e-9 && abs(above.y - (450 - 100 * fit.scale)) < 1e-9)
        #expect(fit.apply(.missing) == .missing)
        #expect(MotionTransfer.fit(source: [nil], target: target) == nil)
    }

    @Test func missingModelsSayHowToGetThem() {
        #expect {
            _ = try BlazePose(models: URL(fileURLWithPath: "/nonexistent/models"))
        } throws: { error in
            "\(error)".contains("scripts/setup.sh") && "\(error)".contains("/nonexistent/models")
        }
    }
}
