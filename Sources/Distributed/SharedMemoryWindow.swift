internal import CMPI
import Foundation

/// How ``ReductionMode/fast``'s gradient reduction and ``ReductionMode/ordered``'s fold of the
/// micro-shards' gradient sums move the values between the ranks (docs/distributed.md, "Stop 19").
public enum ReductionTransport: String, Sendable, CaseIterable {
    /// When every rank runs on one machine: each rank writes its gradients into its segment of
    /// an MPI-3 shared-memory window (`MPI_Win_allocate_shared`), sums a fixed slice of the
    /// values over all segments in rank order and writes the slice's totals into every
    /// segment; two barriers separate the phases. Each value crosses memory once each way,
    /// with no message protocol in between. Falls back to ``collectives`` by itself when the
    /// ranks do not share one node or the window cannot be allocated.
    case sharedMemory = "shared-memory"
    /// Open MPI's all-reduce, one `MPI_Iallreduce` per large gradient during the backward pass
    /// (stop 18), on any number of nodes.
    case collectives
    /// The default: ``sharedMemory`` in ``ReductionMode/fast`` and ``collectives`` in
    /// ``ReductionMode/ordered``, whose fold along the ranks spent less of the step in MPI calls
    /// than the window's fold in every measured pair (docs/distributed.md, "Stop 19").
    case automatic

    /// Whether the values go through a shared-memory window (where one can be had) in `mode`.
    public func usesWindow(in mode: ReductionMode) -> Bool {
        self == .sharedMemory || (self == .automatic && mode == .fast)
    }
}

/// Whether a shared-memory window can carry the reduction, decided the same way on every rank.
enum SharedMemoryDecision: Equatable {
    case useWindow
    case fallBack(reason: String)

    /// `useWindow` only when every rank of the world is on this node (`nodeRanks`, the size of
    /// `MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)`'s communicator, equals `worldRanks`: then
    /// it does on every rank), every rank found room for the segments in the backing
    /// directory, and every rank allocated its segment.
    static func decide(worldRanks: Int, nodeRanks: Int, roomOnEveryRank: Bool = true, allocatedOnEveryRank: Bool) -> SharedMemoryDecision {
        guard worldRanks > 1 else { return .fallBack(reason: "a world of one has nothing to exchange") }
        guard nodeRanks == worldRanks else {
            return .fallBack(reason: "\(nodeRanks) of \(worldRanks) ranks share this node")
        }
        guard roomOnEveryRank else { return .fallBack(reason: "too little free space for the window in its backing directory") }
        guard allocatedOnEveryRank else { return .fallBack(reason: "MPI_Win_allocate_shared failed on a rank") }
        return .useWindow
    }
}

/// One segment per rank in an MPI-3 shared-memory window over the ranks of one node, and the
/// all-reduce through it. Every rank can load and store every segment (`MPI_Win_shared_query`
/// gives the peers' addresses); a passive-target epoch over all of them is opened once
/// (`MPI_Win_lock_all` with `MPI_MODE_NOCHECK`), and each exchange synchronises with
/// `MPI_Win_sync` (the memory barrier of MPI's unified model) around an `MPI_Barrier` of the
/// node's communicator. All calls stay on the communicator's thread.
///
/// An exchange leaves nothing behind in the window, so every later exchange that fits reuses
/// it, whoever asks (``SharedWindowPool``). Windows are freed only by ``Communicator/finalize()``,
/// where every rank frees them at the same point in the same order: `MPI_Win_free` is a
/// collective, and freeing in `deinit` made ranks whose objects died at different points wait
/// for each other forever (a 4-rank resume test hung that way).
final class SharedMemoryWindow {
    let communicator: Communicator
    private var node: MPI_Comm?
    private(set) var window: MPI_Win?
    /// Every rank's segment, by rank (node ranks are world ranks: the split keeps their order).
    let segments: [UnsafeMutablePointer<Float>]
    /// The values a segment holds.
    let capacity: Int
    /// A block of this rank's slice's totals before they are written out.
    let totals: UnsafeMutableBufferPointer<Float>

    private init(communicator: Communicator, node: MPI_Comm?, window: MPI_Win?, segments: [UnsafeMutablePointer<Float>], capacity: Int) {
        self.communicator = communicator
        self.node = node
        self.window = window
        self.segments = segments
        self.capacity = capacity
        totals = .allocate(capacity: Self.block)
    }

    /// Slices start at multiples of 16 values (64 bytes, a cache line), so that two ranks
    /// writing their totals never write the same line.
    private static let alignment = 16

