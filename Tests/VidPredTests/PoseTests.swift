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

/// OpenPose's points of an annotated frame (edn-video/keypoints/NAME_pose.yml: 23 BODY_25 points
/// in the README's order) in pixels of the 1024x512 frame. The file's numbers are pixels of the
/// 1920x1080 source video, stretched to 1024x512 by the dataset (x * 1024/1920, y * 512/1080):
/// with that mapping OpenPose's points land on the person and on the dataset's label.
private func openPosePoints(_ name: String) throws -> [Int: Keypoint] {
    let text = try String(contentsOf: keypointsFolder.appendingPathComponent("\(name)_pose.yml"), encoding: .utf8)
    let data = try #require(text.components(separatedBy: "data:").last)
    let numbers = data.components(separatedBy: CharacterSet(charactersIn: "[], \n")).compactMap { Double($0) }
    try #require(numbers.count == 69, "\(name)_pose.yml: 23 x 3 numbers expected, \(numbers.count) read")
    let order = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 22, 23, 12, 13, 14, 19, 20, 0, 15, 17, 16, 18]
    var points: [Int: Keypoint] = [:]
    for (i, index) in order.enumerated() where numbers[3 * i + 2] > 0 {
        points[index] = Keypoint(x: numbers[3 * i] * 1024 / 1920, y: numbers[3 * i + 1] * 512 / 1080, confidence: numbers[3 * i + 2])
    }
    return points
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
            let ours = Body25.fromBlazePose(found.landmarks)
            let theirs = try openPosePoints(name)
            var truth = [Keypoint](repeating: .missing, count: 25)
            for (i, p) in theirs { truth[i] = p }
            let height = try #require(Body25.bodyHeight(truth))
            for (i, p) in theirs where ours[i].confidence > 0 {
                relative.append(((ours[i].x - p.x) * (ours[i].x - p.x) + (ours[i].y - p.y) * (ours[i].y - p.y)).squareRoot() / height)
            }
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
        let small = PoseLabel.draw(points, sourceWidth: 1024, sourceHeight: 512, width: 64, height: 32)
        #expect(small.width == 64 && small.height == 32)
        #expect(small.pixels.contains { $0 < 0.95 })
    }

    @Test func missingModelsSayHowToGetThem() {
        #expect {
            _ = try BlazePose(models: URL(fileURLWithPath: "/nonexistent/models"))
        } throws: { error in
            "\(error)".contains("scripts/setup.sh") && "\(error)".contains("/nonexistent/models")
        }
    }
}
