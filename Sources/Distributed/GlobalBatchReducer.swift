/// How per-row sums (gradients, BatchNormalization sums, loss and metric totals) are combined
/// across ranks. docs/distributed.md compares their cost.
public enum ReductionMode: String, Sendable, CaseIterable {
    /// Each micro-shard is summed on its own and the per-micro-shard sums are added in
    /// micro-shard order: the result is bitwise the same for 1, 2, 4 ... ranks at the same
    /// global batch. Small vectors are all-gathered and added on every rank; large ones
    /// (gradients) are folded along the ranks in rank order, each rank adding its micro-shards
    /// to the partial sum it receives, and the total is broadcast (docs/distributed.md gives
    /// the volumes).
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
    let scratch = ReductionScratch()
    /// True when the caller has checked, once per step, that every rank reduces the same
    /// widths over the same plan (``DataParallelTrainer`` agrees on the step, the dataset's
    /// rows and the model's layout before the step's first collective): the reductions then
    /// skip their own check, one small collective each.
    var widthsAgreedByCaller = false
    /// Ordered mode's shared-memory window for the large folds, when every rank shares the node
    /// (``useSharedMemoryWindow(width:)``).
    private var sharedWindow: SharedMemoryWindow?
    /// Whether ``useSharedMemoryWindow(width:)`` opened a window.
    var usesSharedMemoryWindow: Bool { sharedWindow != nil }
    /// Whether ``useSharedMemoryWindow(width:)`` was called, whatever it answered: a caller that
    /// asks once per reducer does not repeat its collective every step.
    private(set) var windowAttempted = false

    /// In ``ReductionMode/ordered`` on ranks of one node: folds sums of up to `width` values
    /// through an MPI-3 shared-memory window from now on, every rank a slice of the columns at
    /// once (the same additions in the same order, so the same bits; docs/distributed.md,
    /// "Stop 19"), instead of along the ranks one after the other. A collective: every rank
    /// calls it at the same point. Returns whether the window is in use; false (on every rank
    /// alike) in fast mode, a world of one, when not every rank shares this node, or when
    /// the window cannot be allocated: the fold along the ranks then stays.
    @discardableResult
    public mutating func useSharedMemoryWindow(width: Int) throws -> Bool {
        windowAttempted = true
        guard mode == .ordered, plan.rankCount > 1 else { return false }
        let counts = (0..<plan.rankCount).map { plan.microShards(ofRank: $0).count }
        sharedWindow = try SharedMemoryWindow.open(on: communicator, capacity: SharedMemoryWindow.foldCapacity(width: width, microShardCounts: counts),
                                                   operation: "useSharedMemoryWindow(width:)").window
        return sharedWindow != nil
    }

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

    /// The collective part. Every rank sends its partial sums and one status value (0, or 1
    /// when its input is malformed: it then sends zeros), so the messages have the same length
    /// whatever a rank's input, and every rank learns of a malformed rank at the same collective
    /// and throws instead of waiting for it. Unless the caller has agreed on the widths for the
    /// step (``widthsAgreedByCaller``), one small collective first checks that every rank
    /// reduces the same width over the same plan.
    private func sum<Scalar: CommunicatorScalar>(
        microShardSums: [[Scalar]], width: Int, localShapeError: DistributedError?
    ) throws -> [Scalar] {
        let operation = "sum(microShardSums:width:)"
        try agreeOnWidthUnlessAgreed(width, operation: operation)
        let status: Scalar = localShapeError == nil ? 0 : 1
        switch mode {
        case .ordered where plan.rankCount > 1 && width >= Self.largeVectorMinimumWidth:
            if let folded = try foldThroughWindow(microShardSums, width: width, localShapeError: localShapeError, operation: operation) {
                return folded
            }
            return try foldInMicroShardOrderAlongRanks(microShardSums, width: width, status: status,
                                                      localShapeError: localShapeError, operation: operation)
        case .ordered:
            return try gatherInMicroShardOrder(microShardSums, width: width, status: status,
                                               localShapeError: localShapeError, operation: operation)
        case .fast:
            // Summed in place in the array handed out (the previous step's, when its holder has
            // let go of it), with the status appended and removed: no copy before or after.
            let large = width >= Self.largeVectorMinimumWidth
            var sums = large ? scratch.reusableResult(Scalar.self, count: width) : Bits.zeros(Scalar.self, count: width)
            sums.withUnsafeMutableBufferPointer { buffer in
                if localShapeError == nil, let first = microShardSums.first {
                    first.withUnsafeBufferPointer { Bits.copy($0.baseAddress!, to: buffer.baseAddress!, count: width) }
                    for partial in microShardSums.dropFirst() { partial.withUnsafeBufferPointer { Scalar.add($0, to: buffer) } }
                } else {
                    Bits.zero(buffer)
                }
            }
            try allReduceInPlace(&sums, status: status, localShapeError: localShapeError, operation: operation)
            if large { scratch.keepResult(sums) }
            return sums
        }
    }

