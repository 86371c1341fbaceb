@testable import Distributed
import Foundation
import Testing

/// The test hook that makes one rank's shared-memory window allocation go wrong reads its rank
/// and its kind, and nothing else.
struct InjectedWindowFailureTests {
    @Test func theHookNamesOneRankAndAKind() {
        let variable = InjectedWindowFailure.variable
        #expect(InjectedWindowFailure(rank: 1, environment: [variable: "1:refuse"]) == .refuse)
        #expect(InjectedWindowFailure(rank: 1, environment: [variable: "1:fail"]) == .fail)
        #expect(InjectedWindowFailure(rank: 1, environment: [variable: "1:lose"]) == .lose)
        #expect(InjectedWindowFailure(rank: 0, environment: [variable: "1:fail"]) == nil)
        #expect(InjectedWindowFailure(rank: 1, environment: [variable: "1:crash"]) == nil)
        #expect(InjectedWindowFailure(rank: 1, environment: [:]) == nil)
    }
}

#if os(Linux)
extension MPIRunTests {
    /// The window's allocation goes wrong on rank 1 only, before the collective (`refuse`: that
    /// rank will not allocate) or after it (`fail`: it allocated and reports a failure; `lose`:
    /// it acts as if its call had left it no window, so rank 0 must not free its own). Every
    /// rank must agree: nobody waits in `MPI_Win_allocate_shared` or `MPI_Win_free` for a rank
    /// that is not there (the run ends within its deadline), both ranks see no window, and fast
    /// mode's trainer carries the gradients by the collectives on both ranks, with bitwise the
    /// weights of a run that asked for the collectives. No window's backing file is left.
    @Test(.timeLimit(.minutes(5)))
    func aWindowThatFailsOnOneRankOnlyMakesEveryRankFallBackToTheCollectives() throws {
        let before = Self.windowBackingFiles()
        let arguments = Self.trainArguments(mode: .fast, batchNorm: true)
        var collectives = arguments
        collectives["transport"] = "collectives"
        let reference = try MPIRun.start(ranks: 2, check: "train", arguments: collectives, deadline: 90)
        #expect(reference.status == 0, "\(reference.output)")
        for failure in ["1:refuse", "1:fail", "1:lose"] {
            let sum = try MPIRun.start(ranks: 2, check: "shared-memory-sum", arguments: ["count": "1000", "window-failure": failure],
                                       deadline: 60)
            #expect(sum.status == 0, "\(failure): \(sum.output)")
            for rank in 0..<2 { #expect(sum.reports[rank]?["opened"] == ["no"], "\(failure), rank \(rank): \(sum.output)") }

            var failing = arguments
            (failing["transport"], failing["window-failure"]) = ("shared-memory", failure)
            let run = try MPIRun.start(ranks: 2, check: "train", arguments: failing, deadline: 90)
            #expect(run.status == 0, "\(failure): \(run.output)")
            for rank in 0..<2 {
                #expect(run.reports[rank]?["transport"] == ["collectives"], "\(failure), rank \(rank): \(run.output)")
                #expect(run.reports[rank]?["weights"] != nil && run.reports[rank]?["weights"] == reference.reports[rank]?["weights"],
                        "\(failure), rank \(rank)")
            }
        }
        // A window kept unfreed (`lose`) goes with its process: no backing file outlives the runs.
        #expect(Self.windowBackingFiles().subtracting(before).isEmpty, "shared-memory segments outlived the runs")
    }
}
#endif
