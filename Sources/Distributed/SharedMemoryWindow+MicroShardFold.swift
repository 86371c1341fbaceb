/// ``ReductionMode/ordered``'s fold of per-micro-shard sums through the window (stop 19): the
/// same additions in the same order as ``GlobalBatchReducer``'s fold along the ranks, so the
/// same bits for 1, 2, 4 … ranks, with every rank folding a slice of the columns at once
/// instead of one rank after the other.
extension SharedMemoryWindow {
    /// The values a segment needs to fold `width`-wide sums of ranks holding `microShardCounts`
    /// micro-shards: the largest rank's published sums, the totals and the status.
    static func foldCapacity(width: Int, microShardCounts: [Int]) -> Int {
        (microShardCounts.max() ?? 0) * width + width + 1
    }

    /// Writes into `result` (`width` values, on every rank) `p₀; += p₁; += p₂ …` over every
    /// micro-shard's sums in micro-shard order, where rank `r` holds the next
    /// `microShardCounts[r]` micro-shards and passes its own as `partials` (each `width` values,
    /// in order; ignored unless `valid`). Returns the first rank that was not valid (its input
    /// was malformed: then `result` is undefined), or nil.
    ///
    /// Rank `r` folds slice `r` of the columns. Before the first barrier each rank publishes in
    /// its segment what the others' slices need: the first rank holding micro-shards the fold of
    /// its own (the fold's first additions, the same operations), every later rank its sums as
    /// they are; and its status. Between the barriers each rank folds its slice from those and
    /// its own sums, and writes the totals into the other segments; after the second it copies
    /// the other slices' totals from its segment. Every count and width must be the same on every
    /// rank (agreed beforehand).
    func foldInMicroShardOrder(_ partials: [UnsafePointer<Float>], into result: UnsafeMutablePointer<Float>, width: Int,
                               microShardCounts counts: [Int], valid: Bool, operation: String) throws -> Int? {
        try communicator.enter(operation)
        let (rank, size) = (communicator.rank, communicator.size)
        precondition(counts.count == size && (!valid || partials.count == counts[rank]), "\(operation): micro-shards do not match the plan")
        precondition(Self.foldCapacity(width: width, microShardCounts: counts) <= capacity, "\(operation): the window is too small")
        guard window != nil else { throw DistributedError.finalized(operation: operation) }
        let totalsOffset = (counts.max() ?? 0) * width, statusOffset = totalsOffset + width
        // The fold starts with the first micro-shard of the first rank holding any.
        let starter = counts.firstIndex { $0 > 0 }
        let mine = Self.slice(of: rank, ranks: size, count: width)
        let others = [0..<mine.lowerBound, mine.upperBound..<width]
        let own = segments[rank]
        var failed: Int?
        try communicator.timed {
            own[statusOffset] = valid ? 0 : 1
            if valid && !partials.isEmpty {
                for columns in others where !columns.isEmpty {
                    if rank == starter {
                        Self.fold(partials, columns: columns, into: own)
                    } else {
                        for (index, partial) in partials.enumerated() {
                            Bits.copy(partial + columns.lowerBound, to: own + index * width + columns.lowerBound, count: columns.count)
                        }
                    }
                }
            }
            try synchronize(rank: rank)
            failed = (0..<size).first { segments[$0][statusOffset] != 0 }
            if failed == nil {
                for start in stride(from: mine.lowerBound, to: mine.upperBound, by: Self.block) {
                    let columns = start..<min(start + Self.block, mine.upperBound)
                    foldBlock(columns, partials: partials, starter: starter, counts: counts, width: width, rank: rank, into: result)
                    for peer in segments.indices where peer != rank {
                        Bits.copy(result + columns.lowerBound, to: segments[peer] + totalsOffset + columns.lowerBound, count: columns.count)
                    }
                }
            }
            try synchronize(rank: rank)
            for columns in others where failed == nil && !columns.isEmpty {
                Bits.copy(own + totalsOffset + columns.lowerBound, to: result + columns.lowerBound, count: columns.count)
            }
        }
        return failed
    }

    /// `target[c] = p₀[c]; target[c] += p₁[c] …` for `columns`.
    private static func fold(_ partials: [UnsafePointer<Float>], columns: Range<Int>, into target: UnsafeMutablePointer<Float>) {
        Bits.copy(partials[0] + columns.lowerBound, to: target + columns.lowerBound, count: columns.count)
        let sums = UnsafeMutableBufferPointer(start: target + columns.lowerBound, count: columns.count)
        for partial in partials.dropFirst() { Float.add(UnsafeBufferPointer(start: partial + columns.lowerBound, count: columns.count), to: sums) }
    }

    /// The totals of `columns` of this rank's slice, into `result`: the starter's fold (its own
    /// sums here, or what it published), then every later rank's sums in micro-shard order.
    private func foldBlock(_ columns: Range<Int>, partials: [UnsafePointer<Float>], starter: Int?, counts: [Int], width: Int,
                           rank: Int, into result: UnsafeMutablePointer<Float>) {
        guard let starter else {
            Bits.zero(UnsafeMutableBufferPointer(start: result + columns.lowerBound, count: columns.count))
            return
        }
        if rank == starter {
            Self.fold(partials, columns: columns, into: result)
        } else {
            Bits.copy(segments[starter] + columns.lowerBound, to: result + columns.lowerBound, count: columns.count)
        }
        let sums = UnsafeMutableBufferPointer(start: result + columns.lowerBound, count: columns.count)
        for peer in (starter + 1)..<max(starter + 1, counts.count) {
            for index in 0..<counts[peer] {
                let source = peer == rank ? partials[index] : UnsafePointer(segments[peer] + index * width)
                Float.add(UnsafeBufferPointer(start: source + columns.lowerBound, count: columns.count), to: sums)
            }
        }
    }
}