    /// The step's one check that every rank reduces the same width over the same plan, unless
    /// the caller made it (``widthsAgreedByCaller``).
    func agreeOnWidthUnlessAgreed(_ width: Int, operation: String) throws {
        guard !widthsAgreedByCaller else { return }
        try communicator.agree(on: [("values per row", width), ("rows in the global batch", plan.globalBatchSize),
                                    ("micro-shards", plan.microShardCount)], operation: operation)
    }

    /// ``ReductionMode/fast``'s all-reduce of `sums` in place, with `status` appended for the
    /// collective and removed after it (no copy before or after when `sums` has spare capacity).
    private func allReduceInPlace<Scalar: CommunicatorScalar>(
        _ sums: inout [Scalar], status: Scalar, localShapeError: DistributedError?, operation: String
    ) throws {
        sums.append(status)
        do {
            try sums.withUnsafeMutableBufferPointer { try communicator.allReduceSum(agreedLength: $0, operation: operation) }
        } catch { throw localShapeError ?? error }
        if let localShapeError { throw localShapeError }
        guard sums.removeLast() == 0 else { throw DistributedError.otherRankInputRejected(operation: operation, rank: nil) }
    }

    /// Widths from which ``ReductionMode/ordered`` folds along the ranks rather than
    /// all-gathering every micro-shard's sums (a gradient vector, not a BatchNormalization
    /// layer's sums, whose one collective costs less than the chain's messages), from which
    /// ``ReductionMode/fast`` reuses its result, and from which a gradient is large enough for
    /// the overlapped reduction (``OverlappedGradientReduction``) to reduce it where it is.
    static let largeVectorMinimumWidth = 4096

    /// Ordered mode for small widths: every rank all-gathers every micro-shard's sums (with the
    /// ranks' statuses) and adds all of them in micro-shard order.
    private func gatherInMicroShardOrder<Scalar: CommunicatorScalar>(
        _ partials: [[Scalar]], width: Int, status: Scalar, localShapeError: DistributedError?, operation: String
    ) throws -> [Scalar] {
        let ranks = 0..<plan.rankCount
        let counts = ranks.map { plan.microShards(ofRank: $0).count * width + 1 }
        let offsets = ranks.map { rank in counts[..<rank].reduce(0, +) }
        let received = scratch.receive(Scalar.self, count: counts.reduce(0, +))
        let mine = UnsafeMutableBufferPointer(rebasing: received[offsets[communicator.rank]..<(offsets[communicator.rank] + counts[communicator.rank])])
        Self.pack(partials, columns: 0..<width, into: mine, status: status, valid: localShapeError == nil)
        do {
            try communicator.allGather(inPlace: received, agreedCounts: counts, operation: operation)
        } catch { throw localShapeError ?? error }
        if let localShapeError { throw localShapeError }
        if let failed = ranks.first(where: { received[offsets[$0] + counts[$0] - 1] != 0 }) {
            throw DistributedError.otherRankInputRejected(operation: operation, rank: failed)
        }
        // Rank r's block: its micro-shards' sums in order, then its status.
        let starts = ranks.flatMap { rank in (0..<plan.microShards(ofRank: rank).count).map { offsets[rank] + $0 * width } }
        return Self.addInMicroShardOrder(UnsafeBufferPointer(received), starts: starts, columns: width)
    }

    /// Ordered mode for large widths, with about a ring's bandwidth: the micro-shard sums are
    /// folded left in micro-shard order along the ranks. Rank 0 folds its micro-shards (a copy
    /// of the first, then the others added), sends the partial sum to rank 1, which adds its
    /// micro-shards to it and passes it on, chunk by chunk (``Communicator/foldAlongRanks(_:chunkLength:operation:fold:)``),
    /// and the last rank's total is broadcast. Each value is added in the same order as by
    /// ``gatherInMicroShardOrder(_:width:status:localShapeError:operation:)``, so the result is
    /// bitwise the same, for any number of ranks. A rank whose micro-shards come first starts
    /// the fold (a copy, not an addition to zeros, so `-0.0` stays); ranks without
    /// micro-shards pass it on unchanged. The value after the sums carries the first failed
    /// rank's number plus one (0: none failed).
    private func foldInMicroShardOrderAlongRanks<Scalar: CommunicatorScalar>(
        _ partials: [[Scalar]], width: Int, status: Scalar, localShapeError: DistributedError?, operation: String
    ) throws -> [Scalar] {
        let rank = communicator.rank
        // This rank's micro-shards continue a fold that ranks before it started, if any hold micro-shards.
        let continuesFold = plan.microShards(ofRank: rank).lowerBound > 0
        let valid = localShapeError == nil
        var total = scratch.reusableResult(Scalar.self, count: width)
        total.append(0)
        do {
            try total.withUnsafeMutableBufferPointer { buffer in
                let target = buffer.baseAddress!
                try communicator.foldAlongRanks(buffer, chunkLength: Self.foldChunkLength, operation: operation) { chunk in
                    let columns = chunk.lowerBound..<Swift.min(chunk.upperBound, width)
                    if !columns.isEmpty {
                        let sums = UnsafeMutableBufferPointer(rebasing: buffer[columns])
                        for (index, partial) in partials.enumerated() where valid {
                            partial.withUnsafeBufferPointer { source in
                                let from = UnsafeBufferPointer(rebasing: source[columns])
                                if index == 0 && !continuesFold {
                                    Bits.copy(from.baseAddress!, to: sums.baseAddress!, count: columns.count)
                                } else {
                                    Scalar.add(from, to: sums)
                                }
                            }
                        }
                        // Nothing folded in yet, and nothing of this rank's either: zeros.
                        if !continuesFold && (partials.isEmpty || !valid) { Bits.zero(sums) }
                    }
                    if chunk.contains(width) {
                        // Rank 0 receives nothing: it starts the failure mark.
                        if rank == 0 { target[width] = 0 }
                        if target[width] == 0 && status != 0 { target[width] = Scalar(rank + 1) }
                    }
                }
            }
        } catch { throw localShapeError ?? error }
        if let localShapeError { throw localShapeError }
        let failed = total.removeLast()
        guard failed == 0 else { throw DistributedError.otherRankInputRejected(operation: operation, rank: Int(failed) - 1) }
        scratch.keepResult(total)
        return total
    }

