import Distributed
import Foundation
import Testing

#if os(Linux)
/// Callbacks in `DataParallelTrainer.fit` (issue 16 follow-up), under `mpirun`:
/// DistributedCheckHelper `callbacks` (CallbackCheck.swift), 51 training rows in global steps of
/// 16, 16, 16, 3 over 8 micro-shards and 21 validation rows. Every rank must see the same events,
/// stop at the same step, fail together, and write files on rank 0 only.
extension MPIRunTests {
    static func callbackArguments(epochs: Int, _ extra: [String: String] = [:]) -> [String: String] {
        ["rows": "51", "val-rows": "21", "batch": "16", "micro-shards": "8", "epochs": String(epochs), "mode": "ordered"]
            .merging(extra) { $1 }
    }

    /// The report lines every rank of a healthy run must share with the run alone.
    static let callbackReportKeys = ["losses", "val-losses", "weights", "learning-rate", "stop", "events"]

    /// SGD(0.1)'s rate, unchanged.
    static let initialRate = String(Float(0.1).bitPattern, radix: 16)

    /// EarlyStopping on the training loss (patience 2, minDelta 0.02, restoring the best model)
    /// with ReduceLROnPlateau on val_loss: alone it stops before its 12 epochs, with a reduced
    /// rate; on 1, 2 and 4 ranks every rank stops at the same epoch with bitwise the same
    /// History, learning rate, events and restored weights.
    @Test func earlyStoppingAndReduceLROnPlateauAgreeBitwiseOnOneTwoAndFourRanks() throws {
        let arguments = Self.callbackArguments(epochs: 12, ["early-stopping": "2", "monitor": "loss", "min-delta": "0.02", "plateau": "1"])
        let alone = try MPIRun.start(ranks: nil, check: "callbacks", arguments: arguments)
        #expect(alone.status == 0, "\(alone.output)")
        let expected = try #require(alone.reports[0], "\(alone.output)")
        let epochsRun = expected["losses"]?.count ?? 0
        #expect(epochsRun > 2 && epochsRun < 12, "\(expected)")
        #expect(expected["stop"]?.first?.hasPrefix("early_stopping:_loss_did_not_improve_for_2_epochs") == true, "\(expected)")
        #expect(expected["learning-rate"] != [Self.initialRate], "ReduceLROnPlateau never acted: \(expected)")
        for ranks in [1, 2, 4] {
            let run = try MPIRun.start(ranks: ranks, check: "callbacks", arguments: arguments, deadline: 90)
            #expect(run.status == 0, "\(run.output)")
            for rank in 0..<ranks {
                for key in Self.callbackReportKeys {
                    #expect(run.reports[rank]?[key] == expected[key], "\(ranks) ranks, rank \(rank), \(key): \(run.output)")
                }
            }
        }
    }