    /// The values rank `rank` of `ranks` sums: about `count / ranks` of them, aligned.
    static func slice(of rank: Int, ranks: Int, count: Int) -> Range<Int> {
        func boundary(_ index: Int) -> Int { index >= ranks ? count : min(count, count * index / ranks / alignment * alignment) }
        return boundary(rank)..<boundary(rank + 1)
    }

    /// A window of `capacity` `Float`s per rank over every rank of `communicator`, or the
    /// reason it cannot be used (a world of one, ranks on other nodes, a failed allocation):
    /// the same answer on every rank, which must all call it. Throws
    /// ``DistributedError/mpiCall(function:rank:code:message:)`` when an MPI call fails
    /// otherwise.
    static func open(on communicator: Communicator, capacity: Int, operation: String) throws
        -> (window: SharedMemoryWindow?, decision: SharedMemoryDecision) {
        let pool = communicator.sharedWindows
        if let fitting = pool.windows.last(where: { $0.capacity >= capacity }) { return (fitting, .useWindow) }
        if let notOneNode = pool.notOneNode { return (nil, notOneNode) }
        // Not counted in `collectivesEntered`: a one-time set-up on a trainer's first step, not
        // one of a step's collectives (which tests compare between a first and a later step).
        try communicator.enter(operation, counting: false)
        let (rank, size) = (communicator.rank, communicator.size)
        guard communicator.usesMPI, size > 1 else {
            return (nil, .decide(worldRanks: size, nodeRanks: size, allocatedOnEveryRank: false))
        }
        return try communicator.timed {
            var node: MPI_Comm?
            try MPICalls.check(MPI_Comm_split_type(bw_MPI_COMM_WORLD(), bw_MPI_COMM_TYPE_SHARED(), Int32(rank), bw_MPI_INFO_NULL(), &node),
                               "MPI_Comm_split_type", rank: rank)
            var nodeRanks: Int32 = 0
            try MPICalls.check(MPI_Comm_size(node, &nodeRanks), "MPI_Comm_size", rank: rank)
            var base: UnsafeMutableRawPointer?
            var window: MPI_Win?
            let injected = InjectedWindowFailure(rank: rank)
            // MPI_Win_allocate_shared is a collective: a rank that skipped it would leave the
            // others waiting in it forever. So every rank first says whether it can take part:
            // a tmpfs too small for the node's segments (Docker's default /dev/shm holds 64 MB)
            // might fail only when a page is first touched (SIGBUS), so room is checked here.
            // All of them allocate, or none (MPI_MAX of [no room, refused]).
            let noRoomHere = Int(nodeRanks) == size && Self.freeBackingBytes() < (capacity + 1) * MemoryLayout<Float>.stride * size * 2
            var refusals: [Int64] = [noRoomHere ? 1 : 0, injected == .refuse ? 1 : 0]
            try MPICalls.check(MPI_Allreduce(bw_MPI_IN_PLACE(), &refusals, 2, bw_MPI_INT64_T(), bw_MPI_MAX(), bw_MPI_COMM_WORLD()),
                               "MPI_Allreduce", rank: rank)
            let (noRoom, refused) = (refusals[0] != 0, refusals[1] != 0)
            var holdsWindow = false
            if Int(nodeRanks) == size && !noRoom && !refused {
                let bytes = MPI_Aint(max(capacity, 1) * MemoryLayout<Float>.stride)
                let code = withUnsafeMutablePointer(to: &base) {
                    MPI_Win_allocate_shared(bytes, Int32(MemoryLayout<Float>.stride), bw_MPI_INFO_NULL(), node, $0, &window)
                }
                holdsWindow = code == bw_MPI_SUCCESS() && injected != .lose
            }
            let allocated = holdsWindow && injected != .fail
            // Every rank learns whether every rank allocated, and whether every rank holds a
            // window handle (MPI_MAX of [failed, holds none]), before anything depends on it.
            var failures: [Int64] = [allocated ? 0 : 1, holdsWindow ? 0 : 1]
            try MPICalls.check(MPI_Allreduce(bw_MPI_IN_PLACE(), &failures, 2, bw_MPI_INT64_T(), bw_MPI_MAX(), bw_MPI_COMM_WORLD()),
                               "MPI_Allreduce", rank: rank)
            let decision = SharedMemoryDecision.decide(worldRanks: size, nodeRanks: Int(nodeRanks), roomOnEveryRank: !noRoom,
                                                       allocatedOnEveryRank: failures[0] == 0)
            guard decision == .useWindow else {
                // MPI_Win_free is a collective over the window's ranks: only when every rank
                // holds the window can they all free it. Otherwise a rank that got one keeps it
                // (unused, until MPI_Finalize) rather than wait for a rank that has none.
                if holdsWindow && failures[1] == 0 { MPI_Win_free(&window) }
                MPI_Comm_free(&node)
                // Whether the ranks share a node does not change; a failed allocation may not recur.
                if Int(nodeRanks) != size { pool.notOneNode = decision }
                return (nil, decision)
            }
            try MPICalls.check(MPI_Win_set_errhandler(window, bw_MPI_ERRORS_RETURN()), "MPI_Win_set_errhandler", rank: rank)
            var segments: [UnsafeMutablePointer<Float>] = []
            for peer in 0..<size {
                var bytes: MPI_Aint = 0, unit: Int32 = 0
                var peerBase: UnsafeMutableRawPointer?
                try MPICalls.check(withUnsafeMutablePointer(to: &peerBase) { MPI_Win_shared_query(window, Int32(peer), &bytes, &unit, $0) },
                                   "MPI_Win_shared_query", rank: rank)
                guard let peerBase, Int(bytes) >= capacity * MemoryLayout<Float>.stride else {
                    throw DistributedError.mpiCall(function: "MPI_Win_shared_query", rank: rank, code: 0,
                                                   message: "rank \(peer)'s segment holds \(bytes) bytes, \(capacity * 4) needed")
                }
                segments.append(peerBase.bindMemory(to: Float.self, capacity: capacity))
            }
            try MPICalls.check(MPI_Win_lock_all(Int32(bw_MPI_MODE_NOCHECK()), window), "MPI_Win_lock_all", rank: rank)
            let opened = SharedMemoryWindow(communicator: communicator, node: node, window: window, segments: segments, capacity: capacity)
            pool.windows.append(opened)
            return (opened, decision)
        }
    }

