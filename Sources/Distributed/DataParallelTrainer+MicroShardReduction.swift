import Foundation
import Datasets
import Tensors
import Training

/// How a data-parallel step turns each rank's rows into sums every rank agrees on: reading this
/// rank's rows of a global batch, cutting them into micro-shards, and entering the reducer's
/// collectives even when this rank failed, so that no rank is left waiting.
extension DataParallelTrainer {
    /// The quantity a step's agreement check names when the ranks' models or trainer settings
    /// differ (its value is a hash of them, so a report names the ranks that share one rather than the values).
    public static let settingsQuantity = "model and trainer settings"

    /// The sums over global batch `step` of pass `epoch` of `width` values per micro-shard:
    /// `microShard(x, y)` gives one micro-shard's sums from its rows, a micro-shard without rows
    /// contributes zeros, and the reducer adds them over all ranks. This rank reads only its own
    /// rows. If reading them or `microShard` throws, this rank still enters the collective with a
    /// malformed contribution, so every rank throws (``DataParallelError``) instead of waiting.
    mutating func reduceMicroShards<Data: RandomAccessDataset, Scalar: CommunicatorScalar>(
        _ data: Data, epoch: Int, step: Int, width: Int,
        microShard: (_ x: Tensor<Float>, _ y: Tensor<Float>) throws -> [Scalar]
    ) throws -> (sums: [Scalar], rowCount: Int) where Data.Element == (Tensor<Float>, Tensor<Float>) {
        try reduceRankMicroShards(data, epoch: epoch, step: step, width: width, entersCollectivesAfterReadFailure: false,
                                  segmentPerRank: false) { _, segments in
            try segments.map { segment in try segment.map { try microShard($0.x, $0.y) } ?? [Scalar](repeating: 0, count: width) }
        }
    }

