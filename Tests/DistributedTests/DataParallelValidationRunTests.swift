import Distributed
import Foundation
import Testing

#if os(Linux)
/// Validation data in `DataParallelTrainer.fit` (issue 16 follow-up, Keras's
/// `fit(validation_data=...)` under a distribution strategy), under `mpirun`:
/// DistributedCheckHelper `validate` (ValidationCheck.swift), 51 training rows in global steps
/// of 16, 16, 16, 3 over 8 micro-shards, and validation rows scored after every epoch.
extension MPIRunTests {
    static func validationArguments(mode: ReductionMode, validationRows: Int) -> [String: String] {
        ["rows": "51", "val-rows": String(validationRows), "batch": "16", "micro-shards": "8", "epochs": "2",
         "mode": mode.rawValue]
    }

    /// Every value of `a` within `tolerance` of the one at the same place in `b`, and as many.
    static func expectClose(_ a: [Double], _ b: [Double], within tolerance: Double, _ comment: String,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance },
                "\(comment): \(a) against \(b)", sourceLocation: sourceLocation)
    }

    /// Checks the run alone against its single-process references and returns its report;
    /// then 1, 2 and 4 ranks must record bitwise the same validation values on every rank.
    ///
    /// The references: `Trainer.evaluate` of the model each epoch ended with, on the validation
    /// rows batched as the micro-shards, equal to 1e-12 (each micro-shard's mean times its rows
    /// is added in Double, per global batch and then over the batches, where one process adds
    /// them one after another); an independent count of the correct predictions, to 1e-12 (a
    /// micro-shard's accuracy times its rows is not always an exact integer in Double); and a
    /// real `Trainer.fit` with `validationData` on the same global batches, whose own training
    /// rounds differently (its gradients are one batch mean, the data-parallel ones sums of
    /// micro-shards): its validation loss within 1e-5, its accuracy to 1e-12 (no prediction flips).
    static func expectValidationAgreesWithOneProcess(_ arguments: [String: String]) throws -> [String: [String]] {
        var reference = arguments
        reference["reference"] = "1"
        let alone = try MPIRun.start(ranks: nil, check: "validate", arguments: reference)
        #expect(alone.status == 0, "\(alone.output)")
        let expected = try #require(alone.reports[0], "no report: \(alone.output)")
        let losses = try doubles(#require(expected["val-losses"])), accuracies = try doubles(#require(expected["val-accuracies"]))
        #expect(losses.count == 2 && accuracies.count == 2, "\(expected)")
        expectClose(losses, try doubles(#require(expected["reference-val-losses"])), within: 1e-12, "Trainer.evaluate's loss")
        expectClose(accuracies, try doubles(#require(expected["reference-val-accuracies"])), within: 1e-12, "Trainer.evaluate's accuracy")
        expectClose(accuracies, try doubles(#require(expected["counted-val-accuracies"])), within: 1e-12, "counted accuracy")
        expectClose(losses, try doubles(#require(expected["fit-val-losses"])), within: 1e-5, "Trainer.fit's val_loss")
        expectClose(accuracies, try doubles(#require(expected["fit-val-accuracies"])), within: 1e-12, "Trainer.fit's val_accuracy")
        // The epochs differ, so the values are not a constant the references could share by luck.
        #expect(losses[0] != losses[1] && losses.allSatisfy { $0.isFinite && $0 > 0 }, "\(losses)")
        for ranks in [1, 2, 4] {
            let run = try MPIRun.start(ranks: ranks, check: "validate", arguments: arguments)
            #expect(run.status == 0, "\(run.output)")
            for rank in 0..<ranks {
                for key in ["val-losses", "val-accuracies", "losses", "accuracies", "weights"] {
                    #expect(run.reports[rank]?[key] == expected[key], "\(ranks) ranks, rank \(rank), \(key): \(run.output)")
                }
            }
        }
        return expected
    }

    /// Ordered mode, 21 validation rows (global batches of 16 and 5: the second leaves
    /// micro-shards, and on 4 ranks whole ranks, without rows): the History's `val_loss` and
    /// `val_accuracy` are bitwise the same alone and on 1, 2 and 4 ranks, on every rank, and
    /// agree with one process's `Trainer.evaluate`, `Trainer.fit` and a count.
    @Test func orderedValidationIsBitwiseTheSameOnOneTwoAndFourRanksAndMatchesOneProcess() throws {
        let expected = try Self.expectValidationAgreesWithOneProcess(Self.validationArguments(mode: .ordered, validationRows: 21))
        #expect(try Self.doubles(#require(expected["val-accuracies"])).allSatisfy { $0 > 0 && $0 < 1 }, "\(expected)")
    }

    /// Fewer validation rows (3) than ranks (4): three ranks score one row each, one none, and
    /// nothing hangs; the values are those of one process. Without metrics only `val_loss` is recorded.
    @Test func fewerValidationRowsThanRanksGiveOneProcessesValues() throws {
        let arguments = Self.validationArguments(mode: .ordered, validationRows: 3)
        let expected = try Self.expectValidationAgreesWithOneProcess(arguments)
        var none = arguments
        none["metrics"] = "none"
        let run = try MPIRun.start(ranks: 4, check: "validate", arguments: none)
        #expect(run.status == 0, "\(run.output)")
        for rank in 0..<4 {
            #expect(run.reports[rank]?["val-losses"] == expected["val-losses"] && run.reports[rank]?["val-accuracies"] == [],
                    "rank \(rank): \(run.output)")
        }
    }

    /// Fast mode: every rank records the same validation values, within 1e-5 of the ordered run alone.
    @Test func fastValidationAgreesWithTheOrderedRunWithinTolerance() throws {
        let alone = try MPIRun.start(ranks: nil, check: "validate", arguments: Self.validationArguments(mode: .ordered, validationRows: 21))
        let report = try #require(alone.reports[0], "\(alone.output)")
        for ranks in [2, 4] {
            let run = try MPIRun.start(ranks: ranks, check: "validate", arguments: Self.validationArguments(mode: .fast, validationRows: 21))
            #expect(run.status == 0, "\(run.output)")
            for key in ["val-losses", "val-accuracies"] {
                let first = try Self.doubles(#require(run.reports[0]?[key], "\(run.output)"))
                for rank in 1..<ranks { #expect(run.reports[rank]?[key] == run.reports[0]?[key], "\(ranks) ranks, rank \(rank), \(key)") }
                Self.expectClose(first, try Self.doubles(#require(report[key])), within: 1e-5, "\(ranks) ranks fast, \(key)")
            }
        }
    }

    /// A checkpoint written by 2 ranks in epoch 1 (after global step 5, epoch 0's validation in
    /// its History) resumed on 1 and on 4 ranks: the History's validation values are bitwise
    /// those of the uninterrupted run alone.
    @Test func aResumeOnAnotherRankCountEndsWithTheSameValidationHistory() throws {
        let arguments = Self.validationArguments(mode: .ordered, validationRows: 21)
        let alone = try MPIRun.start(ranks: nil, check: "validate", arguments: arguments)
        let expected = try #require(alone.reports[0], "\(alone.output)")
        #expect(expected["val-losses"]?.count == 2)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("batchwise-dp-validation-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = folder.appendingPathComponent("step-5.h5").path
        var stopping = arguments
        (stopping["checkpoint"], stopping["stop-after"]) = (checkpoint, "5")
        let stopped = try MPIRun.start(ranks: 2, check: "validate", arguments: stopping)
        #expect(stopped.status == 0 && stopped.reports[0]?["stopped"] == ["5"], "\(stopped.output)")
        var resuming = arguments
        resuming["resume"] = checkpoint
        for ranks in [1, 4] {
            let run = try MPIRun.start(ranks: ranks, check: "validate", arguments: resuming)
            #expect(run.status == 0, "\(run.output)")
            for rank in 0..<ranks {
                for key in ["val-losses", "val-accuracies", "weights"] {
                    #expect(run.reports[rank]?[key] == expected[key], "\(ranks) ranks, rank \(rank), \(key): \(run.output)")
                }
            }
        }
    }

    /// Validation rows the model cannot score fail on every rank before the first step, with
    /// the error `Trainer.fit` alone throws for them (features of 5 values for a model of 4
    /// inputs; labels of 2 values for sparse crossentropy); no rows at all, ranks given
    /// different numbers of rows and a rank that cannot read its rows fail every rank too,
    /// naming what is wrong, and nothing hangs (each run is bounded and leaves no process).
    @Test func validationDataTheModelCannotScoreFailsOnEveryRankWithoutHanging() throws {
        var base = Self.validationArguments(mode: .ordered, validationRows: 21)
        base["report-errors"] = "1"
        for (key, value) in [("val-features", "5"), ("val-label-width", "2")] {
            var arguments = base
            arguments[key] = value
            let run = try MPIRun.start(ranks: 2, check: "validate", arguments: arguments)
            #expect(run.status == 0, "\(run.output)")
            let reference = try #require(run.reports[0]?["reference-error"], "\(run.output)")
            #expect(reference != ["none"], "Trainer.fit accepted --\(key) \(value)")
            for rank in 0..<2 { #expect(run.reports[rank]?["error"] == reference, "--\(key), rank \(rank): \(run.output)") }
        }
        func errors(_ changes: [String: String], ranks: Int = 2) throws -> [String] {
            let run = try MPIRun.start(ranks: ranks, check: "validate", arguments: base.merging(changes) { $1 })
            #expect(run.status == 0, "\(run.output)")
            return (0..<ranks).map { run.reports[$0]?["error"]?.joined(separator: " ") ?? "no error: \(run.output)" }
        }
        let empty = try errors(["val-rows": "0"], ranks: 4)
        #expect(empty.allSatisfy { $0 == "validationData produced no batches" }, "\(empty)")
        let uneven = try errors(["val-extra-rank": "1"])
        #expect(uneven.allSatisfy { $0.hasPrefix("validation data check: the ranks disagree on rows in the validation data") }, "\(uneven)")
        let unopenable = try errors(["val-unreadable-rank": "1", "val-unreadable-from": "0"])
        #expect(unopenable[1] == "cannot open /data/validation-rank-1.h5 row 0: no such file"
                && unopenable[0] == "validation data check: rank 1 passed malformed input", "\(unopenable)")
        let unreadable = try errors(["val-unreadable-rank": "1"])
        #expect(unreadable[1].hasPrefix("rank 1 failed in epoch 0, step 0: validating (batch 1 of 2 of the validation rows): cannot open")
                && unreadable[0].hasPrefix("rank 0 stopped in epoch 0, step 0 because another rank failed"), "\(unreadable)")
    }
}
#endif
