import Distributed
import Foundation
import Testing

#if os(Linux)
/// A data-parallel `fit` resumed from the checkpoint written where `EarlyStopping` stopped (the
/// stop epoch's end) trains nothing more, on every rank: the uninterrupted run had stopped there.
/// DistributedCheckHelper `callbacks` (CallbackCheck.swift) under `mpirun`, bounded in time so
/// that a rank left waiting in a collective fails the test instead of hanging it.
extension MPIRunTests {
    /// EarlyStopping (training loss, patience 2, minDelta 0.02, restoring the best weights) stops a
    /// 2-rank run before its 12 epochs, its CheckpointCallback saving every epoch's end. Resumed
    /// from the last checkpoint alone and on 2 ranks: no step, no epoch and no save (the events are
    /// `begin`, `end`), and every rank ends with the stopped run's History, restored weights,
    /// learning rate and stop reason, bitwise.
    @Test func resumingWhereEarlyStoppingStoppedTrainsNothingMoreOnAnyRank() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("batchwise-dp-es-resume-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = folder.appendingPathComponent("checkpoint.h5").path
        var arguments = Self.callbackArguments(epochs: 12, ["early-stopping": "2", "monitor": "loss", "min-delta": "0.02",
                                                            "checkpoint": checkpoint])
        let stopped = try MPIRun.start(ranks: 2, check: "callbacks", arguments: arguments, deadline: 90)
        #expect(stopped.status == 0, "\(stopped.output)")
        let expected = try #require(stopped.reports[0], "\(stopped.output)")
        let epochsRun = expected["losses"]?.count ?? 0
        #expect(epochsRun > 2 && epochsRun < 12, "\(expected)")
        #expect(expected["stop"]?.first?.hasPrefix("early_stopping:_loss_did_not_improve_for_2_epochs") == true, "\(expected)")
        #expect(expected["saves"] == [String(epochsRun)], "one save per epoch's end, none more at the stop: \(expected)")

        arguments["resume"] = checkpoint
        for ranks in [nil, 2] {
            let resumed = try MPIRun.start(ranks: ranks, check: "callbacks", arguments: arguments, deadline: 60)
            #expect(resumed.status == 0, "\(resumed.output)")
            for rank in 0..<(ranks ?? 1) {
                let report = resumed.reports[rank]
                #expect(report?["events"] == ["begin", "end"], "\(ranks ?? 1) ranks, rank \(rank) trained on: \(resumed.output)")
                #expect(report?["saves"] == ["0"] && report?["after-step"] == ["none"], "\(ranks ?? 1) ranks, rank \(rank): \(resumed.output)")
                for key in ["losses", "val-losses", "weights", "learning-rate", "stop"] {
                    #expect(report?[key] == expected[key], "\(ranks ?? 1) ranks, rank \(rank), \(key): \(resumed.output)")
                }
            }
        }
    }

    /// A callback that says, on rank 1 only, that the resumed run had stopped: every rank agrees
    /// to stop before any step (the reason naming rank 1), and none is left waiting in a step's
    /// collectives (the run is bounded in time).
    @Test func aResumedStopDecidedOnOneRankStopsEveryRankBeforeAnyStep() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("batchwise-dp-es-resume-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = folder.appendingPathComponent("checkpoint.h5").path
        let first = try MPIRun.start(ranks: 2, check: "callbacks", arguments: Self.callbackArguments(epochs: 2, ["checkpoint": checkpoint]),
                                     deadline: 60)
        #expect(first.status == 0, "\(first.output)")
        let resumed = try MPIRun.start(ranks: 2, check: "callbacks",
                                       arguments: Self.callbackArguments(epochs: 4, ["resume": checkpoint, "resume-stop-rank": "1"]),
                                       deadline: 60)
        #expect(resumed.status == 0, "\(resumed.output)")
        for rank in 0..<2 {
            #expect(resumed.reports[rank]?["stop"] == ["stopped_before_epoch_3_(rank_1)"], "rank \(rank): \(resumed.output)")
            #expect(resumed.reports[rank]?["events"] == ["begin", "end"], "rank \(rank): \(resumed.output)")
            #expect(resumed.reports[rank]?["losses"] == first.reports[rank]?["losses"], "rank \(rank): \(resumed.output)")
        }
    }

    /// A snapshot given to rank 0 only (a checkpoint loaded there alone): every rank enters the
    /// resumed-stop agreement at `fit`'s start all the same, so none waits in another collective,
    /// and the first step's agreement refuses the differing positions on every rank.
    @Test func aSnapshotGivenToOneRankOnlyIsRefusedOnEveryRankWithoutHanging() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("batchwise-dp-es-resume-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = folder.appendingPathComponent("checkpoint.h5").path
        let first = try MPIRun.start(ranks: 2, check: "callbacks", arguments: Self.callbackArguments(epochs: 2, ["checkpoint": checkpoint]),
                                     deadline: 60)
        #expect(first.status == 0, "\(first.output)")
        let resumed = try MPIRun.start(ranks: 2, check: "callbacks",
                                       arguments: Self.callbackArguments(epochs: 4, ["resume": checkpoint, "resume-rank": "0",
                                                                                     "report-errors": "1"]),
                                       deadline: 60)
        #expect(resumed.status == 0, "\(resumed.output)")
        for rank in 0..<2 {
            let error = resumed.reports[rank]?["error"]?.joined(separator: " ") ?? ""
            #expect(error.contains("epoch"), "rank \(rank) did not refuse the differing positions: \(resumed.output)")
            #expect(resumed.reports[rank]?["events"]?.contains("step") != true, "rank \(rank): \(resumed.output)")
        }
    }
}
#endif
