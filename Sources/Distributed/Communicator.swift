internal import CMPI
import Foundation

/// The ranks of a data-parallel job and the collectives between them: the world communicator
/// of Open MPI, or a world of one when the process was not started by `mpirun`.
///
/// ```swift
/// import Distributed
///
/// let world = try Communicator.world()
/// var gradient: [Float] = [1, 2, 3]
/// try world.allReduceSum(&gradient)   // every rank now holds the element-wise sum
/// try world.finalize()
/// ```
///
/// **One thread.** MPI is initialised with ``ThreadLevel/funneled`` (checked: a lower level
/// throws ``DistributedError/insufficientThreadLevel(required:provided:)``), so only the
/// thread that initialised it may call it. A communicator remembers the thread that created
/// it and every method throws ``DistributedError/wrongThread(operation:)`` when called from
/// another one, so prefetch and parallel-map threads cannot reach MPI by mistake. The type
/// is deliberately not `Sendable`.
///
/// **Every rank enters every collective.** The collectives first exchange the buffer lengths,
/// so ranks that disagree all throw the same ``DistributedError/lengthMismatch(operation:rank:local:minimum:maximum:)``
/// instead of hanging or truncating. (``DataParallelTrainer`` agrees on its step's lengths once
/// per step instead, and its reductions skip that exchange.)
///
/// **Finalize once.** Call ``finalize()`` before the process exits normally: Open MPI's
/// `mpirun` treats a rank that exits with status 0 without `MPI_Finalize` as a failure.
public final class Communicator {
    /// This process's rank, in `0..<size`.
    public let rank: Int
    /// The number of ranks in the world.
    public let size: Int
    /// True when the process was started by an MPI launcher and MPI is initialised; false for
    /// a world of one, whose collectives are local no-ops.
    public let usesMPI: Bool
    /// The thread level Open MPI provided, or nil for a world of one (MPI not initialised).
    public let threadLevel: ThreadLevel?

    /// Seconds this rank has spent in MPI collectives since it was created: the wall time inside
    /// the MPI calls, the transfers and the waits for slower ranks, and nothing outside them
    /// (packing buffers and the ordered additions count as the rank's own work). Benchmarks
    /// read it to measure the communication share of a step.
    public private(set) var secondsInCollectives: Double = 0
    /// The CPU time this rank's thread has used in MPI collectives (Open MPI polls while it
    /// waits), so that a benchmark can tell the thread's own work outside them on a busy machine.
    public private(set) var cpuSecondsInCollectives: Double = 0
    /// How many collectives this rank has entered (every call of a collective, in a world of
    /// one too). Ranks that stay in step enter the same number; tests check with it that a
    /// failing rank still enters every collective of a step, which nothing else would notice
    /// while the collectives' own checks catch the mismatch.
    public private(set) var collectivesEntered = 0

    private let owner: pthread_t
    private var finalizedWorldOfOne = false
    /// Shared-memory windows opened on this world, freed before `MPI_Finalize` (SharedMemoryWindow.swift).
    let sharedWindows = SharedWindowPool()

    private init(rank: Int, size: Int, usesMPI: Bool, threadLevel: ThreadLevel?, owner: pthread_t) {
        self.rank = rank
        self.size = size
        self.usesMPI = usesMPI
        self.threadLevel = threadLevel
        self.owner = owner
    }

