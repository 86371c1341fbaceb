import Synchronization

/// Large OpenBLAS products split over threads of our own (issue 19): each part is a single-threaded
/// gemm over a run of the output's rows or of its columns, and the parts run side by side on
/// Batchwise's product workers (`ProductWorkers`; the caller takes parts too, so a busy
/// machine degrades to the one-thread loop). OpenBLAS itself stays at one thread.
///
/// A part keeps the whole inner dimension, so OpenBLAS blocks it as the unsplit call does; but
/// whether a part computes every output scalar exactly as the unsplit call does depends on the
/// kernel (stop 19, OpenBLAS 0.3.21): with the AVX-512 kernels any cut into large parts did,
/// while the Haswell/Zen sgemm kernel computes a scalar differently by its place in the
/// kernel's tiles, so only cuts at multiples of 12 rows keep the bits there (no column cut
/// did; overlapping column parts did for some shapes but cost more CPU than the row cuts,
/// docs/perf/layers.md "Stop 20", so they are not candidates), and a part small enough for
/// OpenBLAS's small-matrix or direct kernel rounds differently again. So a split is never
/// assumed: ``SplitProbe`` tries each candidate on its first use for a shape, against the unsplit call, and only a candidate whose every scalar
/// had the unsplit call's bits is used (`BLASSplitTests` and `BLASThreadBitsTests` check it).
/// This is the path of `Double` products, of `Float` products with another `alpha` or `beta`,
/// and of every product on a CPU without AVX2 and FMA; the other `Float` products run the own
/// kernel, whose parts keep the bits by construction (`OwnProducts`, which reuses ``parts(m:n:k:)``).
extension BLASThreads {
    /// Whether products above ``singleThreadedMultiplyAdds`` are split over ``maximum``
    /// threads of our own where that keeps their bits (on by default); off, every product runs
    /// whole on the calling thread. Either way the bits are the same.
    public static var splitsLargeProducts: Bool {
        get { storedSplits.load(ordering: .relaxed) }
        set { storedSplits.store(newValue, ordering: .relaxed) }
    }

    /// Column cuts fall on multiples of this, so every part but the last covers whole cache
    /// lines and whole micro-kernel tiles (OpenBLAS's widest single-precision unroll is 16).
    static let columnAlignment = 64

    /// Row cuts of the second candidate fall on multiples of this: OpenBLAS 0.3.21's
    /// Haswell/Zen sgemm and dgemm drivers hand the kernel the output's rows (its column-major
    /// `n`) in blocks of 3 x 4, and a scalar's bits depend on its place in such a block.
    static let rowAlignment = 12

    /// The fewest output rows one part of the first candidate takes: each part packs the whole
    /// other operand, so a part of few rows spends more of its time packing than multiplying.
    static let minimumPartRows = 16

    /// Every part has more multiply-adds than this (2^20), for its bits as much as for speed:
    /// OpenBLAS computes products of up to 100³ multiply-adds with its "small matrix" kernel
    /// (AVX-512 builds), which sums the whole inner dimension at once, while the blocked kernel
    /// of a larger product sums it in blocks of about 384 terms.
    static let minimumPartMultiplyAdds = 1 << 20

    /// A `beta` 0, `alpha` 1 product of more than this many multiply-adds (2^21) that is not
    /// split is still probed (``SplitProbe``), for a zero fill: OpenBLAS's level-3 driver makes a
    /// `beta` 0 call by setting the output to zero with its beta kernel and then adding the
    /// product, and on this machine (Zen, 0.3.21) that beta kernel took 5% of the BN MLP's step
    /// (`perf record`); zeroing the output with a memset and calling with `beta`
    /// 1 makes the same additions onto the same zeros, and took 3–7% less CPU per product
    /// (docs/perf/layers.md, "Stop 20"). Kept only where the probe saw the same bits: on AVX-512
    /// builds a `beta` 0 call may take the direct or small-matrix kernel, which store
    /// `alpha·sum` instead of adding it to zero. With `alpha` 1 that difference could only be in
    /// the sign of a zero sum, which accumulators started at +0 never give; with another
    /// `alpha` it could (`-1·(+0)` is -0, `0 + -0` is +0), and seeded operands would not show
    /// it, so other `alpha`s are never zero-filled. Smaller products skip the look-up.
    static let zeroFillMultiplyAdds = 1 << 21

    private static let storedSplits = Atomic<Bool>(true)

    /// How a product is split: along its rows or its columns, at `cuts` (`parts + 1` ascending offsets).
    struct Split: Hashable {
        let byRows: Bool
        let cuts: [Int]
    }

    /// Forces every product that can be cut into (at most) this many parts in the current
    /// task, whatever the settings and scopes of other threads: tests use it to take the split
    /// path in a process whose other tests change the settings.
    @TaskLocal static var forcedParts: Int?

