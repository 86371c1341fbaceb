import Distributed
import Foundation
import Testing

#if os(Linux)
/// Issue 16 item 4 end to end: synchronized BatchNormalization and AdaBN re-calibration in
/// DataParallelTrainer under `mpirun` (DistributedCheckHelper `train`). In the serialized
/// MPIRunTests suite, so no two runs of up to 4 ranks overlap.
extension MPIRunTests {
    /// 3 global batches of 64 rows per epoch, 2 epochs, 8 micro-shards: with 2 ranks each holds
    /// 32 rows of every batch.
    static func synchronizedArguments(images: Bool) -> [String: String] {
        ["rows": "192", "batch": "64", "micro-shards": "8", "epochs": "2", "mode": "ordered", "batchnorm": "1",
         "images": images ? "1" : "0", "reference": "1"]
    }

    /// Synchronized BatchNormalization, ordered mode: 2 ranks x 32 rows (and 4 x 16) give
    /// bitwise the weights, moving statistics, every step's weight hash and loss, and the epoch
    /// losses of 1 rank x 64 rows, on every rank. The independent reference: one process
    /// training the same model with `Sequential.trainingStep` on each whole batch of 64 rows
    /// ends within 2e-6 of it (only the order of additions differs), which ghost-batch
    /// statistics do not. With `images`, a BatchNormalization over NHWC images (N·H·W per channel) comes first.
    @Test(arguments: [false, true])
    func synchronizedBatchNormTwoRanksOf32RowsEqualOneRankOf64RowsBitwise(images: Bool) throws {
        let arguments = Self.synchronizedArguments(images: images)
        let expected = try Self.expectOneRanksReportOnTwoAndFourRanks(arguments)
        let weights = try Self.floats(#require(expected["weights"]))
        let reference = try Self.floats(#require(expected["reference-weights"]))
        #expect(weights.count == reference.count && !weights.isEmpty)
        #expect(Self.worstDifference(weights, reference) <= 2e-6)

        var ghostArguments = arguments
        ghostArguments["bn-statistics"] = "ghostBatch"
        let ghost = try MPIRun.start(ranks: 2, check: "train", arguments: ghostArguments)
        #expect(ghost.status == 0, "\(ghost.output)")
        let ghostWeights = try Self.floats(#require(ghost.reports[0]?["weights"], "\(ghost.output)"))
        #expect(Self.worstDifference(ghostWeights, reference) > 1e-3)
    }

    /// AdaBN across ranks: after training (51 rows, uneven steps, some ranks without rows in the
    /// last one), every BatchNormalization's moving statistics re-estimated on shifted rows are
    /// bitwise the same on every rank of 1, 2 and 4 ranks and of the world of one, and within
    /// 1e-6 of `Sequential.recalibratingBatchNormalization` on all the rows in one process.
    @Test func recalibrationAcrossRanksGivesTheSingleProcessStatistics() throws {
        var arguments = Self.trainArguments(mode: .ordered, batchNorm: true)
        arguments["images"] = "1"
        arguments["recalibrate"] = "1"
        let alone = try MPIRun.start(ranks: nil, check: "train", arguments: arguments)
        #expect(alone.status == 0, "\(alone.output)")
        let expected = try #require(alone.reports[0]?["recalibrated"], "\(alone.output)")
        let reference = try Self.floats(#require(alone.reports[0]?["recalibrated-reference"]))
        let statistics = try Self.floats(expected)
        #expect(statistics.count == 2 * (1 + 8) && reference.count == statistics.count)
        #expect(Self.worstDifference(statistics, reference) <= 1e-6)
        for ranks in [1, 2, 4] {
            let run = try MPIRun.start(ranks: ranks, check: "train", arguments: arguments)
            #expect(run.status == 0, "\(run.output)")
            for rank in 0..<ranks {
                #expect(run.reports[rank]?["recalibrated"] == expected, "\(ranks) ranks, rank \(rank): \(run.output)")
            }
        }
    }

    /// With synchronized BatchNormalization a step enters several collectives; a rank that
    /// cannot read its rows still enters every one (with zeros), so both ranks return from the
    /// step with their typed errors (rank 1 its own, rank 0 "another rank failed") instead of
    /// waiting. Checked directly, not through the collectives' length checks (which would also
    /// stop a rank that skipped collectives, and may be dropped for speed): each rank reports how
    /// many collectives it entered in the failed step, and both equal those of a healthy step (plus
    /// the fit's start agreement).
    @Test(arguments: ReductionMode.allCases)
    func aFailingRankStopsSynchronizedBatchNormTrainingOnEveryRank(mode: ReductionMode) throws {
        let (run, _, stopped) = try Self.runWithAFailedRank(Self.trainArguments(mode: mode, batchNorm: true))
        #expect(stopped.hasPrefix("rank 0 stopped in epoch 0, step 0 because another rank failed"), "\(stopped)")
        for rank in 0..<2 {
            let counts = run.reports[rank]?["collectives"]?.compactMap { Int($0) } ?? []
            // One BatchNormalization after a Dense: 3 reductions of its own, then the step's; the
            // failed fit adds its start's agreement (the callbacks' resumed stop and trainingWillBegin).
            #expect(counts.count == 2 && counts[0] >= 4 && counts[0] + 1 == counts[1], "rank \(rank): \(counts) \(run.output)")
        }
    }

    /// Dropout in data-parallel training (ordered mode): each row's mask comes from the row's
    /// index in the global batch, so 2 and 4 ranks give bitwise every step's weight hash and
    /// loss, the weights and Dropout's generator state of 1 rank; and the masks are those of one
    /// process drawing for the whole batch: the weights are within 2e-6 of a process training
    /// on whole batches with `Sequential.trainingStep` (only the order of additions differs),
    /// and its generator ends in the same state. `fast` mode on 2 ranks: within 1e-5, the same state.
    @Test func dropoutTrainsBitwiseTheSameOnOneTwoAndFourRanks() throws {
        var arguments = Self.synchronizedArguments(images: false)
        arguments["dropout"] = "1"
        let expected = try Self.expectOneRanksReportOnTwoAndFourRanks(arguments, alsoComparing: ["rng-states"])
        #expect(expected["rng-states"] == expected["reference-rng-states"] && expected["rng-states"]?.first?.hasPrefix("dropout=") == true)
        let weights = try Self.floats(#require(expected["weights"]))
        let reference = try Self.floats(#require(expected["reference-weights"]))
        #expect(weights.count == reference.count && !weights.isEmpty)
        #expect(Self.worstDifference(weights, reference) <= 2e-6)

        arguments["mode"] = "fast"
        let fast = try MPIRun.start(ranks: 2, check: "train", arguments: arguments)
        #expect(fast.status == 0, "\(fast.output)")
        let fastWeights = try Self.floats(#require(fast.reports[1]?["weights"], "\(fast.output)"))
        #expect(Self.worstDifference(fastWeights, reference) <= 1e-5)
        #expect(fast.reports[1]?["rng-states"] == expected["rng-states"])
    }

    /// `perLayer` with one synchronized BatchNormalization (the hidden one, `synchronized: true`)
    /// and one per micro-shard (over the images, Keras's default `false`), with Dropout:
    /// 2 and 4 ranks give bitwise the run of 1 rank; and it is neither the all-synchronized nor
    /// the all-ghost-batch run.
    @Test func perLayerFlagsTrainBitwiseTheSameOnOneTwoAndFourRanks() throws {
        var arguments = Self.synchronizedArguments(images: true)
        arguments["bn-flag"] = "1"
        arguments["bn-statistics"] = "perLayer"
        arguments["dropout"] = "1"
        arguments["reference"] = nil
        let expected = try Self.expectOneRanksReportOnTwoAndFourRanks(arguments)
        for overriding in ["synchronized", "ghostBatch"] {
            arguments["bn-statistics"] = overriding
            let run = try MPIRun.start(ranks: 2, check: "train", arguments: arguments)
            #expect(run.status == 0, "\(run.output)")
            #expect(run.reports[0]?["weights"] != nil && run.reports[0]?["weights"] != expected["weights"], "\(overriding)")
        }
    }

    /// Runs the `train` check with `arguments` on 1 rank, then on 2 and 4, and expects every
    /// rank of those to report bitwise the 1-rank run's step hashes and losses (2 epochs of 3
    /// steps), weights, epoch losses and `alsoComparing`; returns the 1-rank report.
    static func expectOneRanksReportOnTwoAndFourRanks(
        _ arguments: [String: String], alsoComparing extra: [String] = []
    ) throws -> [String: [String]] {
        let one = try MPIRun.start(ranks: 1, check: "train", arguments: arguments)
        #expect(one.status == 0, "\(one.output)")
        let expected = try #require(one.reports[0], "no report: \(one.output)")
        let labels = (0..<2).flatMap { epoch in (0..<3).map { "step-\(epoch)-\($0)" } } + ["weights", "losses"] + extra
        #expect(labels.allSatisfy { expected[$0] != nil })
        for ranks in [2, 4] {
            let run = try MPIRun.start(ranks: ranks, check: "train", arguments: arguments)
            #expect(run.status == 0, "\(run.output)")
            for rank in 0..<ranks {
                let report = try #require(run.reports[rank], "\(ranks) ranks: no report from rank \(rank): \(run.output)")
                for label in labels { #expect(report[label] == expected[label], "\(ranks) ranks, rank \(rank): \(label)") }
            }
        }
        return expected
    }

    /// The largest difference relative to the reference value once it exceeds 1.
    static func worstDifference(_ values: [Float], _ reference: [Float]) -> Float {
        zip(values, reference).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? .infinity
    }
}
#endif
