import Distributed
import Foundation
import Testing

#if os(Linux)
/// Only the gradients' reductions open ordered mode's shared-memory window (megabytes in
/// /dev/shm per rank): DistributedCheckHelper `evaluate-window` (EvaluationWindowCheck.swift)
/// under `mpirun` on 2 ranks.
extension MPIRunTests {
    /// `transport: .sharedMemory`, trained on global batches of 16 and evaluated on 21 rows
    /// (batches of 16 and 5): the training row count keeps its window, the 5 that only
    /// `evaluate` used has none, and the evaluation is bitwise the default transport's. The
    /// same when `evaluate` comes first: training then opens the window of the reducer for 16
    /// rows that evaluation made without one.
    @Test func evaluationOfARowCountTrainingNeverUsedOpensNoWindow() throws {
        let run = try MPIRun.start(ranks: 2, check: "evaluate-window", arguments: ["transport": "shared-memory"])
        #expect(run.status == 0, "\(run.output)")
        for rank in 0..<2 {
            let report = try #require(run.reports[rank], "no report from rank \(rank): \(run.output)")
            #expect(report["windows"] == ["16"], "rank \(rank): \(report)")
            let evaluation = try Self.doubles(#require(report["evaluation"]))
            #expect(evaluation.count == 2 && evaluation.allSatisfy(\.isFinite), "rank \(rank): \(evaluation)")
            #expect(report["evaluation"] == report["reference-evaluation"], "rank \(rank): \(report)")
            #expect(report["windows-evaluated-first"] == ["16"], "rank \(rank): \(report)")
            #expect(report["evaluation-evaluated-first"] == report["evaluation"], "rank \(rank): \(report)")
        }
    }
}
#endif
