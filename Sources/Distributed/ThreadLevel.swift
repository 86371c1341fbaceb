/// MPI's thread-support levels, in increasing order of what they allow.
public enum ThreadLevel: Int, Comparable, Sendable, CustomStringConvertible {
    /// Only one thread exists in the process.
    case single = 0
    /// Many threads may exist, but only the thread that initialised MPI calls it.
    case funneled = 1
    /// Any thread may call MPI, one at a time.
    case serialized = 2
    /// Any thread may call MPI at any time.
    case multiple = 3

    /// The level Batchwise asks for: its prefetch and parallel-map threads never call MPI, and
    /// ``Communicator`` refuses calls from any thread but the one that created it.
    public static let required = ThreadLevel.funneled

    /// Compares by what the level allows.
    public static func < (lhs: ThreadLevel, rhs: ThreadLevel) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The MPI constant's name, e.g. `MPI_THREAD_FUNNELED`.
    public var description: String {
        switch self {
        case .single: return "MPI_THREAD_SINGLE"
        case .funneled: return "MPI_THREAD_FUNNELED"
        case .serialized: return "MPI_THREAD_SERIALIZED"
        case .multiple: return "MPI_THREAD_MULTIPLE"
        }
    }

    /// Throws ``DistributedError/insufficientThreadLevel(required:provided:)`` unless
    /// `provided` allows at least ``required``.
    static func check(provided: ThreadLevel) throws {
        guard provided >= required else { throw DistributedError.insufficientThreadLevel(required: required, provided: provided) }
    }
}
