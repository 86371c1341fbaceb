/// Sums of `Float` vectors over the ranks of one node through an MPI-3 shared-memory window:
/// ``ReductionTransport/sharedMemory``'s exchange on its own, for benchmarks and checks.
///
/// ```swift
/// import Distributed
///
/// let world = try Communicator.world()
/// var values: [Float] = [1, 2, 3]
/// if let shared = try SharedMemoryAllReduce.open(on: world, capacity: values.count) {
///     try shared.sum(&values)   // the element-wise sum over all ranks, the same bits everywhere
/// } else {
///     try world.allReduceSum(&values)   // ranks on other nodes, or a world of one
/// }
/// try world.finalize()
/// ```
///
/// Every rank must call ``open(on:capacity:)`` and each ``sum(_:)`` at the same point with the
/// same counts (a mismatch is a programming error: the lengths are not exchanged). Rank `r`
/// adds its slice of the values over the ranks in rank order, so on 2 ranks every sum is
/// bitwise `MPI_SUM`'s `a + b`; on more ranks the order differs from Open MPI's.
public final class SharedMemoryAllReduce {
    private let window: SharedMemoryWindow

    private init(window: SharedMemoryWindow) {
        self.window = window
    }

    /// Opens a window of `capacity` values per rank, or returns nil (on every rank alike) when
    /// not every rank of `communicator` shares this node, the window cannot be allocated, or the
    /// world has one rank. A collective: every rank calls it. Throws
    /// ``DistributedError/mpiCall(function:rank:code:message:)`` naming the rank and the call
    /// when MPI fails otherwise.
    public static func open(on communicator: Communicator, capacity: Int) throws -> SharedMemoryAllReduce? {
        guard capacity >= 0 else { throw DistributedError.shapeMismatch(operation: "SharedMemoryAllReduce.open", expected: 0, actual: capacity) }
        return try SharedMemoryWindow.open(on: communicator, capacity: capacity, operation: "SharedMemoryAllReduce.open").window
            .map(SharedMemoryAllReduce.init)
    }

    /// The values each rank may sum at once.
    public var capacity: Int { window.capacity }

    /// Replaces `values` with the element-wise sum over all ranks. Throws
    /// ``DistributedError/bufferTooLarge(operation:count:)`` beyond ``capacity``.
    public func sum(_ values: inout [Float]) throws {
        guard values.count <= capacity else { throw DistributedError.bufferTooLarge(operation: "SharedMemoryAllReduce.sum", count: values.count) }
        try values.withUnsafeMutableBufferPointer { try window.allReduceSum([$0], operation: "SharedMemoryAllReduce.sum") }
    }
}
