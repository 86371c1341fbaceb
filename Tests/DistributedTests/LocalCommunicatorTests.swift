@testable import Distributed
import Foundation
import Testing

/// The world of one (no mpirun): what a unit test or a plain `swift run` gets.
@Suite struct LocalCommunicatorTests {
    @Test func withoutALauncherTheWorldHasOneRankAndNoMPI() throws {
        let world = try Communicator.world(environment: [:])
        #expect(world.rank == 0 && world.size == 1 && !world.usesMPI && world.threadLevel == nil)
        var values: [Float] = [1, 2.5, -3]
        try world.allReduceSum(&values)
        #expect(values == [1, 2.5, -3])
        try world.broadcast(&values, from: 0)
        #expect(values == [1, 2.5, -3])
        #expect(try world.allGather([4.0, 5.0]) == [[4.0, 5.0]])
        try world.barrier()
        try world.finalize()
        #expect(throws: DistributedError.finalized(operation: "barrier()")) { try world.barrier() }
    }

    @Test func broadcastFromARankOutsideTheWorldThrows() throws {
        let world = try Communicator.world(environment: [:])
        var values: [Double] = [1]
        #expect(throws: DistributedError.invalidRank(operation: "broadcast(_:from:)", rank: 1, size: 1)) {
            try world.broadcast(&values, from: 1)
        }
    }

    /// Every MPI call must come from the thread that created the communicator.
    @Test func aCallFromAnotherThreadThrows() throws {
        let world = try Communicator.world(environment: [:])
        let outcome = ThreadOutcome()
        let finished = DispatchSemaphore(value: 0)
        nonisolated(unsafe) let shared = world
        let thread = Thread {
            var values: [Float] = [1]
            do { try shared.allReduceSum(&values) } catch { outcome.error = error as? DistributedError }
            finished.signal()
        }
        thread.start()
        finished.wait()
        #expect(outcome.error == .wrongThread(operation: "allReduceSum(_:)"))
        var values: [Float] = [1]
        try world.allReduceSum(&values)   // the owning thread still may
    }

    @Test func theLauncherEnvironmentDecidesWhetherMPIIsUsed() throws {
        #expect(try LaunchEnvironment([:]).launchedByMPI == false)
        let launched = try LaunchEnvironment(["OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_RANK": "3"])
        #expect(launched.launchedByMPI && launched.announcedSize == 4 && launched.announcedRank == 3)
        #expect(try LaunchEnvironment(["PMIX_RANK": "0"]).launchedByMPI)
        #expect(throws: DistributedError.inconsistentLaunch(variable: "OMPI_COMM_WORLD_SIZE", value: "zero",
                                                            reason: "not an integer >= 1")) {
            try LaunchEnvironment(["OMPI_COMM_WORLD_SIZE": "zero"])
        }
        #expect(throws: DistributedError.inconsistentLaunch(variable: "OMPI_COMM_WORLD_RANK", value: "2",
                                                            reason: "not below OMPI_COMM_WORLD_SIZE=2")) {
            try LaunchEnvironment(["OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "2"])
        }
    }

    @Test func threadLevelsOrderByWhatTheyAllow() throws {
        #expect(ThreadLevel.single < .funneled && .funneled < .serialized && .serialized < .multiple)
        #expect(ThreadLevel.required == .funneled)
        #expect(throws: DistributedError.insufficientThreadLevel(required: .funneled, provided: .single)) {
            try ThreadLevel.check(provided: .single)
        }
        try ThreadLevel.check(provided: .funneled)
        try ThreadLevel.check(provided: .multiple)
        #expect(DistributedError.insufficientThreadLevel(required: .funneled, provided: .single).errorDescription
                == "Open MPI provides thread level MPI_THREAD_SINGLE, Batchwise needs at least MPI_THREAD_FUNNELED")
    }
}

final class ThreadOutcome: @unchecked Sendable {
    var error: DistributedError?
}
