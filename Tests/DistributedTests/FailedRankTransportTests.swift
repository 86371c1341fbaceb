import Distributed
import Foundation
import Testing

#if os(Linux)
/// Issue 16 item 7 on the reduction paths a program chooses with the trainer's options: a rank
/// that cannot read its rows fails the step with its own error and the other rank stops with a
/// typed error instead of waiting, in `fast` mode with ghost-batch BatchNormalization (the
/// micro-shards' sums reduced after the step in one in-place all-reduce, not the overlapped
/// reduction) and in `ordered` mode through the shared-memory window (`transport:
/// .sharedMemory` with 1,024 hidden units: the fold along the ranks in the window). In the serialized MPIRunTests suite; the watchdog bounds a hang and MPIRun
/// checks that nothing is left running.
extension MPIRunTests {
    /// The `train` check on 2 ranks with `arguments`, rank 1 unable to read its rows and both
    /// ranks reporting the error they threw: the run (checked to end normally), rank 1's error
    /// (checked to be its own, naming its file) and rank 0's.
    static func runWithAFailedRank(_ arguments: [String: String],
                                   sourceLocation: SourceLocation = #_sourceLocation) throws -> (run: MPIRun, failed: String, stopped: String) {
        let run = try MPIRun.start(ranks: 2, check: "train", arguments: arguments.merging(["fail-rank": "1", "report-errors": "1"]) { $1 },
                                   deadline: 60)
        #expect(run.status == 0, "\(run.output)", sourceLocation: sourceLocation)
        let failed = run.reports[1]?["error"]?.joined(separator: " ") ?? ""
        #expect(failed.hasPrefix("rank 1 failed in epoch 0, step 0: ") && failed.contains("cannot open /data/rank-1.h5"), "\(failed)",
                sourceLocation: sourceLocation)
        return (run, failed, run.reports[0]?["error"]?.joined(separator: " ") ?? "")
    }

    @Test(arguments: [(ReductionMode.fast, ["batchnorm": "1", "bn-statistics": "ghostBatch"], "another rank passed malformed input"),
                      (.ordered, ["transport": "shared-memory", "hidden": "1024"], "rank 1 passed malformed input")])
    func aFailedRankStopsTheOtherOnTheChosenReductionPath(mode: ReductionMode, options: [String: String], named: String) throws {
        let (_, _, stopped) = try Self.runWithAFailedRank(Self.trainArguments(mode: mode, batchNorm: false).merging(options) { $1 })
        #expect(stopped.hasPrefix("rank 0 stopped in epoch 0, step 0 because another rank failed (") && stopped.contains(named),
                "\(stopped)")
    }
}
#endif
