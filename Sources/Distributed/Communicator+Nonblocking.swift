internal import CMPI

/// Nonblocking collectives started on a ``Communicator`` and not yet complete: the requests
/// of `MPI_Iallreduce` calls, in the order they were started. The buffers they reduce must
/// stay where they are, untouched, until ``Communicator/waitAll(_:operation:)`` returns.
final class PendingCollectives {
    fileprivate var requests: [MPI_Request?] = []

    /// Whether every started collective has been waited for.
    var isEmpty: Bool { requests.isEmpty }
}

extension Communicator {
    /// Starts `MPI_Iallreduce` (`MPI_SUM`) of `buffer` in place (`MPI_IN_PLACE`) without a
    /// length exchange, and adds its request to `pending`: every rank must start the same
    /// collectives with the same counts in the same order (agreed beforehand, as for
    /// ``allReduceSum(agreedLength:operation:)``). `buffer` holds the sums once
    /// ``waitAll(_:operation:)`` has returned; until then it must not be read, written or freed.
    /// A world of one leaves it as it is.
    func startAllReduceSum(agreedLength buffer: UnsafeMutableBufferPointer<Float>, pending: PendingCollectives,
                           operation: String) throws {
        try enter(operation)
        guard usesMPI, buffer.count > 0 else { return }
        let count = try mpiCount(buffer.count, operation)
        var request: MPI_Request?
        try timed {
            try MPICalls.check(MPI_Iallreduce(bw_MPI_IN_PLACE(), buffer.baseAddress, count, bw_MPI_FLOAT(), bw_MPI_SUM(),
                                              bw_MPI_COMM_WORLD(), &request), "MPI_Iallreduce", rank: rank)
        }
        pending.requests.append(request)
    }

    /// Lets the pending collectives progress (`MPI_Testall`; Open MPI moves their data only
    /// inside MPI calls) without waiting for them. Its time counts as time in collectives.
    func progress(_ pending: PendingCollectives, operation: String) throws {
        try enter(operation, counting: false)
        guard usesMPI, !pending.requests.isEmpty else { return }
        var done: Int32 = 0
        try timed {
            try MPICalls.check(MPI_Testall(Int32(pending.requests.count), &pending.requests, &done, nil), "MPI_Testall", rank: rank)
        }
        if done != 0 { pending.requests.removeAll(keepingCapacity: true) }
    }

    /// Waits until every pending collective is complete (`MPI_Waitall`).
    func waitAll(_ pending: PendingCollectives, operation: String) throws {
        try enter(operation, counting: false)
        guard usesMPI, !pending.requests.isEmpty else { return }
        defer { pending.requests.removeAll(keepingCapacity: true) }
        try timed {
            try MPICalls.check(MPI_Waitall(Int32(pending.requests.count), &pending.requests, nil), "MPI_Waitall", rank: rank)
        }
    }
}