    /// How many parts a product of `m × n` outputs and `k` terms each may be cut into now, or
    /// `nil` when it stays whole (within the one-thread limit, one thread allowed, inside a
    /// one-thread scope, or too small to cut into parts above ``minimumPartMultiplyAdds``).
    static func parts(m: Int, n: Int, k: Int) -> Int? {
        // The small products of a small model return here, before any other look-up.
        guard m * n * k > 2 * minimumPartMultiplyAdds else { return nil }
        if let parts = forcedParts { return parts > 1 ? parts : nil }
        guard splitsLargeProducts, activeScopes == 0, m * n * k > singleThreadedMultiplyAdds else { return nil }
        let parts = maximum
        return parts > 1 ? parts : nil
    }

    /// Whether a product of `m × n` outputs and `k` terms each is large enough to be split now.
    /// Speed only (Dense's backward pass then runs two whole products side by side instead):
    /// split or whole, a product has the same bits.
    package static func splitsProduct(m: Int, n: Int, k: Int) -> Bool {
        parts(m: m, n: n, k: k) != nil
    }

    /// The splits to try for a product, best first: runs of at least ``minimumPartRows`` rows
    /// or of whole multiples of ``columnAlignment`` columns (``split(m:n:k:parts:)``), then runs
    /// of whole multiples of ``rowAlignment`` rows. Duplicates and `nil`s are dropped.
    static func candidates(m: Int, n: Int, k: Int, parts: Int) -> [Split] {
        var result: [Split] = []
        for candidate in [split(m: m, n: n, k: k, parts: parts), splitAlignedRows(m: m, n: n, k: k, parts: parts)] {
            if let candidate, !result.contains(candidate) { result.append(candidate) }
        }
        return result
    }

    /// At most `parts` runs of at least ``minimumPartRows`` rows or of whole multiples of
    /// ``columnAlignment`` columns (the last one ragged), each of more than
    /// ``minimumPartMultiplyAdds``; `nil` when fewer than two such runs fit. Every part packs
    /// the whole of the operand it does not cut, so the cut goes through the larger output
    /// side: columns when there are fewer rows. Single-threaded, two parts of the MLP's
    /// 128 x 256 x 784 forward product cost 1.6% more CPU than the whole by columns and 4.0%
    /// by rows; of its 784 x 256 x 128 kernel gradient, 1.3% by rows and 3.4% by columns.
    static func split(m: Int, n: Int, k: Int, parts: Int) -> Split? {
        m < n ? splitColumns(m: m, n: n, k: k, parts: parts) ?? splitRows(m: m, n: n, k: k, parts: parts)
              : splitRows(m: m, n: n, k: k, parts: parts) ?? splitColumns(m: m, n: n, k: k, parts: parts)
    }

    // Parts are cut as evenly as whole rows (or blocks) allow; the smallest has the floor of
    // the even share, and there are fewer parts when that would be too small.
    private static func splitRows(m: Int, n: Int, k: Int, parts: Int) -> Split? {
        var rowParts = Swift.min(parts, m / minimumPartRows)
        while rowParts > 1, (m / rowParts) * n * k <= minimumPartMultiplyAdds { rowParts -= 1 }
        guard rowParts > 1 else { return nil }
        return Split(byRows: true, cuts: (0...rowParts).map { m * $0 / rowParts })
    }

    private static func splitColumns(m: Int, n: Int, k: Int, parts: Int) -> Split? {
        guard let cuts = alignedCuts(length: n, alignment: columnAlignment, otherSide: m, k: k, parts: parts) else { return nil }
        return Split(byRows: false, cuts: cuts)
    }

    /// Runs of whole multiples of ``rowAlignment`` rows (the last one ragged).
    static func splitAlignedRows(m: Int, n: Int, k: Int, parts: Int) -> Split? {
        guard let cuts = alignedCuts(length: m, alignment: rowAlignment, otherSide: n, k: k, parts: parts) else { return nil }
        return Split(byRows: true, cuts: cuts)
    }

    /// Cuts of `length` into at most `parts` runs of whole multiples of `alignment` (the last
    /// one ragged), fewer when a run would not have more than ``minimumPartMultiplyAdds``
    /// (`otherSide · k` multiply-adds per unit of length); `nil` when fewer than two fit.
    static func alignedCuts(length: Int, alignment: Int, otherSide: Int, k: Int, parts: Int) -> [Int]? {
        let blocks = length / alignment
        var count = Swift.min(parts, blocks)
        while count > 1, (blocks / count) * alignment * otherSide * k <= minimumPartMultiplyAdds { count -= 1 }
        guard count > 1 else { return nil }
        return (0...count).map { $0 == count ? length : blocks * $0 / count * alignment }
    }
}