    /// The world communicator. Started by `mpirun` (see ``LaunchEnvironment``), the first call
    /// initialises MPI on the calling thread, which then owns it; later calls must come from
    /// that thread and return the same world. Started any other way, a world of one, and MPI
    /// is never touched.
    public static func world(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Communicator {
        let launch = try LaunchEnvironment(environment)
        guard launch.launchedByMPI else {
            return Communicator(rank: 0, size: 1, usesMPI: false, threadLevel: nil, owner: pthread_self())
        }
        let started = try MPIProcess.shared.start(launch: launch)
        return Communicator(rank: started.rank, size: started.size, usesMPI: true,
                            threadLevel: started.level, owner: started.owner)
    }

    /// Ends MPI for the process (`MPI_Finalize`); afterwards every method of every
    /// communicator throws ``DistributedError/finalized(operation:)``. Call it once, on the
    /// owning thread, after the last collective.
    public func finalize() throws {
        try enter("finalize()")
        sharedWindows.releaseAll()
        if usesMPI { try MPIProcess.shared.finalize(rank: rank) } else { finalizedWorldOfOne = true }
    }

    /// Waits until every rank has called it (`MPI_Barrier`).
    public func barrier() throws {
        try enter("barrier()")
        guard usesMPI else { return }
        try timed { try MPICalls.check(MPI_Barrier(bw_MPI_COMM_WORLD()), "MPI_Barrier", rank: rank) }
    }

    /// Replaces `values` on every rank with `root`'s values (`MPI_Bcast`); the other ranks'
    /// arrays may have any length beforehand.
    public func broadcast<Scalar: CommunicatorScalar>(_ values: inout [Scalar], from root: Int) throws {
        let operation = "broadcast(_:from:)"
        try enter(operation)
        guard (0..<size).contains(root) else { throw DistributedError.invalidRank(operation: operation, rank: root, size: size) }
        guard usesMPI else { return }
        try timed {
            var count = [Int64(values.count)]
            try bcast(&count, datatype: bw_MPI_INT64_T(), root: root)
            let elements = try mpiCount(Int(count[0]), operation)
            if rank != root { values = [Scalar](repeating: 0, count: Int(count[0])) }
            guard elements > 0 else { return }
            try bcast(&values, datatype: Scalar.mpiDatatype, root: root)
        }
    }

    /// Every rank's `local` buffer, in rank order, on every rank (`MPI_Allgatherv`). The
    /// buffers may differ in length.
    public func allGather<Scalar: CommunicatorScalar>(_ local: [Scalar]) throws -> [[Scalar]] {
        var gathered: [Scalar] = []
        let counts = try local.withUnsafeBufferPointer { send in
            try allGatherConcatenated(send, operation: "allGather(_:)") { total in
                gathered = [Scalar](repeating: 0, count: total)
                return gathered.withUnsafeMutableBufferPointer { $0 }
            }
        }
        var start = 0
        return counts.map { count in
            defer { start += count }
            return Array(gathered[start..<(start + count)])
        }
    }

    /// Every rank's `local` buffer laid end to end in rank order, written to the buffer
    /// `receiveBuffer(total)` returns (it must stay valid until this returns), and each rank's
    /// length: the all-gather without splitting, into memory the caller reuses.
    func allGatherConcatenated<Scalar: CommunicatorScalar>(
        _ local: UnsafeBufferPointer<Scalar>, operation: String,
        receiveBuffer: (_ total: Int) -> UnsafeMutableBufferPointer<Scalar>
    ) throws -> [Int] {
        try enter(operation)
        guard usesMPI else {
            let receive = receiveBuffer(local.count)
            if let source = local.baseAddress { receive.baseAddress?.update(from: source, count: local.count) }
            return [local.count]
        }
        let counts = try timed { try gatherLengths(local.count) }
        let total = counts.reduce(0, +)
        for count in counts { _ = try mpiCount(count, operation) }
        _ = try mpiCount(total, operation)
        var receiveCounts = counts.map { Int32($0) }
        var offsets = [Int32](repeating: 0, count: size)
        for index in 1..<max(size, 1) { offsets[index] = offsets[index - 1] + receiveCounts[index - 1] }
        let receive = receiveBuffer(total)
        guard total > 0 else { return counts }
        try timed {
            try MPICalls.check(MPI_Allgatherv(local.baseAddress, Int32(local.count), Scalar.mpiDatatype, receive.baseAddress,
                                              &receiveCounts, &offsets, Scalar.mpiDatatype, bw_MPI_COMM_WORLD()),
                               "MPI_Allgatherv", rank: rank)
        }
        return counts
    }

    /// Replaces `values` on every rank with the element-wise sum over all ranks
    /// (`MPI_Allreduce`, `MPI_SUM`). Every rank gets the same bits, but the order in which
    /// Open MPI adds the ranks' values depends on the number of ranks: for sums that must not
    /// depend on it use ``GlobalBatchReducer`` in ``ReductionMode/ordered``.
    public func allReduceSum<Scalar: CommunicatorScalar>(_ values: inout [Scalar]) throws {
        let operation = "allReduceSum(_:)"
        try enter(operation)
        guard usesMPI else { return }
        try timed {
            try requireSameLength(values.count, operation)
            let count = try mpiCount(values.count, operation)
            guard count > 0 else { return }
            let code = values.withUnsafeMutableBufferPointer { buffer in
                MPI_Allreduce(bw_MPI_IN_PLACE(), buffer.baseAddress, count, Scalar.mpiDatatype, bw_MPI_SUM(), bw_MPI_COMM_WORLD())
            }
            try MPICalls.check(code, "MPI_Allreduce", rank: rank)
        }
    }

    // MARK: - Collectives whose lengths the caller has agreed on (GlobalBatchReducer)

    /// Checks that every rank passes the same `quantities` (one small `MPI_Allreduce` of each
    /// value and its negation with `MPI_MAX`): if they differ, every rank throws the same
    /// ``DistributedError/rankDisagreement(operation:rank:quantity:local:minimum:maximum:)``
    /// naming the first quantity that differs. A caller that has agreed this way on the
    /// lengths of the collectives that follow may use the `agreed` collectives below, which
    /// skip the length exchange of the public ones (MPI leaves mismatched counts undefined:
    /// a hang or a truncation).
    func agree(on quantities: [(name: String, value: Int)], operation: String) throws {
        try enter(operation)
        guard usesMPI, !quantities.isEmpty else { return }
        var extremes = quantities.map { Int64($0.value) } + quantities.map { 0 &- Int64($0.value) }
        try timed {
            let count = Int32(extremes.count)
            let code = extremes.withUnsafeMutableBufferPointer { buffer in
                MPI_Allreduce(bw_MPI_IN_PLACE(), buffer.baseAddress, count, bw_MPI_INT64_T(), bw_MPI_MAX(), bw_MPI_COMM_WORLD())
            }
            try MPICalls.check(code, "MPI_Allreduce", rank: rank)
        }
        for (index, quantity) in quantities.enumerated() {
            let maximum = Int(extremes[index]), minimum = Int(0 &- extremes[quantities.count + index])
            guard minimum == maximum else {
                throw DistributedError.rankDisagreement(operation: operation, rank: rank, quantity: quantity.name,
                                                        local: quantity.value, minimum: minimum, maximum: maximum)
            }
        }
    }

    /// `MPI_Allreduce` (`MPI_SUM`) of `buffer` in place (`MPI_IN_PLACE`), without a length
    /// exchange: every rank must pass the same count, agreed beforehand (``agree(on:operation:)``).
    func allReduceSum<Scalar: CommunicatorScalar>(agreedLength buffer: UnsafeMutableBufferPointer<Scalar>, operation: String) throws {
        try enter(operation)
        guard usesMPI, buffer.count > 0 else { return }
        let count = try mpiCount(buffer.count, operation)
        try timed {
            try MPICalls.check(MPI_Allreduce(bw_MPI_IN_PLACE(), buffer.baseAddress, count, Scalar.mpiDatatype, bw_MPI_SUM(),
                                             bw_MPI_COMM_WORLD()), "MPI_Allreduce", rank: rank)
        }
    }

    /// `MPI_Allgatherv` in place: rank `r` contributes `buffer[offset(r) ..< offset(r) + counts[r]]`
    /// (already in place), and every rank ends with every block. `counts` must be the same on
    /// every rank, agreed beforehand.
    func allGather<Scalar: CommunicatorScalar>(
        inPlace buffer: UnsafeMutableBufferPointer<Scalar>, agreedCounts counts: [Int], operation: String
    ) throws {
        try enter(operation)
        precondition(counts.count == size && buffer.count == counts.reduce(0, +), "\(operation): counts do not cover the buffer")
        guard usesMPI, !buffer.isEmpty else { return }
        var (mpiCounts, offsets) = try countsAndOffsets(counts, operation)
        try timed {
            try MPICalls.check(MPI_Allgatherv(bw_MPI_IN_PLACE(), 0, Scalar.mpiDatatype, buffer.baseAddress, &mpiCounts, &offsets,
                                              Scalar.mpiDatatype, bw_MPI_COMM_WORLD()), "MPI_Allgatherv", rank: rank)
        }
    }

    /// Passes `buffer` along the ranks in rank order, chunk by chunk, then gives every rank the
    /// last rank's buffer: rank `r > 0` receives each chunk of `chunkLength` values from rank
    /// `r − 1` into `buffer` (`MPI_Irecv`, all posted first), `fold(chunk)` updates that chunk
    /// in place (on rank 0 it starts it), and rank `r < size − 1` sends it on (`MPI_Isend`), so
    /// rank `r + 1` folds chunk `c` while rank `r` folds chunk `c + 1`. The totals travel back
    /// chunk by chunk too, around the ring: the last rank sends each chunk to rank 0 as soon as
    /// it has folded it, and rank `r < size − 2` passes it on to rank `r + 1`, so a rank has the
    /// first totals while the last rank still folds later chunks (each rank sends and receives
    /// at most two vectors). With more ranks than chunks, where `size − 1` hops would take
    /// longer than moving the chunks, an `MPI_Bcast` from the last rank after its last chunk
    /// gives every rank the totals instead. Every rank must pass the same length, agreed
    /// beforehand. In a world of one, `fold` runs over the chunks and nothing else happens.
    func foldAlongRanks<Scalar: CommunicatorScalar>(
        _ buffer: UnsafeMutableBufferPointer<Scalar>, chunkLength: Int, operation: String, fold: (Range<Int>) -> Void
    ) throws {
        try enter(operation)
        precondition(chunkLength > 0, "\(operation): chunks must hold values")
        let chunks = stride(from: 0, to: buffer.count, by: chunkLength).map { $0..<Swift.min($0 + chunkLength, buffer.count) }
        guard usesMPI, size > 1, let base = buffer.baseAddress else {
            chunks.forEach(fold)
            return
        }
        _ = try mpiCount(buffer.count, operation)
        let world = bw_MPI_COMM_WORLD(), datatype = Scalar.mpiDatatype
        // Tags only within MPI's guaranteed range (32,767): messages between two ranks with the
        // same tag match the receives in the order they were posted, so reused tags still pair
        // up. The totals coming back use the upper half, so that on rank `r` a total from
        // rank `r − 1` never matches a receive of a partial sum from it.
        func tag(_ index: Int) -> Int32 { Int32(index % 16_384) }
        func totalTag(_ index: Int) -> Int32 { 16_384 + tag(index) }
        let (last, previous, next) = (size - 1, (rank + size - 1) % size, rank + 1)
        // The last chunk's total reaches the last rank of the return `size − 1` hops after it
        // was folded: worth it while that is no more than the chunks a broadcast would move.
        let returnsAroundRing = size - 1 <= chunks.count
        var receives = [MPI_Request?](repeating: nil, count: chunks.count)
        var sends = [MPI_Request?](repeating: nil, count: chunks.count)
        if rank > 0 {
            try timed {
                for (index, chunk) in chunks.enumerated() {
                    try MPICalls.check(MPI_Irecv(base + chunk.lowerBound, Int32(chunk.count), datatype, Int32(rank - 1), tag(index),
                                                 world, &receives[index]), "MPI_Irecv", rank: rank)
                }
            }
        }
        for (index, chunk) in chunks.enumerated() {
            if rank > 0 { try timed { try MPICalls.check(MPI_Wait(&receives[index], nil), "MPI_Wait", rank: rank) } }
            fold(chunk)
            // Partial sums go on to the next rank; the last rank's totals go round to rank 0.
            guard rank < last || returnsAroundRing else { continue }
            let (target, messageTag) = rank < last ? (next, tag(index)) : (0, totalTag(index))
            try timed {
                try MPICalls.check(MPI_Isend(base + chunk.lowerBound, Int32(chunk.count), datatype, Int32(target), messageTag,
                                             world, &sends[index]), "MPI_Isend", rank: rank)
            }
        }
        try timed {
            guard returnsAroundRing else {
                if rank < last { try MPICalls.check(MPI_Waitall(Int32(sends.count), &sends, nil), "MPI_Waitall", rank: rank) }
                try MPICalls.check(MPI_Bcast(base, Int32(buffer.count), datatype, Int32(last), world), "MPI_Bcast", rank: rank)
                return
            }
            if rank < last {
                // A chunk's memory receives its total only once its partial sum has left.
                for (index, chunk) in chunks.enumerated() {
                    try MPICalls.check(MPI_Wait(&sends[index], nil), "MPI_Wait", rank: rank)
                    try MPICalls.check(MPI_Irecv(base + chunk.lowerBound, Int32(chunk.count), datatype, Int32(previous),
                                                 totalTag(index), world, &receives[index]), "MPI_Irecv", rank: rank)
                }
                // Each total is passed on to the next rank that lacks it (the last has them all).
                for (index, chunk) in chunks.enumerated() {
                    try MPICalls.check(MPI_Wait(&receives[index], nil), "MPI_Wait", rank: rank)
                    if next < last {
                        try MPICalls.check(MPI_Isend(base + chunk.lowerBound, Int32(chunk.count), datatype, Int32(next), totalTag(index),
                                                     world, &sends[index]), "MPI_Isend", rank: rank)
                    }
                }
            }
            try MPICalls.check(MPI_Waitall(Int32(sends.count), &sends, nil), "MPI_Waitall", rank: rank)
        }
    }

    /// MPI's `Int32` counts and the displacements of blocks laid end to end.
    private func countsAndOffsets(_ counts: [Int], _ operation: String) throws -> (counts: [Int32], offsets: [Int32]) {
        _ = try mpiCount(counts.reduce(0, +), operation)
        let mpiCounts = try counts.map { try mpiCount($0, operation) }
        var offsets = [Int32](repeating: 0, count: mpiCounts.count)
        for index in mpiCounts.indices.dropFirst() { offsets[index] = offsets[index - 1] + mpiCounts[index - 1] }
        return (mpiCounts, offsets)
    }

    // MARK: - Checks shared by the collectives

    /// Runs MPI calls (and nothing else), adding their wall time, waiting included, to
    /// ``secondsInCollectives``: the communication share `batchwise-bench distributed` reports.
    func timed<Result>(_ body: () throws -> Result) rethrows -> Result {
        let start = (DispatchTime.now().uptimeNanoseconds, Self.threadCPUSeconds())
        defer { account(since: start) }
        return try body()
    }

    private func account(since start: (wall: UInt64, cpu: Double)) {
        secondsInCollectives += Double(DispatchTime.now().uptimeNanoseconds - start.wall) / 1e9
        cpuSecondsInCollectives += Self.threadCPUSeconds() - start.cpu
    }

    /// The calling thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`).
    public static func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Refuses calls from a thread other than the owner and calls after finalize; counts a
    /// collective entered unless `counting` is false (progress and waits of started ones).
    func enter(_ operation: String, counting: Bool = true) throws {
        guard pthread_equal(owner, pthread_self()) != 0 else { throw DistributedError.wrongThread(operation: operation) }
        if usesMPI ? !MPIProcess.shared.isRunning : finalizedWorldOfOne {
            throw DistributedError.finalized(operation: operation)
        }
        if counting { collectivesEntered += 1 }
    }

    func mpiCount(_ count: Int, _ operation: String) throws -> Int32 {
        guard let elements = Int32(exactly: count) else { throw DistributedError.bufferTooLarge(operation: operation, count: count) }
        return elements
    }

    private func gatherLengths(_ length: Int) throws -> [Int] {
        var mine = Int64(length)
        var lengths = [Int64](repeating: 0, count: size)
        try MPICalls.check(MPI_Allgather(&mine, 1, bw_MPI_INT64_T(), &lengths, 1, bw_MPI_INT64_T(), bw_MPI_COMM_WORLD()),
                           "MPI_Allgather", rank: rank)
        return lengths.map { Int($0) }
    }

    /// One small all-reduce of (length, -length) with MPI_MAX: every rank learns the longest
    /// and the shortest length and throws the same error if they differ.
    private func requireSameLength(_ length: Int, _ operation: String) throws {
        var extremes = [Int64(length), -Int64(length)]
        try extremes.withUnsafeMutableBufferPointer { buffer in
            try MPICalls.check(MPI_Allreduce(bw_MPI_IN_PLACE(), buffer.baseAddress, 2, bw_MPI_INT64_T(), bw_MPI_MAX(),
                                             bw_MPI_COMM_WORLD()), "MPI_Allreduce", rank: rank)
        }
        let maximum = Int(extremes[0]), minimum = Int(-extremes[1])
        guard minimum == maximum else {
            throw DistributedError.lengthMismatch(operation: operation, rank: rank, local: length, minimum: minimum, maximum: maximum)
        }
    }

    private func bcast<Element>(_ values: inout [Element], datatype: MPI_Datatype, root: Int) throws {
        let count = Int32(values.count)
        let code = values.withUnsafeMutableBufferPointer { buffer in
            MPI_Bcast(buffer.baseAddress, count, datatype, Int32(root), bw_MPI_COMM_WORLD())
        }
        try MPICalls.check(code, "MPI_Bcast", rank: rank)
    }
}
