import Foundation
import Testing
@testable import VidPredData

@Suite("Training windows and batches")
struct TrainingWindowsTests {
    @Test("lab defaults: non-overlapping windows of 16 in file order, int(N * partial) // 16 of them")
    func labWindows() throws {
        let windows = try TrainingWindows(videoLengths: [1000])
        let epoch0 = windows.windows(forEpoch: 0)
        #expect(epoch0.count == 62)                               // 1000 // 16
        #expect(epoch0.map(\.start) == Array(stride(from: 0, to: 992, by: 16)))
        #expect(windows.windows(forEpoch: 3) == epoch0)            // unshuffled: the same every epoch
        let half = try TrainingWindows(videoLengths: [1000], options: TrainingWindowOptions(partial: 0.5))
        #expect(half.windows(forEpoch: 0).count == 31)             // int(500) // 16
    }

    @Test("fast_train uses fast_partial for the first fast_train_epoch epochs")
    func fastTrain() throws {
        let options = TrainingWindowOptions(fastTrain: true, fastPartial: 0.4, fastTrainEpochs: 5)
        let windows = try TrainingWindows(videoLengths: [1000], options: options)
        #expect((0..<5).map { windows.windows(forEpoch: $0).count } == [25, 25, 25, 25, 25])  // int(400) // 16
        #expect(windows.windows(forEpoch: 5).count == 62)
        #expect(windows.fraction(forEpoch: 4) == 0.4 && windows.fraction(forEpoch: 5) == 1.0)
    }

    @Test("overlapping, shuffled windows: seeded, different per epoch, never crossing videos")
    func overlappingShuffled() throws {
        let options = TrainingWindowOptions(length: 16, stride: 4, shuffle: true, seed: 42)
        let windows = try TrainingWindows(videoLengths: [40, 10, 30], options: options)
        let epoch0 = windows.windows(forEpoch: 0)
        #expect(epoch0.count == 7 + 0 + 4)                         // starts 0..24 step 4 in 40; none in 10; 0..12 in 30
        #expect(Set(epoch0) == Set(windows.windows(forEpoch: 1)))
        #expect(epoch0 != windows.windows(forEpoch: 1))
        #expect(epoch0 == (try TrainingWindows(videoLengths: [40, 10, 30], options: options)).windows(forEpoch: 0))
        for w in epoch0 { #expect(w.start + 16 <= [40, 10, 30][w.video]) }
    }

    @Test("batches drop the incomplete last batch like the lab's DataLoader(drop_last=True)")
    func batches() throws {
        let windows = try TrainingWindows(videoLengths: [16 * 5])
        #expect(windows.batches(forEpoch: 0, batchSize: 2).map(\.count) == [2, 2])
        #expect(windows.batches(forEpoch: 0, batchSize: 2, dropLast: false).map(\.count) == [2, 2, 1])
    }

    @Test("bad options and too little data are refused with a clear message")
    func badOptions() {
        let short = expectDataError(.tooShort) { _ = try TrainingWindows(videoLengths: [10, 12]) }
        #expect(short?.text.contains("no video has 16 frames") == true)
        _ = expectDataError(.invalidArgument) { _ = try TrainingWindows(videoLengths: [100], options: TrainingWindowOptions(partial: 1.5)) }
        _ = expectDataError(.invalidArgument) { _ = try TrainingWindows(videoLengths: [100], options: TrainingWindowOptions(stride: 0)) }
    }
}
