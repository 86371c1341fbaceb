/// Adds up, over a whole global batch, the per-segment sums that
/// ``Sequential/trainingStep(segments:loss:mode:batchStatistics:)`` needs for batch
/// statistics: the hook through which BatchNormalization normalises with the statistics of
/// every segment of every process (synchronized BatchNormalization) rather than its own.
///
/// Training only defines the hook; the data-parallel trainer of the Distributed module
/// implements it with a reduction across processes. Without one, the segments given to the
/// step are the whole batch (a local reducer adds them in order).
///
/// Every process taking part must call ``sum(segmentSums:width:)`` the same number of times,
/// with the same widths, in the same order, and every process gets the same result.
///
/// ```swift
/// struct TwoCopies: BatchStatisticsReducer {   // as if a second process held the same rows
///     var globalExampleCount: Int
///     func sum(segmentSums: [[Float]], width: Int) throws -> [Float] {
///         (0..<width).map { column in 2 * segmentSums.reduce(0) { $0 + $1[column] } }
///     }
/// }
/// ```
public protocol BatchStatisticsReducer {
    /// The examples in the whole global batch: every segment of every process.
    var globalExampleCount: Int { get }

    /// The sums over the whole global batch of `width` values per segment: `segmentSums[k]`
    /// holds this process's segment `k`'s sums (zeros for a segment without rows), in the
    /// order the segments were given. The segments' sums must be added in an order that does
    /// not depend on how the segments are spread over processes when results must not depend
    /// on the process count.
    func sum(segmentSums: [[Float]], width: Int) throws -> [Float]

    /// Whether synchronized BatchNormalization takes its forward statistics from this reducer
    /// in one round (``mergeMoments(_:width:)``: each segment's row count, mean and centred
    /// sums around its own mean, merged) instead of two (``sum(segmentSums:width:)`` of `Σx`,
    /// then of `Σ(x − mean)²` around the global mean). False by default: the two rounds add in
    /// an order a reducer can keep independent of the process count; one round halves the
    /// synchronisation points where the last bits may depend on it.
    var mergesMomentsInOneRound: Bool { get }

    /// The global batch's per-column mean and centred sums `Σ(x − mean)²` from every segment of
    /// every process (`segments[k]`: this process's segment `k`, ``SegmentMoments/empty(width:)``
    /// for one without rows), merged by ``SegmentMoments/merged(_:width:)``. Called only when
    /// ``mergesMomentsInOneRound`` is true; the default merges this process's segments alone.
    func mergeMoments(_ segments: [SegmentMoments], width: Int) throws -> (mean: [Float], centredSquares: [Float])

    /// Whether the BatchNormalization layer named `layer` normalises with the statistics of the
    /// whole global batch through this reducer (true, the default) or each segment with its
    /// own (false: ghost batches, whose moving-statistic updates the step reports per segment).
    func synchronizesBatchStatistics(ofLayer layer: String) -> Bool

    /// ``synchronizesBatchStatistics(ofLayer:)`` for the model's layer at `index`, named `layer`:
    /// what the step asks, so that a reducer can answer from a table by index instead of
    /// hashing the name every step. The default asks by name.
    func synchronizesBatchStatistics(ofLayerAt index: Int, named layer: String) -> Bool

    /// The index in the global batch of segment `segment`'s first example, so that a layer
    /// drawing random numbers per example (Dropout) draws the same for an example whichever
    /// process holds it; nil (the default) when unknown, and then the step refuses such layers.
    func firstGlobalExample(ofSegment segment: Int) -> Int?

    /// Called once per layer after its backward pass, from the last layer to the first (every
    /// layer, with or without gradients, also when a segment failed), with each segment's
    /// gradients of that layer (`gradients[k]`: segment `k`'s, empty for a segment without rows
    /// or after a failure). The gradients are final when this is called: a reducer may start
    /// adding them up across processes while the earlier layers' backward passes run, and
    /// change them in place (the step hands on what it leaves there). The default does nothing.
    func backwardPassFinished(layer index: Int, named layerName: String, gradients: inout [LayerGradients]) throws
}

extension BatchStatisticsReducer {
    /// Every BatchNormalization layer is synchronized.
    public func synchronizesBatchStatistics(ofLayer layer: String) -> Bool { true }

    /// By name: ``synchronizesBatchStatistics(ofLayer:)``.
    public func synchronizesBatchStatistics(ofLayerAt index: Int, named layer: String) -> Bool {
        synchronizesBatchStatistics(ofLayer: layer)
    }

    /// Unknown: a step through this reducer refuses layers that draw random numbers.
    public func firstGlobalExample(ofSegment segment: Int) -> Int? { nil }

    /// Two rounds (`Σx`, then the centred sums around the global mean).
    public var mergesMomentsInOneRound: Bool { false }

    /// This process's segments merged, as if they were the whole batch.
    public func mergeMoments(_ segments: [SegmentMoments], width: Int) throws -> (mean: [Float], centredSquares: [Float]) {
        let merged = SegmentMoments.merged(segments, width: width)
        return (merged.mean, merged.centredSquares)
    }

    /// Nothing: the gradients are added up after the step.
    public func backwardPassFinished(layer index: Int, named layerName: String, gradients: inout [LayerGradients]) throws {}
}

/// The reducer of a step whose segments are the whole batch: adds them in segment order.
struct LocalBatchStatistics: BatchStatisticsReducer {
    var globalExampleCount: Int
    /// Where each segment starts in the batch (the segments laid end to end).
    var segmentStarts: [Int] = []

    func firstGlobalExample(ofSegment segment: Int) -> Int? {
        segmentStarts.indices.contains(segment) ? segmentStarts[segment] : nil
    }

    func sum(segmentSums: [[Float]], width: Int) throws -> [Float] {
        guard var total = segmentSums.first else { return [Float](repeating: 0, count: width) }
        for partial in segmentSums.dropFirst() {
            for column in 0..<width { total[column] += partial[column] }
        }
        return total
    }
}
