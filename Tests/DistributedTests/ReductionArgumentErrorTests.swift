import Distributed
import Testing

/// The public reduction helpers refusing arguments that describe no valid exchange (world of
/// one): each is the typed error naming the operation and both sizes, thrown before any
/// collective.
struct ReductionArgumentErrorTests {
    @Test func aMeanOfAnotherWidthIsNamedBeforeTheGradientSums() throws {
        let world = try Communicator.world(environment: [:])
        let reducer = try GlobalBatchReducer(communicator: world, plan: MicroShardPlan(globalBatchSize: 2, microShardCount: 2, rankCount: 1))
        let error = #expect(throws: DistributedError.self) {
            try SynchronizedBatchNorm.gradientSums(of: [Float](repeating: 1, count: 4), upstream: [1, 2, 3, 4], mean: [0, 0, 0],
                                                   features: 2, reducer: reducer)
        }
        #expect(error == .shapeMismatch(operation: "gradientSums: mean", expected: 2, actual: 3))
        #expect(error?.errorDescription == "gradientSums: mean: expected 2 elements, got 3")
    }

    @Test func aNegativeSharedMemoryCapacityIsRefused() throws {
        let world = try Communicator.world(environment: [:])
        #expect(throws: DistributedError.shapeMismatch(operation: "SharedMemoryAllReduce.open", expected: 0, actual: -1)) {
            _ = try SharedMemoryAllReduce.open(on: world, capacity: -1)
        }
    }
}
