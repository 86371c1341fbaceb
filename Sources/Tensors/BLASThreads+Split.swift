import Synchronization

/// Large products split over threads of our own (issue 19): each part is a single-threaded
/// gemm over a run of the output's rows or of its columns, the parts run side by side on
/// Batchwise's own product workers (`ProductWorkers`, persistent threads that spin briefly
/// between hand-offs; the caller takes parts too, so a busy machine degrades to the one-thread
/// loop), and OpenBLAS stays at one thread, so its workers never spin in
/// `sched_yield` between products.
///
/// A part keeps the whole inner dimension, so every output scalar sums the same terms in the
/// same order as one unsplit single-threaded call, as long as every part stays above
/// OpenBLAS's small-matrix limit (``minimumPartMultiplyAdds``); `BLASSplitTests` checks it bit
/// for bit on the MLP's shapes and odd ones. OpenBLAS's own threads do not give these bits for
/// inner dimensions above its block depth (about 384): threaded, OpenBLAS 0.3.21 blocks the
/// inner dimension differently, so a split product equals the one-thread product, not the one
/// OpenBLAS's two threads would have made.
extension BLASThreads {
    /// Whether products above the one-thread limit are split over ``maximum`` threads of our
    /// own (each part on one OpenBLAS thread) instead of being handed to OpenBLAS's threads.
    /// On by default; off, such products go to OpenBLAS's own threads as before issue 19.
    public static var splitsLargeProducts: Bool {
        get { storedSplits.load(ordering: .relaxed) }
        set { storedSplits.store(newValue, ordering: .relaxed) }
    }

    /// Column cuts fall on multiples of this, so every part but the last covers whole cache
    /// lines and whole micro-kernel tiles (OpenBLAS's widest single-precision unroll is 16).
    static let columnAlignment = 64

    /// The fewest output rows one part takes: each part packs the whole other operand, so a
    /// part of few rows spends more of its time packing than multiplying (columns are cut then).
    static let minimumPartRows = 16

    /// Every part has more multiply-adds than this (2^20), for its bits as much as for speed:
    /// OpenBLAS computes products of up to 100³ multiply-adds with its "small matrix" kernel,
    /// which sums the whole inner dimension at once, while the blocked kernel of a larger
    /// product sums it in blocks of about 384 terms. A part that fell under that limit would
    /// round differently from the unsplit product (seen on 200 x 17 x 700 cut at any row below 84).
    static let minimumPartMultiplyAdds = 1 << 20

    private static let storedSplits = Atomic<Bool>(true)

    /// How a product is split: along its rows or its columns, at `cuts` (`parts + 1` ascending offsets).
    struct Split: Equatable {
        let byRows: Bool
        let cuts: [Int]
    }

    /// Forces every product that ``split(m:n:k:parts:)`` can cut into (at most) this many
    /// parts in the current task, whatever the settings and scopes of other threads: tests use
    /// it to take the split path in a process whose other tests change the settings.
    @TaskLocal static var forcedParts: Int?

    /// How a product of `m × n` outputs and `k` terms each is split: `nil` when it is not
    /// (within the one-thread limit, direct-kernel eligible, one thread allowed, inside a
    /// one-thread scope, or too small to cut).
    static func split(m: Int, n: Int, k: Int, directEligible: Bool) -> Split? {
        let multiplyAdds = m * n * k
        // The small products of a small model return here, before any other look-up.
        guard multiplyAdds > 2 * minimumPartMultiplyAdds, !directEligible else { return nil }
        if let parts = forcedParts { return split(m: m, n: n, k: k, parts: parts) }
        guard splitsLargeProducts, activeScopes == 0, multiplyAdds > singleThreadedMultiplyAdds else { return nil }
        return split(m: m, n: n, k: k, parts: maximum)
    }

    /// Whether a product of `m × n` outputs and `k` terms each, not direct-kernel eligible,
    /// would be split now: its bits are then the one-thread bits, so code that runs it whole
    /// on one thread beside other work (Dense's backward pass) gets the same result.
    package static func splitsProduct(m: Int, n: Int, k: Int) -> Bool {
        split(m: m, n: n, k: k, directEligible: false) != nil
    }