    /// Replaces the values of `pieces` (laid end to end, at most ``capacity`` of them, the same
    /// counts on every rank) with their sums over all ranks. Rank `r` owns slice `r` of the
    /// values (``slice(of:ranks:count:)``): it copies the values outside its slice into its
    /// segment, where their owners read them; after a barrier it adds its slice over the ranks
    /// in rank order (`s₀ + s₁ + …`, its own values read where they are, so on 2 ranks bitwise
    /// `MPI_SUM`'s `a + b`), and writes the totals where they are and into the other ranks'
    /// segments; after a second barrier it copies the other slices' totals from its segment.
    /// Every rank gets the same bits, and moves `(P − 1)/P` of the values each way through
    /// shared memory. The next exchange needs no third barrier: before the first barrier a
    /// rank writes only its own segment, which every rank has finished reading by then.
    func allReduceSum(_ pieces: [UnsafeMutableBufferPointer<Float>], operation: String) throws {
        try communicator.enter(operation)
        let count = pieces.reduce(0) { $0 + $1.count }
        precondition(count <= capacity, "\(operation): \(count) values for a window of \(capacity)")
        guard window != nil else { throw DistributedError.finalized(operation: operation) }
        let (rank, size) = (communicator.rank, communicator.size)
        let mine = Self.slice(of: rank, ranks: size, count: count)
        let others = [0..<mine.lowerBound, mine.upperBound..<count]
        let own = segments[rank]
        try communicator.timed {
            for range in others {
                Self.forEachRun(of: pieces, in: range) { local, offset, length in Bits.copy(local, to: own + offset, count: length) }
            }
            try synchronize(rank: rank)
            Self.forEachRun(of: pieces, in: mine) { local, offset, length in addOverRanks(local, at: offset, count: length, rank: rank) }
            try synchronize(rank: rank)
            for range in others {
                Self.forEachRun(of: pieces, in: range) { local, offset, length in Bits.copy(own + offset, to: local, count: length) }
            }
        }
    }

    /// Values summed at a time: a block of totals stays in the L1 cache while every rank's
    /// block is added to it and it is written out.
    static let block = 4096

