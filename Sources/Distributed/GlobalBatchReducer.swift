/// How per-row sums (gradients, BatchNormalization sums, loss and metric totals) are combined
/// across ranks. docs/distributed.md compares their cost.
public enum ReductionMode: String, Sendable, CaseIterable {
    /// Each micro-shard is summed on its own, the per-micro-shard sums are all-gathered, and
    /// every rank adds them in micro-shard order: the result is bitwise the same for 1, 2, 4
    /// ... ranks at the same global batch. Costs an all-gather of `microShardCount` vectors.
    case ordered
    /// Each rank sums its rows, then `MPI_Allreduce`: one all-reduce of one vector, but the
    /// order of the additions (and so the last bits) depends on the number of ranks. The
    /// ``DataParallelTrainer`` then runs each rank's rows as one step instead of per micro-shard.
    case fast
}

/// Sums over a global batch whose rows are dealt to the ranks by a ``MicroShardPlan``.
///
/// Every rank calls the same method with its own rows, and every rank gets the same result.
///
/// ```swift
/// import Distributed
///
/// let world = try Communicator.world()
/// let plan = try MicroShardPlan(globalBatchSize: 64, microShardCount: 8, rankCount: world.size)
/// let reducer = try GlobalBatchReducer(communicator: world, plan: plan, mode: .ordered)
/// let myRows = [Float](repeating: 1, count: plan.rows(ofRank: world.rank).count * 3)
/// let columnSums = try reducer.sumRows(myRows, width: 3)   // [64, 64, 64] on every rank
/// ```
public struct GlobalBatchReducer {
    /// The ranks taking part.
    public let communicator: Communicator
    /// The global batch's layout; its `rankCount` is the communicator's size.
    public let plan: MicroShardPlan
    /// Ordered (rank-count independent, the default) or fast.
    public let mode: ReductionMode
    private let scratch = ReductionScratch()

    /// A reducer, or ``DistributedError/invalidPlan(reason:)`` if the plan is for another
    /// number of ranks than the communicator has.
    public init(communicator: Communicator, plan: MicroShardPlan, mode: ReductionMode = .ordered) throws {
        guard plan.rankCount == communicator.size else {
            throw DistributedError.invalidPlan(reason: "plan is for \(plan.rankCount) ranks, the world has \(communicator.size)")
        }
        self.communicator = communicator
        self.plan = plan
        self.mode = mode
    }

    /// The rows this rank holds (``MicroShardPlan/rows(ofRank:)``).
    public var localRows: Range<Int> { plan.rows(ofRank: communicator.rank) }

    /// Column sums over the global batch of `width`-wide rows. `localRows` holds this rank's
    /// rows (``localRows``), row-major. Throws ``DistributedError/shapeMismatch(operation:expected:actual:)``
    /// on every rank if any rank passed the wrong number of values.
    // Exported Float and Double specializations (here and below): a caller in another module
    // would otherwise run the generic loops, measured 100x slower by `batchwise-bench distributed`.
    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public func sumRows<Scalar: CommunicatorScalar>(_ localRows: [Scalar], width: Int) throws -> [Scalar] {
        let expected = self.localRows.count * width
        let problem = localRows.count == expected ? nil
            : DistributedError.shapeMismatch(operation: "sumRows(_:width:)", expected: expected, actual: localRows.count)
        return try microShardSums(width: width, localShapeError: problem) { row, sums in
            let offset = row * width
            for column in 0..<width { sums[column] += localRows[offset + column] }
        }
    }

    /// Sums `width` values per row over the global batch, where `accumulate(localRow, sums)`
    /// adds row `localRow`'s contribution (an index into this rank's rows) to `sums`. The rows
    /// of each micro-shard are accumulated in row order into a fresh zero vector, whichever
    /// rank holds them, so in ordered mode the result does not depend on the rank count.
    /// `localShapeError` (the caller's check of its buffers) is thrown on this rank and makes
    /// every other rank throw too, instead of leaving them in the collective.
    func microShardSums<Scalar: CommunicatorScalar>(
        width: Int, localShapeError: DistributedError?,
        accumulate: (_ localRow: Int, _ sums: inout [Scalar]) -> Void
    ) throws -> [Scalar] {
        var partials: [[Scalar]] = []
        if localShapeError == nil {
            let firstRow = localRows.lowerBound
            partials = plan.microShards(ofRank: communicator.rank).map { shard in
                var sums = [Scalar](repeating: 0, count: width)
                for row in plan.rows(ofMicroShard: shard) { accumulate(row - firstRow, &sums) }
                return sums
            }
        }
        return try sum(microShardSums: partials, width: width, localShapeError: localShapeError)
    }

    /// Combines per-micro-shard sums: `microShardSums` holds one `width`-long vector per
    /// micro-shard this rank holds (``MicroShardPlan/microShards(ofRank:)``), in order.
    /// Use it when the partial sums come from elsewhere (e.g. one matrix product per
    /// micro-shard); each must be computed the same way whichever rank holds it.
    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public func sum<Scalar: CommunicatorScalar>(microShardSums: [[Scalar]], width: Int) throws -> [Scalar] {
        let expected = plan.microShards(ofRank: communicator.rank).count
        let wellFormed = microShardSums.count == expected && microShardSums.allSatisfy { $0.count == width }
        return try sum(microShardSums: microShardSums, width: width, localShapeError: wellFormed ? nil
                       : DistributedError.shapeMismatch(operation: "sum(microShardSums:width:)", expected: expected * width,
                                                        actual: microShardSums.reduce(0) { $0 + $1.count }))
    }

