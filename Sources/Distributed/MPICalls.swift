internal import CMPI
import Foundation

/// The process-wide side of MPI: whether it was initialised, by which thread, and whether it
/// was finalized. MPI can be initialised once per process and never again after
/// `MPI_Finalize`, so this is one shared value behind a lock; everything else lives in
/// ``Communicator``.
final class MPIProcess: @unchecked Sendable {
    static let shared = MPIProcess()

    enum Phase {
        case notInitialized
        case running(owner: pthread_t, level: ThreadLevel, rank: Int, size: Int)
        case finalized
    }

    private let lock = NSLock()
    private var phase = Phase.notInitialized

    /// Initialises MPI on the calling thread the first time, checking the thread level and
    /// switching MPI_COMM_WORLD to returned error codes; later calls check that they come from
    /// that same thread. Returns the thread that owns MPI, the level it provides, rank and size.
    func start(launch: LaunchEnvironment) throws -> (owner: pthread_t, level: ThreadLevel, rank: Int, size: Int) {
        try lock.withLock {
            switch phase {
            case let .running(owner, level, rank, size):
                guard pthread_equal(owner, pthread_self()) != 0 else { throw DistributedError.wrongThread(operation: "Communicator.world()") }
                return (owner, level, rank, size)
            case .finalized:
                throw DistributedError.finalized(operation: "Communicator.world()")
            case .notInitialized:
                Self.chooseNonblockingAllReduceAlgorithm()
                var provided: Int32 = 0
                try MPICalls.check(MPI_Init_thread(nil, nil, Int32(ThreadLevel.required.rawValue), &provided),
                                   "MPI_Init_thread", rank: launch.announcedRank ?? 0)
                let level = ThreadLevel(rawValue: Int(provided)) ?? .single
                let world = bw_MPI_COMM_WORLD()
                try MPICalls.check(MPI_Comm_set_errhandler(world, bw_MPI_ERRORS_RETURN()), "MPI_Comm_set_errhandler",
                                   rank: launch.announcedRank ?? 0)
                var rank: Int32 = 0, size: Int32 = 0
                try MPICalls.check(MPI_Comm_rank(world, &rank), "MPI_Comm_rank", rank: launch.announcedRank ?? 0)
                try MPICalls.check(MPI_Comm_size(world, &size), "MPI_Comm_size", rank: Int(rank))
                let owner = pthread_self()
                phase = .running(owner: owner, level: level, rank: Int(rank), size: Int(size))
                try ThreadLevel.check(provided: level)
                if let announced = launch.announcedSize, announced != Int(size) {
                    throw DistributedError.inconsistentLaunch(variable: "OMPI_COMM_WORLD_SIZE", value: String(announced),
                                                              reason: "MPI_Comm_size reports \(size)")
                }
                if let announced = launch.announcedRank, announced != Int(rank) {
                    throw DistributedError.inconsistentLaunch(variable: "OMPI_COMM_WORLD_RANK", value: String(announced),
                                                              reason: "MPI_Comm_rank reports \(rank)")
                }
                return (owner, level, Int(rank), Int(size))
            }
        }
    }

    /// Open MPI's nonblocking all-reduce (`coll/libnbc`, which fast mode's overlapped gradient
    /// reduction uses) picks a binomial tree on 2 ranks: measured on this machine with the
    /// BN-MLP's gradient pieces (Dense kernels of 200,704 and 65,536 values and 4,108 small
    /// ones), `MPI_Iallreduce` then `MPI_Waitall` took about twice as long as one blocking
    /// `MPI_Allreduce` of them all; with the ring algorithm as long (docs/distributed.md, "Stop
    /// 18"). Set before `MPI_Init_thread`, which reads it, unless the environment sets it.
    private static func chooseNonblockingAllReduceAlgorithm() {
        setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "1", 0)
    }

    /// True while MPI is initialised and not yet finalized.
    var isRunning: Bool {
        lock.withLock { if case .running = phase { return true } else { return false } }
    }

    /// Calls MPI_Finalize once; the caller has checked that it runs on the owning thread.
    func finalize(rank: Int) throws {
        try lock.withLock {
            guard case .running = phase else { throw DistributedError.finalized(operation: "finalize()") }
            phase = .finalized
            try MPICalls.check(MPI_Finalize(), "MPI_Finalize", rank: rank)
        }
    }
}

/// Checked MPI calls: a non-success code becomes ``DistributedError/mpiCall(function:rank:code:message:)``
/// with Open MPI's message.
enum MPICalls {
    static func check(_ code: Int32, _ function: String, rank: Int) throws {
        guard code != bw_MPI_SUCCESS() else { return }
        throw DistributedError.mpiCall(function: function, rank: rank, code: Int(code), message: message(for: code))
    }

    static func message(for code: Int32) -> String {
        var text = [CChar](repeating: 0, count: Int(bw_MPI_MAX_ERROR_STRING()) + 1)
        var length: Int32 = 0
        guard MPI_Error_string(code, &text, &length) == bw_MPI_SUCCESS() else { return "unknown MPI error" }
        return String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension CommunicatorScalar {
    /// The MPI datatype of this scalar.
    static var mpiDatatype: MPI_Datatype {
        switch communicatorKind {
        case .float32: return bw_MPI_FLOAT()
        case .float64: return bw_MPI_DOUBLE()
        }
    }
}
