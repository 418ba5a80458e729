import Foundation
import Testing
import Torch
import VidPred
@testable import VidPredCLI

private let binary = vidpredBinary

@Suite("Crash safety: fuzzed readers, killed and signalled training")
struct CrashSafetyTests {
    /// Every reader, a few hundred seeded mutations each (`vidpred bench robustness` runs 1000+):
    /// each is read or refused with an error naming the file (or the setting); none crashes this
    /// process, and no damaged checksummed data loads.
    @Test(arguments: Fuzz.Reader.allCases)
    func fuzzedInputsAreReadOrRefusedNeverCrash(reader: Fuzz.Reader) throws {
        let cases = reader == .dataset ? 60 : 300
        let result = try Fuzz.run(reader, cases: cases, seed: 2026, in: try scratch("fuzz-\(reader.rawValue)"))
        #expect(result.cases == cases)
        #expect(result.damagedAccepted == 0, "\(reader): damaged files loaded")
        #expect(result.unnamed.isEmpty, "\(reader): errors that name neither the file nor the setting: \(result.unnamed.prefix(3))")
        #expect(result.refused > 0, "\(reader): the mutations never produced bad input, so nothing was tested")
    }

    @Test func theFuzzedLogStartsFromACompleteLogOfEveryRecordKind() throws {
        let folder = try scratch("fuzz-base")
        let url = folder.appendingPathComponent("metrics.jsonl")
        try Fuzz.baseInput(.metrics, in: folder).write(to: url)
        let log = try MetricsLog.read(url)
        #expect(log.unreadableLines.isEmpty && log.header != nil)
        #expect(log.batches.count == 1 && log.skippedBatches.count == 1 && log.epochs.count == 1 && log.validations.count == 1 && log.checkpoints.count == 1)
    }

    /// SIGKILL at random moments and between the writes of a checkpoint, SIGTERM, SIGINT and a
    /// double SIGINT: each run resumes to the uninterrupted run's weights and log, with no
    /// temporary files left. Real processes of this build's `vidpred`.
    @Test(.timeLimit(.minutes(10)))
    func killedAndSignalledRunsResumeToTheUninterruptedRun() throws {
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "\(binary.path) is missing: run `swift build` (make test does)")
        let campaign = KillCampaign(binary: binary, folder: try scratch("kills"))
        let duration = try campaign.prepare()
        let targeted: [(FaultInjection.Point, [Int])] = [(.beforeRename, [3, 6]), (.checkpointBetweenFiles, [1, 4]),
                                                         (.checkpointBeforeLog, [2]), (.batchLogged, [5])]
        for (i, interruption) in KillCampaign.plan(randomKills: 2, seed: 7, duration: duration, targeted: targeted).enumerated() {
            let o = try campaign.run(interruption, label: "run-\(i)")
            #expect(o.ok, "\(o.interruption): ended \(o.firstEnd); resumed \(o.resumed) after \(o.resumes); same weights \(o.sameWeights), same log \(o.sameLog), leftovers \(o.leftovers); \(o.problem ?? "") (log: \(campaign.folder.path)/train.log)")
        }
    }

    @Test func threadCountsBeyondTheLimitAreRefusedNotCrashing() throws {
        for command in [["info", "--threads", "5000000000"], ["train", "--threads", "5000000000"]] {
            do {
                _ = try VidPredCommand.parseAsRoot(command)
                Issue.record("\(command) accepted")
            } catch {
                let message = VidPredCommand.message(for: error)
                #expect(message.contains("threads"), "\(command): \(message)")
            }
        }
    }
}
