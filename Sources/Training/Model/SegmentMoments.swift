/// One segment's batch statistics in the form a one-round merge needs (Chan, Golub and LeVeque,
/// "Algorithms for computing the sample variance", 1979): its row count, a centre (its mean as
/// the layer computes it in `Float`) and, around that centre, the sums `Σ(x − centre)` and
/// `Σ(x − centre)²`. Merging never subtracts squares (`E[x²] − E[x]²` cancels catastrophically
/// for large means), only means, in `Double`:
///
/// `meanₖ = centreₖ + Σ(x − centreₖ)/nₖ`, `M2ₖ = Σ(x − centreₖ)² − (Σ(x − centreₖ))²/nₖ`,
/// `mean = Σₖ nₖ·meanₖ / n`, `M2 = Σₖ (M2ₖ + nₖ·(meanₖ − mean)²)`,
///
/// exact in exact arithmetic. The residual sum `Σ(x − centre)` is what keeps it exact in
/// floating point: a `Float` mean near 1000 is off by up to half an ulp (3e-5), which the
/// centred sums carry; without it the merge was off by 0.2–0.4 % of a variance of 1e-4 there
/// (`SegmentMomentsTests`). Synchronized BatchNormalization uses it through
/// ``BatchStatisticsReducer/mergeMoments(_:width:)`` where one round of communication matters
/// more than an order of additions independent of the process count.
public struct SegmentMoments: Sendable, Equatable {
    /// Rows (examples × pixels for images) the statistics span; 0 for a segment without rows.
    public var count: Int
    /// Per-column centre: the mean as computed in `Float` (zeros without rows).
    public var mean: [Float]
    /// Per-column `Σ(x − mean)` around ``mean``: the `Float` mean's rounding, times the rows.
    public var centredSums: [Float]
    /// Per-column `Σ(x − mean)²` around ``mean`` (zeros without rows).
    public var centredSquares: [Float]

    /// One segment's statistics as given: `mean`, `centredSums` and `centredSquares` have one
    /// entry per column.
    public init(count: Int, mean: [Float], centredSums: [Float], centredSquares: [Float]) {
        self.count = count
        self.mean = mean
        self.centredSums = centredSums
        self.centredSquares = centredSquares
    }

    /// A segment without rows: it adds nothing to a merge.
    public static func empty(width: Int) -> SegmentMoments {
        let zeros = [Float](repeating: 0, count: width)
        return SegmentMoments(count: 0, mean: zeros, centredSums: zeros, centredSquares: zeros)
    }

    /// The moments of all of `parts`' rows together, `width` columns each. Parts without rows
    /// are skipped; a single part with rows comes back unchanged (so one segment gives bitwise
    /// what the layer computed on its own); otherwise the merge is computed in `Double`, in the
    /// order of `parts` (the same parts in the same order give the same bits), and the result's
    /// centre is its mean rounded to `Float`, with the sums around that centre.
    public static func merged(_ parts: [SegmentMoments], width: Int) -> SegmentMoments {
        let live = parts.filter { $0.count > 0 }
        if live.count == 1 { return live[0] }
        guard !live.isEmpty else { return .empty(width: width) }
        let total = live.reduce(0) { $0 + $1.count }
        // Each part's exact mean, from its centre and the residual sum around it.
        let means = live.map { part in
            let inverse = 1 / Double(part.count)
            return (0..<width).map { Double(part.mean[$0]) + Double(part.centredSums[$0]) * inverse }
        }
        var mean = [Double](repeating: 0, count: width)
        for (part, partMean) in zip(live, means) {
            let weight = Double(part.count)
            for j in 0..<width { mean[j] += weight * partMean[j] }
        }
        let inverseTotal = 1 / Double(total)
        for j in 0..<width { mean[j] *= inverseTotal }
        var centred = [Double](repeating: 0, count: width)
        for (part, partMean) in zip(live, means) {
            let weight = Double(part.count)
            for j in 0..<width {
                let residual = Double(part.centredSums[j])
                let shift = partMean[j] - mean[j]
                centred[j] += Double(part.centredSquares[j]) - residual * residual / weight + weight * shift * shift
            }
        }
        // Around the mean rounded to Float: Σ(x − c) = n·(mean − c), Σ(x − c)² = M2 + n·(mean − c)².
        let centre = mean.map { Float($0) }
        let offsets = (0..<width).map { mean[$0] - Double(centre[$0]) }
        let weight = Double(total)
        return SegmentMoments(count: total, mean: centre,
                              centredSums: offsets.map { Float(weight * $0) },
                              centredSquares: (0..<width).map { Float(centred[$0] + weight * offsets[$0] * offsets[$0]) })
    }
}
