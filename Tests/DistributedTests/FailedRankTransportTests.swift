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
    @Test(arguments: [(ReductionMode.fast, ["batchnorm": "1", "bn-statistics": "ghostBatch"], "another rank passed malformed input"),
                      (.ordered, ["transport": "shared-memory", "hidden": "1024"], "rank 1 passed malformed input")])
    func aFailedRankStopsTheOtherOnTheChosenReductionPath(mode: ReductionMode, options: [String: String], named: String) throws {
        var arguments = Self.trainArguments(mode: mode, batchNorm: false).merging(options) { $1 }
        arguments["fail-rank"] = "1"
        arguments["report-errors"] = "1"
        let run = try MPIRun.start(ranks: 2, check: "train", arguments: arguments, deadline: 60)
        #expect(run.status == 0, "\(run.output)")
        let failed = run.reports[1]?["error"]?.joined(separator: " ") ?? ""
        let stopped = run.reports[0]?["error"]?.joined(separator: " ") ?? ""
        #expect(failed.hasPrefix("rank 1 failed in epoch 0, step 0: ") && failed.contains("cannot open /data/rank-1.h5"), "\(failed)")
        #expect(stopped.hasPrefix("rank 0 stopped in epoch 0, step 0 because another rank failed (") && stopped.contains(named),
                "\(stopped)")
    }
}
#endif