    /// `local[i] = s₀[i] + s₁[i] + …` in rank order for the `count` values at `offset`, with
    /// this rank's values read from `local`, the totals also written into the other segments.
    private func addOverRanks(_ local: UnsafeMutablePointer<Float>, at offset: Int, count: Int, rank: Int) {
        guard let sums = totals.baseAddress else { return }
        for start in stride(from: 0, to: count, by: Self.block) {
            let length = min(Self.block, count - start)
            func values(of peer: Int) -> UnsafeMutablePointer<Float> { peer == rank ? local + start : segments[peer] + offset + start }
            Bits.copy(values(of: 0), to: sums, count: length)
            let block = UnsafeMutableBufferPointer(start: sums, count: length)
            for peer in 1..<segments.count { Float.add(UnsafeBufferPointer(start: values(of: peer), count: length), to: block) }
            Bits.copy(sums, to: local + start, count: length)
            for peer in segments.indices where peer != rank { Bits.copy(sums, to: segments[peer] + offset + start, count: length) }
        }
    }

    /// Calls `body(memory, offset, count)` for each run of `range` (offsets into the values of
    /// `pieces` laid end to end) that lies in one piece, in order.
    static func forEachRun(of pieces: [UnsafeMutableBufferPointer<Float>], in range: Range<Int>,
                           _ body: (_ memory: UnsafeMutablePointer<Float>, _ offset: Int, _ count: Int) -> Void) {
        var pieceStart = 0
        for piece in pieces {
            defer { pieceStart += piece.count }
            let (first, end) = (max(range.lowerBound, pieceStart), min(range.upperBound, pieceStart + piece.count))
            guard let base = piece.baseAddress, first < end else { continue }
            body(base + (first - pieceStart), first, end - first)
        }
    }

    /// Free bytes in the directory Open MPI's `osc/sm` backs windows with (its
    /// `osc_sm_backing_directory` setting, `/dev/shm` on Linux by default); 0 if unknown.
    static func freeBackingBytes(environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
        let directory = environment["OMPI_MCA_osc_sm_backing_directory"] ?? "/dev/shm"
        var stats = statvfs()
        guard statvfs(directory, &stats) == 0 else { return 0 }
        return Int(stats.f_bavail) * Int(stats.f_frsize)
    }

    /// Stores before it are visible to every rank after it, loads after it see every rank's
    /// stores before it (`MPI_Win_sync`, `MPI_Barrier`, `MPI_Win_sync`).
    func synchronize(rank: Int) throws {
        try MPICalls.check(MPI_Win_sync(window), "MPI_Win_sync", rank: rank)
        try MPICalls.check(MPI_Barrier(node), "MPI_Barrier", rank: rank)
        try MPICalls.check(MPI_Win_sync(window), "MPI_Win_sync", rank: rank)
    }

    /// Ends the epoch and frees the window and the node's communicator: a collective, which only
    /// ``Communicator/finalize()`` calls (every rank at the same point). Nothing after
    /// MPI_Finalize, and nothing twice.
    func release() {
        guard window != nil else { return }
        if MPIProcess.shared.isRunning {
            MPI_Win_unlock_all(window)
            MPI_Win_free(&window)
            MPI_Comm_free(&node)
        }
        window = nil
    }

    deinit {
        totals.deallocate()
    }
}

/// A test's way to make one rank's window allocation go wrong (DistributedTests): the
/// environment variable `BATCHWISE_TEST_SHARED_WINDOW_FAILURE=<rank>:<kind>` makes that rank
/// `refuse` to allocate (before the collective), `fail` (allocate, then report a failure while
/// every rank holds the window), or `lose` (allocate, then act as a rank whose call failed and
/// left it no window: nobody may free it collectively). Every other rank, and every run
/// without the variable, is unaffected.
enum InjectedWindowFailure: String, Equatable {
    case refuse
    case fail
    case lose

    static let variable = "BATCHWISE_TEST_SHARED_WINDOW_FAILURE"

    /// The failure asked of `rank`, or nil.
    init?(rank: Int, environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard let value = environment[Self.variable] else { return nil }
        let parts = value.split(separator: ":")
        guard parts.count == 2, Int(parts[0]) == rank, let kind = Self(rawValue: String(parts[1])) else { return nil }
        self = kind
    }
}

/// The shared-memory windows opened on a communicator, kept until ``Communicator/finalize()``
/// frees them, and whether its ranks share one node (once known not to, nothing is tried again).
/// Every rank asks for the same capacities in the same order, so every rank's pool is the same.
final class SharedWindowPool {
    fileprivate(set) var windows: [SharedMemoryWindow] = []
    fileprivate(set) var notOneNode: SharedMemoryDecision?

    /// Frees every window, in the order they were opened (the same on every rank).
    func releaseAll() {
        windows.forEach { $0.release() }
        windows = []
    }
}