    /// At most `parts` runs of at least ``minimumPartRows`` rows or of whole multiples of
    /// ``columnAlignment`` columns (the last one ragged), each of more than
    /// ``minimumPartMultiplyAdds``; `nil` when fewer than two such runs fit. Every part packs
    /// the whole of the operand it does not cut, so the cut goes through the larger output
    /// side: columns when there are fewer rows (the `m × k` left operand is packed twice, not
    /// the `k × n` right one). Single-threaded, two parts of the MLP's 128 x 256 x 784 forward
    /// product cost 1.6% more CPU than the whole by columns and 4.0% by rows; of its
    /// 784 x 256 x 128 kernel gradient, 1.3% by rows and 3.4% by columns.
    static func split(m: Int, n: Int, k: Int, parts: Int) -> Split? {
        m < n ? splitColumns(m: m, n: n, k: k, parts: parts) ?? splitRows(m: m, n: n, k: k, parts: parts)
              : splitRows(m: m, n: n, k: k, parts: parts) ?? splitColumns(m: m, n: n, k: k, parts: parts)
    }

    // Parts are cut as evenly as whole rows (or column blocks) allow; the smallest has the
    // floor of the even share, and there are fewer parts when that would be too small.
    private static func splitRows(m: Int, n: Int, k: Int, parts: Int) -> Split? {
        var rowParts = Swift.min(parts, m / minimumPartRows)
        while rowParts > 1, (m / rowParts) * n * k <= minimumPartMultiplyAdds { rowParts -= 1 }
        guard rowParts > 1 else { return nil }
        return Split(byRows: true, cuts: (0...rowParts).map { m * $0 / rowParts })
    }

    private static func splitColumns(m: Int, n: Int, k: Int, parts: Int) -> Split? {
        let blocks = n / columnAlignment
        var columnParts = Swift.min(parts, blocks)
        while columnParts > 1, (blocks / columnParts) * columnAlignment * m * k <= minimumPartMultiplyAdds { columnParts -= 1 }
        guard columnParts > 1 else { return nil }
        return Split(byRows: false, cuts: (0...columnParts).map { $0 == columnParts ? n : blocks * $0 / columnParts * columnAlignment })
    }

    /// Runs a product of `m × n` outputs (`k` terms each) through `part`, which computes the
    /// outputs in the given rows and columns: split over threads when ``split(m:n:k:directEligible:)``
    /// says so, else once over everything, on one thread when it is small (``multiply(multiplyAdds:directEligible:_:)``).
    @usableFromInline
    static func multiply(m: Int, n: Int, k: Int, directEligible: Bool,
                         _ part: (_ rows: Range<Int>, _ columns: Range<Int>) -> Void) {
        guard let split = split(m: m, n: n, k: k, directEligible: directEligible) else {
            if keepsSplitBits(multiplyAdds: m * n * k, directEligible: directEligible) {
                onOneThread { part(0..<m, 0..<n) }
            } else {
                multiply(multiplyAdds: m * n * k, directEligible: directEligible) { part(0..<m, 0..<n) }
            }
            return
        }
        onOneThread {
            ProductWorkers.forEachPart(split.cuts.count - 1) { index in
                let run = split.cuts[index]..<split.cuts[index + 1]
                if split.byRows { part(run, 0..<n) } else { part(0..<m, run) }
            }
        }
    }
}

extension BLASThreads {
    /// Whether a product the split would have taken, but that is not split (it cannot be cut
    /// into two large enough parts, or another thread's one-thread scope is open), still runs
    /// on one thread: so that with ``splitsLargeProducts`` on, every product but the
    /// direct-kernel ones has the one-thread bits. Without this, such a product could start on
    /// OpenBLAS's threads just as another thread's scope closed, and OpenBLAS's threads round
    /// inner dimensions of about 384–768 differently. While any scope is open OpenBLAS is at one
    /// thread anyway, so holding it there costs nothing.
    static func keepsSplitBits(multiplyAdds: Int, directEligible: Bool) -> Bool {
        splitsLargeProducts && !directEligible
            && multiplyAdds > Swift.max(singleThreadedMultiplyAdds, 2 * minimumPartMultiplyAdds)
    }
}