    /// Ordered mode's large fold through the shared-memory window, or nil (on every rank alike:
    /// the scalar type, the widths and the plan are agreed) when there is none or it is too small.
    private func foldThroughWindow<Scalar: CommunicatorScalar>(
        _ partials: [[Scalar]], width: Int, localShapeError: DistributedError?, operation: String
    ) throws -> [Scalar]? {
        let counts = (0..<plan.rankCount).map { plan.microShards(ofRank: $0).count }
        guard Scalar.self == Float.self, let window = sharedWindow,
              SharedMemoryWindow.foldCapacity(width: width, microShardCounts: counts) <= window.capacity else { return nil }
        let valid = localShapeError == nil
        // The partials' memory outlives the fold: `partials` holds it.
        let sources = valid ? partials.map { $0.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: Float.self) } } : []
        var total = scratch.reusableResult(Scalar.self, count: width)
        let failed: Int?
        do {
            failed = try total.withUnsafeMutableBufferPointer { buffer in
                try window.foldInMicroShardOrder(sources, into: UnsafeMutableRawPointer(buffer.baseAddress!).assumingMemoryBound(to: Float.self),
                                                 width: width, microShardCounts: counts, valid: valid, operation: operation)
            }
        } catch { throw localShapeError ?? error }
        if let localShapeError { throw localShapeError }
        if let failed { throw DistributedError.otherRankInputRejected(operation: operation, rank: failed) }
        scratch.keepResult(total)
        return total
    }

    /// Values per message of ``foldInMicroShardOrderAlongRanks(_:width:status:localShapeError:operation:)``:
    /// small enough that the next rank adds one chunk while this one adds the next, large enough
    /// that the messages' overhead stays small (128 KB of `Float`).
    static let foldChunkLength = 32_768

    /// Writes `columns` of each partial sum, one after the other, then `status`, into `target`;
    /// zeros instead of the sums when the partials are not `valid` (malformed input).
    private static func pack<Scalar: CommunicatorScalar>(
        _ partials: [[Scalar]], columns: Range<Int>, into target: UnsafeMutableBufferPointer<Scalar>, status: Scalar, valid: Bool
    ) {
        guard valid else {
            Bits.zero(target)
            target[target.count - 1] = status
            return
        }
        for (index, partial) in partials.enumerated() where !columns.isEmpty {
            partial.withUnsafeBufferPointer { source in
                Bits.copy(source.baseAddress!.advanced(by: columns.lowerBound), to: target.baseAddress!.advanced(by: index * columns.count),
                          count: columns.count)
            }
        }
        target[target.count - 1] = status
    }

    /// `s = p₀; s += p₁; …` over the vectors of `columns` values starting at `starts` (one per
    /// micro-shard, in micro-shard order): one fixed order of additions, which every rank and
    /// every rank count performs identically.
    static func addInMicroShardOrder<Scalar: CommunicatorScalar>(
        _ values: UnsafeBufferPointer<Scalar>, starts: [Int], columns: Int
    ) -> [Scalar] {
        var total = Bits.zeros(Scalar.self, count: columns)
        total.withUnsafeMutableBufferPointer { addInMicroShardOrder(values, starts: starts, into: $0) }
        return total
    }

    /// ``addInMicroShardOrder(_:starts:columns:)`` into `sums` (`sums.count` columns).
    static func addInMicroShardOrder<Scalar: CommunicatorScalar>(
        _ values: UnsafeBufferPointer<Scalar>, starts: [Int], into sums: UnsafeMutableBufferPointer<Scalar>
    ) {
        guard let firstStart = starts.first, let base = values.baseAddress, let target = sums.baseAddress else { return }
        // A copy of the first micro-shard's sums (bitwise, -0.0 included), then the others added.
        Bits.copy(base.advanced(by: firstStart), to: target, count: sums.count)
        for start in starts.dropFirst() {
            Scalar.add(UnsafeBufferPointer(rebasing: values[start..<(start + sums.count)]), to: sums)
        }
    }
}
