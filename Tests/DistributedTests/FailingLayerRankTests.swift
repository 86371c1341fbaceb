import Distributed
import Foundation
import Testing

#if os(Linux)
/// Issue 16 items 2 and 7 for a failure inside the model: a custom layer (DistributedCheckHelper's
/// `FlakyLayer`, named `flaky`) throws in its forward or backward pass on rank 1 only, while rank 0's
/// step goes on into the collectives after it: synchronized BatchNormalization's sums (the
/// layer sits in front of the BatchNormalization for a forward failure, behind it for a backward
/// one, so that the sums come after the throw either way) and the gradients' reduction. In
/// `fast` mode with 1,024 hidden units over the collectives, the overlapped step starts the
/// hidden kernel's all-reduce during the backward pass; `ordered` mode runs the micro-shards'
/// segmented step. In the serialized MPIRunTests suite; the watchdog bounds a hang and MPIRun
/// checks that nothing is left running.
extension MPIRunTests {
    @Test(arguments: [(ReductionMode.fast, "forward"), (.fast, "backward"), (.ordered, "forward"), (.ordered, "backward")])
    func aLayerFailingOnOneRankEndsTheJobNamingTheRankAndTheLayer(mode: ReductionMode, pass: String) throws {
        var arguments = Self.trainArguments(mode: mode, batchNorm: true).merging(["flaky": pass, "flaky-rank": "1"]) { $1 }
        if mode == .fast { arguments.merge(["hidden": "1024", "transport": "collectives"]) { $1 } }
        // Rows per segment on rank 1 in step 0: its 8 rows in one segment (fast), or a micro-shard's 2 (ordered).
        let failure = "rank 1 failed in epoch 0, step 0: layer 'flaky': cannot take rank 1's \(mode == .fast ? 8 : 2) rows in the \(pass) pass"

        // As a program would run it: the failed rank's error ends the job.
        let job = try MPIRun.start(ranks: 2, check: "train", arguments: arguments, deadline: 60)
        #expect(job.status != 0, "\(job.output)")
        #expect(job.output.contains("rank 1: " + failure), "\(job.output)")

        // With errors reported instead (so that mpirun ends no rank early): both ranks return from
        // the step, each with its own error, after entering as many collectives as a healthy step (and the fit's start agreement).
        let reported = try MPIRun.start(ranks: 2, check: "train", arguments: arguments.merging(["report-errors": "1"]) { $1 },
                                        deadline: 60)
        #expect(reported.status == 0, "\(reported.output)")
        #expect(reported.reports[1]?["error"]?.joined(separator: " ") == failure, "\(reported.output)")
        let stopped = reported.reports[0]?["error"]?.joined(separator: " ") ?? ""
        #expect(stopped.hasPrefix("rank 0 stopped in epoch 0, step 0 because another rank failed ("), "\(stopped)")
        for rank in 0..<2 {
            let counts = reported.reports[rank]?["collectives"]?.compactMap { Int($0) } ?? []
            // The step's agreement, BatchNormalization's forward and backward sums, the gradients'
            // reduction; the failed fit adds its start's agreement (resumed stop, trainingWillBegin).
            #expect(counts.count == 2 && counts[0] >= 4 && counts[0] + 1 == counts[1], "rank \(rank): \(counts) \(reported.output)")
        }
    }
}
#endif
