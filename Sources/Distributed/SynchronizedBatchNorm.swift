/// Batch statistics of a `[rows, features]` activation over the global batch.
public struct GlobalBatchMoments<Scalar: CommunicatorScalar>: Equatable, Sendable {
    /// Per-feature mean over all ranks' rows.
    public var mean: [Scalar]
    /// Per-feature BIASED variance (divided by the global row count), as Keras and
    /// `tf.nn.moments` compute it in training mode.
    public var variance: [Scalar]
    /// Rows in the global batch.
    public var count: Int

    /// `1 / sqrt(variance + epsilon)` per feature.
    public func inverseStd(epsilon: Scalar) -> [Scalar] {
        variance.map { 1 / ($0 + epsilon).squareRoot() }
    }
}

/// The global sums the backward pass of a synchronized BatchNormalization needs, as PyTorch's
/// SyncBatchNorm all-reduces them.
public struct GlobalBatchNormGradientSums<Scalar: CommunicatorScalar>: Equatable, Sendable {
    /// `Σ dy` per feature over the global batch: the gradient of `beta`.
    public var sumDy: [Scalar]
    /// `Σ dy·(x − mean)` per feature over the global batch; `inverseStd · sumDyXmu` is the
    /// gradient of `gamma`.
    public var sumDyXmu: [Scalar]
}

/// Synchronized BatchNormalization: statistics over the global batch rather than each rank's
/// slice, so every rank normalises with the same numbers and its moving statistics stay
/// identical to every other rank's (the drift of pytorch #30718 cannot happen).
///
/// The statistics are computed in two passes for numerical stability: the global mean first
/// (one reduction of `Σ x`), then the centred sums `Σ (x − mean)²` (a second reduction), never
/// `E[x²] − E[x]²`. In ``ReductionMode/ordered`` mode both are bitwise the same for any number
/// of ranks. A rank with no rows (a short last batch) takes part and contributes nothing; a
/// global batch with no rows throws ``DistributedError/invalidPlan(reason:)`` on every rank.
///
/// ```swift
/// import Distributed
///
/// let world = try Communicator.world()
/// let plan = try MicroShardPlan(globalBatchSize: 64, microShardCount: 8, rankCount: world.size)
/// let reducer = try GlobalBatchReducer(communicator: world, plan: plan, mode: .ordered)
/// let x = [Float](repeating: 0.5, count: plan.rows(ofRank: world.rank).count * 4)
/// let moments = try SynchronizedBatchNorm.moments(of: x, features: 4, reducer: reducer)
/// ```
public enum SynchronizedBatchNorm {
    /// The global mean and biased variance of this rank's `localRows` (row-major,
    /// `features` wide, the rows ``GlobalBatchReducer/localRows`` names).
    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public static func moments<Scalar: CommunicatorScalar>(
        of localRows: [Scalar], features: Int, reducer: GlobalBatchReducer
    ) throws -> GlobalBatchMoments<Scalar> {
        let count = reducer.plan.globalBatchSize
        guard count > 0 else { throw DistributedError.invalidPlan(reason: "BatchNormalization statistics of an empty global batch") }
        let scale = 1 / Scalar(count)
        var mean = try reducer.sumRows(localRows, width: features)
        for feature in 0..<features { mean[feature] *= scale }
        // sumRows has checked localRows' length on every rank.
        var variance = try reducer.microShardSums(width: features, localShapeError: nil) { (row, sums: inout [Scalar]) in
            let offset = row * features
            for feature in 0..<features {
                let centred = localRows[offset + feature] - mean[feature]
                sums[feature] += centred * centred
            }
        }
        for feature in 0..<features { variance[feature] *= scale }
        return GlobalBatchMoments(mean: mean, variance: variance, count: count)
    }

    /// `Σ dy` and `Σ dy·(x − mean)` over the global batch, reduced together in one collective.
    /// `localRows` and `upstream` (dy) are this rank's rows, `features` wide; `mean` is the
    /// forward pass's global mean. With them each rank computes its rows' input gradient
    /// `dx = gamma·invstd·(dy − (sumDy + (x − mean)·invstd²·sumDyXmu) / N)` without further
    /// communication.
    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public static func gradientSums<Scalar: CommunicatorScalar>(
        of localRows: [Scalar], upstream: [Scalar], mean: [Scalar], features: Int, reducer: GlobalBatchReducer
    ) throws -> GlobalBatchNormGradientSums<Scalar> {
        guard mean.count == features else {
            throw DistributedError.shapeMismatch(operation: "gradientSums: mean", expected: features, actual: mean.count)
        }
        // Wrong local lengths are reported through the collective, so every rank throws.
        let expected = reducer.localRows.count * features
        let problem: DistributedError? = localRows.count != expected
            ? .shapeMismatch(operation: "gradientSums: rows", expected: expected, actual: localRows.count)
            : upstream.count != expected
            ? .shapeMismatch(operation: "gradientSums: upstream", expected: expected, actual: upstream.count) : nil
        let sums = try reducer.microShardSums(width: 2 * features, localShapeError: problem) { (row, sums: inout [Scalar]) in
            let offset = row * features
            for feature in 0..<features {
                let dy = upstream[offset + feature]
                sums[feature] += dy
                sums[features + feature] += dy * (localRows[offset + feature] - mean[feature])
            }
        }
        return GlobalBatchNormGradientSums(sumDy: Array(sums[..<features]), sumDyXmu: Array(sums[features...]))
    }
}