    /// Like ``reduceMicroShards(_:epoch:step:width:microShard:)``, but `contribution(reducer,
    /// segments)` computes all this rank's micro-shards' sums at once from its micro-shards'
    /// rows (nil for a micro-shard without rows), and may itself enter collectives of `reducer`
    /// (whose errors it throws as ``CollectiveFailure``: every rank then throws at once).
    /// With `entersCollectivesAfterReadFailure`, a rank that cannot read its rows still calls
    /// `contribution` with no rows, so that it enters those collectives too. With
    /// `segmentPerRank` (``ReductionMode/fast`` only, whose reducer adds a rank's partial sums
    /// locally in any grouping), `segments` is one segment holding all this rank's rows
    /// instead of one per micro-shard. With `overlapped` (fast mode, one segment per rank),
    /// `contribution`'s backward pass has started the gradients' reductions, and
    /// ``OverlappedGradientReduction/finish(failed:)`` completes them instead of the reducer's
    /// sum: the sums returned are then empty, and the gradients are the reduction's result.
    /// `extraQuantities` join the step's one agreement check (e.g. the training metrics).
    /// `forGradients` (a training step's gradients) lets the reducer open its shared-memory window.
    mutating func reduceRankMicroShards<Data: RandomAccessDataset, Scalar: CommunicatorScalar>(
        _ data: Data, epoch: Int, step: Int, width: Int, forGradients: Bool = false,
        entersCollectivesAfterReadFailure: Bool, segmentPerRank: Bool,
        overlapped: OverlappedGradientReduction? = nil, agreeing extraQuantities: [(name: String, value: Int)] = [],
        contribution: (_ reducer: GlobalBatchReducer, _ segments: [(x: Tensor<Float>, y: Tensor<Float>)?]) throws -> [[Scalar]]
    ) throws -> (sums: [Scalar], rowCount: Int) where Data.Element == (Tensor<Float>, Tensor<Float>) {
        try Self.checkRows(data)
        // One small collective per step instead of a length check before each of its
        // collectives: ranks that agree on these run collectives of the same lengths.
        try communicator.agree(on: [("epoch", epoch), ("step", step), ("rows in the dataset", data.count),
                                    ("values reduced per row", width), (Self.settingsQuantity, settingsFingerprint)] + extraQuantities,
                               operation: "data-parallel step")
        // Fast mode's shared-memory window opens on the first step, at the same point on every rank.
        try overlapped?.prepareTransport()
        let firstRow = step * globalBatchSize
        guard epoch >= 0 else { throw DataParallelError.invalidArgument(argument: "epoch", reason: "must be >= 0, got \(epoch)") }
        guard step >= 0, firstRow < data.count else {
            throw DataParallelError.invalidArgument(argument: "step", reason: "\(step) is not in 0..<\(stepsPerEpoch(rowCount: data.count))")
        }
        let rowCount = min(globalBatchSize, data.count - firstRow)
        let reducer = try reducer(rowCount: rowCount, forGradients: forGradients)
        let plan = reducer.plan, rank = communicator.rank
        precondition(!segmentPerRank || mode == .fast, "one segment per rank needs the fast reduction")
        let shards = segmentPerRank ? 0..<1 : plan.microShards(ofRank: rank)
        var sums: [[Scalar]]
        var localFailure: DataParallelError?
        func fail(_ error: any Error) {
            let message = (error as? any LocalizedError)?.errorDescription ?? "\(error)"
            if localFailure == nil { localFailure = .rankFailed(rank: rank, epoch: epoch, step: step, message: message) }
        }
        var segments: [(x: Tensor<Float>, y: Tensor<Float>)?] = shards.map { _ in nil }
        do {
            let localRows = plan.rows(ofRank: rank)
            let (x, y) = localRows.isEmpty ? (Tensor<Float>(zeros: [0]), Tensor<Float>(zeros: [0]))
                : try Self.read(data, rows: (firstRow + localRows.lowerBound)..<(firstRow + localRows.upperBound), epoch: UInt64(epoch))
            segments = segmentPerRank ? [localRows.isEmpty ? nil : (x, y)] : try shards.map { shard in
                let rows = plan.rows(ofMicroShard: shard)
                guard !rows.isEmpty else { return nil }
                let local = (rows.lowerBound - localRows.lowerBound)..<(rows.upperBound - localRows.lowerBound)
                return (try x.rows(local), try y.rows(local))
            }
        } catch {
            fail(error)
            segments = shards.map { _ in nil }
        }
        do {
            sums = localFailure == nil || entersCollectivesAfterReadFailure ? try contribution(reducer, segments) : []
        } catch let failed as CollectiveFailure {
            // A collective inside `contribution` failed: every rank learnt it there.
            overlapped?.abandon()
            throw localFailure ?? .otherRankFailed(rank: rank, epoch: epoch, step: step, underlying: failed.error)
        } catch {
            fail(error)
            sums = []
        }
        if let overlapped {
            do {
                try overlapped.finish(failed: localFailure != nil)
            } catch let error as DistributedError {
                throw localFailure ?? .otherRankFailed(rank: rank, epoch: epoch, step: step, underlying: error)
            } catch {
                fail(error)
            }
            if let localFailure { throw localFailure }
            return ([], rowCount)
        }
        // A failed rank sends one vector more than its share: every rank's reduction refuses the step.
        if localFailure != nil { sums = Array(repeating: [], count: shards.count + 1) }
        let total: [Scalar]
        do {
            total = try reducer.sum(rankPartials: sums, width: width)
        } catch let error as DistributedError {
            throw localFailure ?? .otherRankFailed(rank: rank, epoch: epoch, step: step, underlying: error)
        }
        if let localFailure { throw localFailure }
        return (total, rowCount)
    }

    /// Rows `rows` of pass `epoch`, stacked: in one read where the dataset can gather them.
    static func read<Data: RandomAccessDataset>(
        _ data: Data, rows: Range<Int>, epoch: UInt64
    ) throws -> (Tensor<Float>, Tensor<Float>) where Data.Element == (Tensor<Float>, Tensor<Float>) {
        if let stacked = try data.stackedElements(at: Array(rows), epoch: epoch) { return stacked }
        let elements = try rows.map { try data.element(at: $0, epoch: epoch) }
        return (try Tensor.stacking(elements.map(\.0)), try Tensor.stacking(elements.map(\.1)))
    }

    /// Refuses data that is not the global order of single rows.
    static func checkRows<Data: RandomAccessDataset>(_ data: Data) throws {
        if let stage = data.accessStages.first(where: { $0.isShard || $0.kind == "batch" }) {
            throw DataParallelError.unsupportedData(
                reason: "the pipeline has a '\(stage.kind)' stage; the trainer cuts the global batch into ranks' rows itself")
        }
        guard data.count != .max else { throw DataParallelError.unsupportedData(reason: "the dataset repeats forever") }
        try data.validate()
    }
}

/// An error of a collective that a step's computation entered, which every rank sees at the
/// same collective (as opposed to an error of this rank's own computation).
struct CollectiveFailure: Error {
    var error: DistributedError
}
