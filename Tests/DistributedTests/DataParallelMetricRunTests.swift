import Distributed
import Foundation
import Testing

#if os(Linux)
/// Issue 16 item 2's metrics: `DataParallelTrainer.fit` records Keras's training "accuracy"
/// (its default metric for sparse crossentropy) as an exact global value, under `mpirun`
/// (DistributedCheckHelper `train`, 51 rows in steps of 16, 16, 16, 3 over 8 micro-shards).
extension MPIRunTests {
    static func doubles(_ bits: [String]) throws -> [Double] {
        try bits.map { Double(bitPattern: try #require(UInt64($0, radix: 16))) }
    }

    /// Ordered mode: the History's epoch accuracies are bitwise the same alone and on 1, 2 and 4
    /// ranks, on every rank, and equal (to 1e-12: the micro-shards' accuracies times their rows
    /// are added in Double) an independent count: the model before each step predicting the
    /// whole global batch in one process, its correct rows counted over the epoch.
    /// Without metrics (`--metrics none`) the History has no accuracy and the weights are
    /// bitwise those of the run with metrics.
    @Test func orderedTrainingAccuracyIsBitwiseTheSameOnOneTwoAndFourRanksAndMatchesACount() throws {
        var arguments = Self.trainArguments(mode: .ordered, batchNorm: true)
        arguments["count-accuracy"] = "1"
        let alone = try MPIRun.start(ranks: nil, check: "train", arguments: arguments)
        #expect(alone.status == 0, "\(alone.output)")
        let expected = try #require(alone.reports[0], "no report: \(alone.output)")
        let accuracies = try Self.doubles(#require(expected["accuracies"]))
        let counted = try Self.doubles(#require(expected["counted-accuracies"]))
        #expect(accuracies.count == 2 && counted.count == 2)
        for (recorded, count) in zip(accuracies, counted) {
            #expect(abs(recorded - count) <= 1e-12, "recorded \(accuracies), counted \(counted)")
        }
        // A constant accuracy would pass the count check by luck only if the counts were equal too.
        #expect(accuracies.allSatisfy { $0 > 0 && $0 < 1 }, "\(accuracies)")
        for ranks in [1, 2, 4] {
            let run = try MPIRun.start(ranks: ranks, check: "train", arguments: arguments)
            #expect(run.status == 0, "\(run.output)")
            for rank in 0..<ranks {
                #expect(run.reports[rank]?["accuracies"] == expected["accuracies"], "\(ranks) ranks, rank \(rank): \(run.output)")
            }
        }
        var none = arguments
        (none["metrics"], none["count-accuracy"]) = ("none", nil)
        let withoutMetrics = try MPIRun.start(ranks: 2, check: "train", arguments: none)
        #expect(withoutMetrics.status == 0, "\(withoutMetrics.output)")
        #expect(withoutMetrics.reports[0]?["accuracies"] == [])
        #expect(withoutMetrics.reports[0]?["weights"] == expected["weights"])
        #expect(withoutMetrics.reports[0]?["losses"] == expected["losses"])
    }

    /// Fast mode (one segment per rank, the gradients reduced during the backward pass): every
    /// rank records the same accuracies, within 1e-5 of the ordered run alone, on 2 and 4 ranks.
    @Test func fastTrainingAccuracyAgreesWithTheOrderedRunWithinTolerance() throws {
        let alone = try MPIRun.start(ranks: nil, check: "train", arguments: Self.trainArguments(mode: .ordered, batchNorm: false))
        let reference = try Self.doubles(#require(alone.reports[0]?["accuracies"], "\(alone.output)"))
        #expect(reference.count == 2)
        for ranks in [2, 4] {
            let run = try MPIRun.start(ranks: ranks, check: "train", arguments: Self.trainArguments(mode: .fast, batchNorm: false))
            #expect(run.status == 0, "\(run.output)")
            let first = try Self.doubles(#require(run.reports[0]?["accuracies"], "\(run.output)"))
            for rank in 1..<ranks { #expect(try Self.doubles(#require(run.reports[rank]?["accuracies"])) == first, "rank \(rank)") }
            #expect(first.count == reference.count)
            for (fast, ordered) in zip(first, reference) {
                #expect(abs(fast - ordered) <= 1e-5, "\(ranks) ranks: fast \(first), ordered \(reference)")
            }
        }
    }

    /// A checkpoint written by 2 ranks after 3 of epoch 0's 4 steps carries the unfinished
    /// epoch's accuracy sum: resumed on 4 ranks, the History's accuracies are bitwise those of
    /// the uninterrupted run alone.
    @Test func aResumeOnAnotherRankCountEndsWithTheSameAccuracies() throws {
        let arguments = Self.trainArguments(mode: .ordered, batchNorm: true)
        let alone = try MPIRun.start(ranks: nil, check: "train", arguments: arguments)
        let expected = try #require(alone.reports[0]?["accuracies"], "\(alone.output)")
        #expect(expected.count == 2)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("batchwise-dp-metrics-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = folder.appendingPathComponent("step-3.h5").path
        var stopping = arguments
        (stopping["checkpoint"], stopping["stop-after"]) = (checkpoint, "3")
        let stopped = try MPIRun.start(ranks: 2, check: "train", arguments: stopping)
        #expect(stopped.status == 0 && stopped.reports[0]?["stopped"] == ["3"], "\(stopped.output)")
        var resuming = arguments
        resuming["resume"] = checkpoint
        let run = try MPIRun.start(ranks: 4, check: "train", arguments: resuming)
        #expect(run.status == 0, "\(run.output)")
        for rank in 0..<4 { #expect(run.reports[rank]?["accuracies"] == expected, "rank \(rank): \(run.output)") }
    }
}
#endif
