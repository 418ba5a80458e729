import Foundation
import Testing
import Torch
@testable import VidPred

@Suite("Jobs of several processes: placement from torchrun/SLURM variables, settings check, rendezvous errors")
struct TrainingJobTests {
    @Test func torchrunsVariablesPlaceTheProcess() throws {
        let placement = try JobPlacement.fromEnvironment(["RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1",
                                                          "MASTER_ADDR": "node7", "MASTER_PORT": "29600"])
        #expect(placement == JobPlacement(rank: 3, worldSize: 4, localRank: 1, host: "node7", port: 29600))
        let defaults = try JobPlacement.fromEnvironment(["RANK": "0", "WORLD_SIZE": "2"])
        #expect(defaults == JobPlacement(rank: 0, worldSize: 2, localRank: 0, host: "127.0.0.1", port: 29500))
    }

    @Test func srunsVariablesPlaceTheProcess() throws {
        let placement = try JobPlacement.fromEnvironment(["SLURM_PROCID": "5", "SLURM_STEP_NUM_TASKS": "8", "SLURM_LOCALID": "1",
                                                          "SLURM_LAUNCH_NODE_IPADDR": "10.0.0.4"])
        #expect(placement == JobPlacement(rank: 5, worldSize: 8, localRank: 1, host: "10.0.0.4", port: 29500))
        // A batch script's own shell (no srun step) is no job.
        #expect(try JobPlacement.fromEnvironment(["SLURM_PROCID": "0", "SLURM_NTASKS": "8"]) == nil)
    }

    @Test func aProcessAloneIsNoJob() throws {
        #expect(try JobPlacement.fromEnvironment([:]) == nil)
        #expect(try JobPlacement.fromEnvironment(["RANK": "0", "WORLD_SIZE": "1"]) == nil)
    }

    @Test(arguments: [
        (["RANK": "1"], "WORLD_SIZE"),
        (["RANK": "2", "WORLD_SIZE": "2"], "RANK=2"),
        (["RANK": "x", "WORLD_SIZE": "2"], "RANK=x"),
        (["RANK": "0", "WORLD_SIZE": "2", "MASTER_PORT": "99999"], "MASTER_PORT"),
    ])
    func badVariablesAreRefusedByName(environment: [String: String], named: String) throws {
        do {
            _ = try JobPlacement.fromEnvironment(environment)
            Issue.record("\(environment) accepted")
        } catch {
            #expect("\(error)".contains(named), "\(error)")
        }
    }

    /// Two ranks with different settings both refuse to train, naming the setting and the other rank.
    @Test func ranksWithOtherSettingsAreRefused() throws {
        let port = try ProcessGroup.freePort()
        let errors = RankErrors()
        let done = DispatchGroup()
        for rank in 0..<2 {
            done.enter()
            Thread {
                defer { done.leave() }
                do {
                    let job = try TrainingJob.join(JobPlacement(rank: rank, worldSize: 2, localRank: rank, port: port), timeoutSeconds: 20)
                    try job.requireSameSettings(["lr": rank == 0 ? "0.001" : "0.002", "seed": "1"])
                    errors.add(rank, "no error")
                } catch {
                    errors.add(rank, "\(error)")
                }
            }.start()
        }
        done.wait()
        for (rank, message) in errors.all {
            #expect(message.contains("different settings") && message.contains("lr"), "rank \(rank): \(message)")
            #expect(message.contains("rank \(1 - rank)"), "rank \(rank): \(message)")
        }
    }

    /// A rank started with another WORLD_SIZE is named by both sides at once (not after a timeout).
    @Test func aRankWithAnotherWorldSizeIsRefused() throws {
        let port = try ProcessGroup.freePort()
        let errors = RankErrors()
        let done = DispatchGroup()
        for (rank, world) in [(0, 2), (1, 3)] {
            done.enter()
            Thread {
                defer { done.leave() }
                do {
                    _ = try TrainingJob.join(JobPlacement(rank: rank, worldSize: world, localRank: rank, port: port), timeoutSeconds: 60)
                    errors.add(rank, "no error")
                } catch {
                    errors.add(rank, "\(error)")
                }
            }.start()
        }
        let start = Date()
        done.wait()
        #expect(Date().timeIntervalSince(start) < 30)
        for (rank, message) in errors.all {
            #expect(message.contains("WORLD_SIZE=2") && message.contains("WORLD_SIZE=3"), "rank \(rank): \(message)")
        }
    }

    @Test func aPortInUseIsRefusedWithTheFix() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        try #require(listening && listen(listener, 4) == 0)
        let port = Int(UInt16(bigEndian: address.sin_port))
        do {
            _ = try TrainingJob.join(JobPlacement(rank: 0, worldSize: 2, localRank: 0, port: port), timeoutSeconds: 5)
            Issue.record("rank 0 hosted a rendezvous on a port in use")
        } catch {
            #expect("\(error)".contains("already in use") && "\(error)".contains("--master-port"), "\(error)")
        }
    }

    @Test func aRankWhosePeersNeverComeSaysWhatToCheck() throws {
        let port = try ProcessGroup.freePort()
        do {
            _ = try TrainingJob.join(JobPlacement(rank: 1, worldSize: 2, localRank: 1, port: port), timeoutSeconds: 2)
            Issue.record("joined a job with no rank 0")
        } catch {
            #expect("\(error)".contains("rank 1") && "\(error)".contains("MASTER_PORT"), "\(error)")
        }
    }
}

final class RankErrors: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [Int: String] = [:]
    func add(_ rank: Int, _ message: String) { lock.lock(); messages[rank] = message; lock.unlock() }
    var all: [(Int, String)] { lock.lock(); defer { lock.unlock() }; return messages.sorted { $0.key < $1.key } }
}