    /// ``sum(microShardSums:width:)``, except that in ``ReductionMode/fast``, where the rank adds
    /// its vectors before the all-reduce, `partials` may be any number of partial sums that
    /// together cover this rank's rows (e.g. one vector for all of them).
    func sum<Scalar: CommunicatorScalar>(rankPartials partials: [[Scalar]], width: Int) throws -> [Scalar] {
        guard mode == .fast else { return try sum(microShardSums: partials, width: width) }
        let wellFormed = partials.allSatisfy { $0.count == width }
        return try sum(microShardSums: partials, width: width, localShapeError: wellFormed ? nil
                       : DistributedError.shapeMismatch(operation: "sum(rankPartials:width:)", expected: partials.count * width,
                                                        actual: partials.reduce(0) { $0 + $1.count }))
    }

    /// The collective part. A rank whose input is malformed still enters the collective (with
    /// a marker length) so that every rank can throw instead of the others waiting forever.
    private func sum<Scalar: CommunicatorScalar>(
        microShardSums: [[Scalar]], width: Int, localShapeError: DistributedError?
    ) throws -> [Scalar] {
        switch mode {
        case .ordered:
            // A malformed rank sends one value more than its share, a length no rank accepts.
            let expected = plan.microShards(ofRank: communicator.rank).count * width
            let send = scratch.send(Scalar.self, count: localShapeError == nil ? expected : expected + 1)
            if localShapeError == nil {
                for (index, partial) in microShardSums.enumerated() {
                    partial.withUnsafeBufferPointer { send.baseAddress?.advanced(by: index * width).update(from: $0.baseAddress!, count: width) }
                }
            } else {
                send.update(repeating: 0)
            }
            var received = UnsafeMutableBufferPointer<Scalar>(start: nil, count: 0)
            let counts = try communicator.allGatherConcatenated(UnsafeBufferPointer(send), operation: "sum(microShardSums:width:)") {
                received = scratch.receive(Scalar.self, count: $0)
                return received
            }
            for rank in 0..<plan.rankCount where counts[rank] != plan.microShards(ofRank: rank).count * width {
                throw localShapeError ?? DistributedError.shapeMismatch(
                    operation: "sum(microShardSums:width:) on rank \(rank)",
                    expected: plan.microShards(ofRank: rank).count * width, actual: counts[rank])
            }
            // Ranks hold consecutive micro-shards, so rank order is micro-shard order.
            return Self.addInMicroShardOrder(UnsafeBufferPointer(received), width: width, microShardCount: plan.microShardCount)
        case .fast:
            // A malformed rank sends one value more, so the all-reduce's length check fails everywhere.
            var local: [Scalar]
            if localShapeError == nil, let first = microShardSums.first {
                // The first partial as it is (a rank holding all its rows in one segment adds nothing).
                local = first
                local.withUnsafeMutableBufferPointer { sums in
                    for partial in microShardSums.dropFirst() { partial.withUnsafeBufferPointer { Scalar.add($0, to: sums) } }
                }
            } else {
                local = [Scalar](repeating: 0, count: localShapeError == nil ? width : width + 1)
            }
            do { try communicator.allReduceSum(&local) } catch { throw localShapeError ?? error }
            if let localShapeError { throw localShapeError }
            return local
        }
    }

    /// `s = p₀; s += p₁; …` over `microShardCount` vectors laid end to end: one fixed order of
    /// additions, which every rank and every rank count performs identically.
    static func addInMicroShardOrder<Scalar: CommunicatorScalar>(
        _ partials: UnsafeBufferPointer<Scalar>, width: Int, microShardCount: Int
    ) -> [Scalar] {
        guard width > 0, partials.count >= width, let first = partials.baseAddress else { return Array(partials.prefix(width)) }
        // A copy of the first micro-shard's sums (bitwise, -0.0 included), then the others added.
        var total = [Scalar](unsafeUninitializedCapacity: width) { buffer, count in
            buffer.baseAddress?.initialize(from: first, count: width)
            count = width
        }
        total.withUnsafeMutableBufferPointer { sums in
            for shard in 1..<max(microShardCount, 1) {
                Scalar.add(UnsafeBufferPointer(rebasing: partials[(shard * width)..<((shard + 1) * width)]), to: sums)
            }
        }
        return total
    }
}

/// The all-gather's send and receive memory, kept between reductions: fresh multi-megabyte
/// arrays on every step cost more in page faults than the copy itself (measured with
/// `batchwise-bench distributed`). Raw memory, bound to `Float` or `Double` per call.
final class ReductionScratch {
    private var sendMemory = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    private var receiveMemory = UnsafeMutableRawBufferPointer(start: nil, count: 0)

    func send<Scalar>(_: Scalar.Type, count: Int) -> UnsafeMutableBufferPointer<Scalar> {
        Self.buffer(&sendMemory, Scalar.self, count: count)
    }

    func receive<Scalar>(_: Scalar.Type, count: Int) -> UnsafeMutableBufferPointer<Scalar> {
        Self.buffer(&receiveMemory, Scalar.self, count: count)
    }

    private static func buffer<Scalar>(
        _ memory: inout UnsafeMutableRawBufferPointer, _: Scalar.Type, count: Int
    ) -> UnsafeMutableBufferPointer<Scalar> {
        let bytes = count * MemoryLayout<Scalar>.stride
        if memory.count < bytes {
            memory.deallocate()
            memory = .allocate(byteCount: bytes, alignment: 16)
        }
        let typed = memory.bindMemory(to: Scalar.self)
        return UnsafeMutableBufferPointer(rebasing: typed[0..<count])
    }

    deinit {
        sendMemory.deallocate()
        receiveMemory.deallocate()
    }
}
