import Foundation

/// Everything the Distributed module can fail with, naming the collective, the rank and the
/// sizes at fault. Every rank that takes part in a failed collective throws the same case,
/// so no rank is left waiting in a collective the others have abandoned.
public enum DistributedError: Error, LocalizedError, Equatable, Sendable {
    /// An MPI function returned `code`; `message` is Open MPI's own text for it.
    case mpiCall(function: String, rank: Int, code: Int, message: String)
    /// Open MPI provided a lower thread level than Batchwise needs (it makes every MPI call from
    /// one thread, but that thread need not be the only one in the process).
    case insufficientThreadLevel(required: ThreadLevel, provided: ThreadLevel)
    /// A communicator was used from a thread other than the one that created it. MPI is
    /// initialised with ``ThreadLevel/funneled``: only that thread may call it.
    case wrongThread(operation: String)
    /// The communicator was used after ``Communicator/finalize()``.
    case finalized(operation: String)
    /// The ranks passed buffers of different lengths to `operation` (an all-reduce needs one
    /// length everywhere): this rank passed `local`; the shortest had `minimum`, the longest `maximum`.
    case lengthMismatch(operation: String, rank: Int, local: Int, minimum: Int, maximum: Int)
    /// The ranks disagree on `quantity` (a length, a step, the model's layout ...) that every
    /// rank must share before `operation`'s collectives: this rank has `local`; the smallest
    /// value was `minimum`, the largest `maximum`. Every rank throws it at the same point.
    case rankDisagreement(operation: String, rank: Int, quantity: String, local: Int, minimum: Int, maximum: Int)
    /// Another rank's input to `operation` was malformed (it throws its own error, naming the
    /// shape at fault); `rank` is that rank where the collective tells it (an all-gather),
    /// nil where it does not (a sum).
    case otherRankInputRejected(operation: String, rank: Int?)
    /// A buffer is longer than MPI's `Int32` element count allows.
    case bufferTooLarge(operation: String, count: Int)
    /// A rank number outside `0..<size`.
    case invalidRank(operation: String, rank: Int, size: Int)
    /// The launcher's environment contradicts itself, e.g. `OMPI_COMM_WORLD_SIZE` is not a
    /// positive number, or MPI reports a different rank or size than the launcher announced.
    case inconsistentLaunch(variable: String, value: String, reason: String)
    /// A ``MicroShardPlan`` or a reduction got arguments that do not describe a global batch
    /// (e.g. a negative global batch size, fewer than one micro-shard or rank, or partial sums of
    /// different widths; more ranks than micro-shards is valid: the ranks past them hold no rows).
    case invalidPlan(reason: String)
    /// A buffer's length does not match what the operation expects (rows × features and the like).
    case shapeMismatch(operation: String, expected: Int, actual: Int)

    /// One line naming the operation, the rank and what went wrong, for logs and command-line output.
    public var errorDescription: String? {
        switch self {
        case let .mpiCall(function, rank, code, message):
            return "\(function) failed on rank \(rank) (MPI error \(code)): \(message)"
        case let .insufficientThreadLevel(required, provided):
            return "Open MPI provides thread level \(provided), Batchwise needs at least \(required)"
        case let .wrongThread(operation):
            return "\(operation) was called from another thread than the one that created the communicator; "
                + "every MPI call must come from that thread"
        case let .finalized(operation):
            return "\(operation) was called after the communicator was finalized"
        case let .lengthMismatch(operation, rank, local, minimum, maximum):
            return "\(operation): ranks passed buffers of different lengths (rank \(rank): \(local), "
                + "shortest \(minimum), longest \(maximum))"
        case let .rankDisagreement(operation, rank, quantity, local, minimum, maximum):
            return "\(operation): the ranks disagree on \(quantity) (rank \(rank): \(local), smallest \(minimum), largest \(maximum))"
        case let .otherRankInputRejected(operation, rank):
            return "\(operation): " + (rank.map { "rank \($0)" } ?? "another rank") + " passed malformed input"
        case let .bufferTooLarge(operation, count):
            return "\(operation): \(count) elements exceed MPI's limit of \(Int32.max) per call"
        case let .invalidRank(operation, rank, size):
            return "\(operation): rank \(rank) is not in 0..<\(size)"
        case let .inconsistentLaunch(variable, value, reason):
            return "the MPI launch is inconsistent: \(variable)=\(value): \(reason)"
        case let .invalidPlan(reason):
            return "invalid micro-shard plan: \(reason)"
        case let .shapeMismatch(operation, expected, actual):
            return "\(operation): expected \(expected) elements, got \(actual)"
        }
    }
}
