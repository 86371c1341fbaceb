import Foundation
import Testing

#if os(Linux)
/// Under `mpirun`, `Communicator.world()` asked for from a thread other than the one that
/// initialised MPI (a prefetch or parallel-map worker), or after `finalize()`, throws the typed
/// error naming the call, instead of a second `MPI_Init` or a call MPI forbids. In the
/// serialized MPIRunTests suite, bounded by the watchdog.
extension MPIRunTests {
    @Test func theWorldFromAnotherThreadOrAfterFinalizeIsATypedError() throws {
        let run = try MPIRun.start(ranks: 1, check: "world-misuse", arguments: [:], deadline: 60)
        #expect(run.status == 0, "\(run.output)")
        let report = try #require(run.reports[0], "\(run.output)")
        #expect(report["other-thread"]?.joined(separator: " ") == "Communicator.world() was called from another thread than the one "
                + "that created the communicator; every MPI call must come from that thread", "\(report)")
        #expect(report["after-finalize"]?.joined(separator: " ") == "Communicator.world() was called after the communicator was finalized",
                "\(report)")
    }
}
#endif