    /// A TimeBudgetStop whose clock runs on one rank only (it counts its readings: the budget is
    /// used up after global step 6, inside epoch 1) stops every rank after that step: the same
    /// stop reason naming the rank, the same events (trainingDidStop at epoch 1, step 2, then the
    /// partial epoch), the same weights; nothing hangs (the run is bounded).
    @Test(arguments: [(2, 1), (2, 0), (4, 3)])
    func aStopOnOneRankStopsEveryRankAtTheSameStep(ranks: Int, stoppingRank: Int) throws {
        let arguments = Self.callbackArguments(epochs: 4, ["stop-at-step": "6", "stop-rank": String(stoppingRank)])
        let run = try MPIRun.start(ranks: ranks, check: "callbacks", arguments: arguments, deadline: 60)
        #expect(run.status == 0, "\(run.output)")
        let first = try #require(run.reports[0], "\(run.output)")
        #expect(first["stop"] == ["time_budget_of_6.0_s_used_up_after_step_6_(rank_\(stoppingRank))"], "\(first)")
        let events = first["events"] ?? []
        #expect(events.contains("stop:1:2:6:time_budget_of_6.0_s_used_up_after_step_6_") && !events.contains { $0.hasPrefix("step:1:3:") },
                "\(events)")
        #expect(events.suffix(2) == ["epoch:1:false:accuracy,loss:2", "end"], "\(events)")
        #expect(first["losses"]?.count == 2, "\(first)")
        // afterStep's last snapshot is the exact stop position (epoch 1 after 2 steps), not the closed partial epoch.
        #expect(first["after-step"] == ["1:2"], "\(first)")
        for rank in 1..<ranks {
            for key in Self.callbackReportKeys + ["after-step"] {
                #expect(run.reports[rank]?[key] == first[key], "rank \(rank), \(key): \(run.output)")
            }
        }
    }

    /// A callback throwing on rank 1 after global step 3: rank 1 throws its own error, rank 0 an
    /// error naming rank 1, its phase and its message, both after step 3 (no fourth step); as a
    /// program, the job fails with both lines. A trainingWillBegin failing on rank 1 stops both
    /// before any step, also when there is none to run (epochs 0).
    @Test func aCallbackThrowingOnOneRankFailsEveryRankNamingIt() throws {
        let arguments = Self.callbackArguments(epochs: 2, ["throw-at-step": "3", "throw-rank": "1"])
        let reported = try MPIRun.start(ranks: 2, check: "callbacks", arguments: arguments.merging(["report-errors": "1"]) { $1 },
                                        deadline: 60)
        #expect(reported.status == 0, "\(reported.output)")
        #expect(reported.reports[1]?["error"]?.joined(separator: " ") == "disk full on rank 1", "\(reported.output)")
        #expect(reported.reports[0]?["error"]?.joined(separator: " ")
                == "rank 0 stopped because a callback failed on rank 1 in stepDidEnd (epoch 0, step 2): disk full on rank 1",
                "\(reported.output)")
        for rank in 0..<2 {
            #expect(reported.reports[rank]?["events"]?.last == "step:0:3:3:0:3", "rank \(rank): \(reported.output)")
        }
        let job = try MPIRun.start(ranks: 2, check: "callbacks", arguments: arguments, deadline: 60)
        #expect(job.status != 0 && job.output.contains("rank 1: disk full on rank 1"), "\(job.output)")

        // Also with no step to run (epochs 0): the begin agreement alone must carry the failure.
        for epochs in [2, 0] {
            let begin = try MPIRun.start(ranks: 2, check: "callbacks",
                                         arguments: Self.callbackArguments(epochs: epochs, ["begin-fail-rank": "1", "report-errors": "1"]),
                                         deadline: 60)
            #expect(begin.reports[1]?["error"]?.joined(separator: " ") == "disk full on rank 1", "epochs \(epochs): \(begin.output)")
            #expect(begin.reports[0]?["error"]?.joined(separator: " ").hasPrefix(
                "rank 0 stopped because a callback failed on rank 1 in trainingWillBegin") == true, "epochs \(epochs): \(begin.output)")
            for rank in 0..<2 {
                #expect(begin.reports[rank]?["events"] == ["begin"], "epochs \(epochs), rank \(rank): \(begin.output)")
            }
        }
    }

    /// Rank 1 passing one callback more than rank 0 (and rank 0 alone passing any, with
    /// `--bare`): both ranks throw the first step's disagreement on the callbacks' kinds instead
    /// of entering different collectives.
    @Test func ranksPassingOtherCallbacksFailTheFirstStepInsteadOfHanging() throws {
        let expected = "data-parallel step: the ranks disagree on fit's callbacks (their kinds, in order)"
        for extra in [["extra-callback-rank": "1"], ["bare": "1", "extra-callback-rank": "0"]] {
            let run = try MPIRun.start(ranks: 2, check: "callbacks",
                                       arguments: Self.callbackArguments(epochs: 2, extra.merging(["report-errors": "1"]) { $1 }),
                                       deadline: 60)
            #expect(run.status == 0, "\(run.output)")
            for rank in 0..<2 {
                let error = run.reports[rank]?["error"]?.joined(separator: " ") ?? ""
                #expect(error.hasPrefix(expected), "\(extra), rank \(rank): \(error)")
                #expect(run.reports[rank]?["events"]?.contains { $0.hasPrefix("step:") } != true, "\(extra), rank \(rank): a step ran")
            }
        }
    }

    /// A callback that changes the learning rate on one rank only: every rank throws the
    /// disagreement after that epoch instead of training on with different weights.
    @Test func learningRatesThatDifferAfterAnEpochFailEveryRank() throws {
        let run = try MPIRun.start(ranks: 2, check: "callbacks",
                                   arguments: Self.callbackArguments(epochs: 3, ["rogue-rate-rank": "1", "report-errors": "1"]),
                                   deadline: 60)
        #expect(run.status == 0, "\(run.output)")
        for rank in 0..<2 {
            let error = run.reports[rank]?["error"]?.joined(separator: " ") ?? ""
            #expect(error.hasPrefix("data-parallel fit's callbacks, epochDidEnd (epoch 0): the ranks disagree on learning rate (float32 bits)"),
                    "rank \(rank): \(error)")
        }
    }

    /// A CheckpointCallback (every epoch) in a 2-rank fit with ReduceLROnPlateau, stopped inside
    /// epoch 1 by rank 1's time budget: rank 0 alone called `save` (epoch 0's end and the stop),
    /// rank 0 alone wrote the CSVLogger's file; resumed from that checkpoint on 1 and on 4 ranks
    /// the run ends bitwise as the uninterrupted run alone (History, rate, weights).
    @Test func aCheckpointCallbackOfTwoRanksResumesOnOneAndFourRanksBitwise() throws {
        let arguments = Self.callbackArguments(epochs: 4, ["plateau": "1", "min-delta": "0.001"])
        let alone = try MPIRun.start(ranks: nil, check: "callbacks", arguments: arguments)
        let expected = try #require(alone.reports[0], "\(alone.output)")
        #expect(expected["losses"]?.count == 4 && expected["learning-rate"] != [Self.initialRate], "\(expected)")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("batchwise-dp-callbacks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = folder.appendingPathComponent("checkpoint.h5").path
        var stopping = arguments
        (stopping["checkpoint"], stopping["stop-at-step"], stopping["stop-rank"]) = (checkpoint, "6", "1")
        stopping["csv"] = folder.appendingPathComponent("log-%r.csv").path
        let stopped = try MPIRun.start(ranks: 2, check: "callbacks", arguments: stopping, deadline: 60)
        #expect(stopped.status == 0, "\(stopped.output)")
        #expect(stopped.reports[0]?["saves"] == ["2"] && stopped.reports[1]?["saves"] == ["0"], "\(stopped.output)")
        let csv = try String(contentsOf: folder.appendingPathComponent("log-0.csv"), encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 2 && csv.hasPrefix("epoch,accuracy,loss,val_accuracy,val_loss\n0,"), "\(csv)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("log-1.csv").path), "rank 1 wrote its CSV")
        var resuming = arguments
        resuming["resume"] = checkpoint
        for ranks in [1, 4] {
            let run = try MPIRun.start(ranks: ranks, check: "callbacks", arguments: resuming, deadline: 90)
            #expect(run.status == 0, "\(run.output)")
            for rank in 0..<ranks {
                for key in ["losses", "val-losses", "weights", "learning-rate", "stop"] {
                    #expect(run.reports[rank]?[key] == expected[key], "resumed on \(ranks) ranks, rank \(rank), \(key): \(run.output)")
                }
            }
        }
    }

    /// A world of one calls the callbacks as `Trainer.fit` does on the same global batches: the
    /// same events in the same order (with the snapshots' positions), the same stop and learning
    /// rate, and losses within rounding (the trainer sums micro-shards where `Trainer` takes one
    /// batch mean) — for an early stop at an epoch's end, a stop inside an epoch with mid-epoch
    /// checkpoints, and validationSteps (the first global batch of the validation rows only).
    @Test(arguments: [["early-stopping": "1", "min-delta": "0.001", "plateau": "1"],
                      ["stop-at-step": "6", "checkpoint-steps": "3"],
                      ["validation-steps": "1", "plateau": "1", "min-delta": "0.001"]])
    func aWorldOfOneCallsTheCallbacksAsTrainerFitDoes(extra: [String: String]) throws {
        var arguments = Self.callbackArguments(epochs: 4, extra).merging(["compare-trainer": "1"]) { $1 }
        if extra["checkpoint-steps"] != nil {
            arguments["checkpoint"] = FileManager.default.temporaryDirectory.appendingPathComponent("batchwise-dp-cb-\(UUID().uuidString).h5").path
        }
        defer { arguments["checkpoint"].map { try? FileManager.default.removeItem(atPath: $0) } }
        let alone = try MPIRun.start(ranks: nil, check: "callbacks", arguments: arguments)
        #expect(alone.status == 0, "\(alone.output)")
        let report = try #require(alone.reports[0], "\(alone.output)")
        #expect(report["events"] == report["trainer-events"], "\(report)")
        #expect((report["events"]?.count ?? 0) > 8, "\(report)")
        let stop = { (key: String) in report[key]?.first?.prefix { $0 != "(" } }
        #expect(stop("stop") == stop("trainer-stop"), "\(report)")
        #expect(report["learning-rate"] == report["trainer-learning-rate"], "\(report)")
        for (mine, theirs) in [("losses", "trainer-losses"), ("val-losses", "trainer-val-losses")] {
            Self.expectClose(try Self.doubles(#require(report[mine])), try Self.doubles(#require(report[theirs])), within: 1e-5, mine)
        }
        if extra["validation-steps"] != nil {
            // Fewer validation rows than the whole set: not the full run's values.
            let full = try MPIRun.start(ranks: nil, check: "callbacks", arguments: Self.callbackArguments(epochs: 4, ["plateau": "1", "min-delta": "0.001"]))
            #expect(full.reports[0]?["val-losses"]?.first != report["val-losses"]?.first, "\(report)")
            let two = try MPIRun.start(ranks: 2, check: "callbacks", arguments: Self.callbackArguments(epochs: 4, extra), deadline: 60)
            for rank in 0..<2 {
                #expect(two.reports[rank]?["val-losses"] == report["val-losses"], "2 ranks, rank \(rank): \(two.output)")
            }
        }
    }
}
#endif

#if os(Linux)
extension MPIRunTests {
    /// The callbacks' cost in collectives, counted on 2 ranks (4 steps and one validation per
    /// epoch): without callbacks each further epoch costs exactly its 4 steps' and its
    /// validation's collectives (counted alone on copies of the trainer), so a fit without
    /// callbacks adds none per step (the callbacks' kinds ride in the step's agreement check);
    /// with callbacks it is one all-reduce more per step and per epoch (10 over 2 epochs).
    @Test func callbacksCostOneCollectivePerStepAndEpochAndNoneWithout() throws {
        var counts: [String: Int] = [:]
        var parts: (step: Int, evaluate: Int)?
        for (name, epochs, extra) in [("bare2", 2, ["bare": "1", "count-parts": "1"]), ("bare3", 3, ["bare": "1"]), ("recorder2", 2, [:])] {
            let run = try MPIRun.start(ranks: 2, check: "callbacks", arguments: Self.callbackArguments(epochs: epochs, extra), deadline: 60)
            #expect(run.status == 0, "\(run.output)")
            for rank in 0..<2 {
                let count = try #require(run.reports[rank]?["collectives"]?.first.flatMap { Int($0) }, "\(run.output)")
                if rank == 0 { counts[name] = count } else { #expect(count == counts[name], "\(name): ranks differ") }
            }
            if let step = run.reports[0]?["step-collectives"]?.first.flatMap({ Int($0) }),
               let evaluate = run.reports[0]?["evaluate-collectives"]?.first.flatMap({ Int($0) }) {
                parts = (step, evaluate)
            }
        }
        let (step, evaluate) = try #require(parts, "no counts of a step's and an evaluation's collectives")
        #expect(step >= 2 && evaluate >= 2, "\(step) \(evaluate)")
        #expect(counts["bare3"] == counts["bare2"].map { $0 + 4 * step + evaluate }, "\(counts), step \(step), evaluate \(evaluate)")
        #expect(counts["recorder2"] == counts["bare2"].map { $0 + 8 + 2 }, "\(counts)")
    }

    /// `progress: .lines` on 2 ranks stopped inside epoch 2 by rank 1's budget: rank 0 alone
    /// prints, once, the complete epoch's line with the global logs, the stopped epoch's line
    /// and why training stopped.
    @Test func progressIsPrintedByRankZeroOnly() throws {
        let run = try MPIRun.start(ranks: 2, check: "callbacks",
                                   arguments: Self.callbackArguments(epochs: 4, ["stop-at-step": "6", "stop-rank": "1", "progress": "lines"]),
                                   deadline: 60)
        #expect(run.status == 0, "\(run.output)")
        let lines = run.output.split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(run.output)")
        #expect(lines.first?.hasPrefix("Epoch 1/4: 4 steps, ") == true && lines.first?.contains(" - loss: 1.2145 - accuracy: 0.3922 - val_loss: 1.1225") == true,
                "\(run.output)")
        #expect(lines.dropFirst().first?.hasPrefix("Epoch 2/4: 2 steps, ") == true, "\(run.output)")
        #expect(lines.last == "time budget of 6.0 s used up after step 6 (rank 1)", "\(run.output)")
    }
}
#endif
