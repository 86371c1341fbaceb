import Datasets
import Tensors
import Training

/// Validation data in ``DataParallelTrainer/fit(_:epochs:metrics:validationData:validationSteps:callbacks:progress:resumingFrom:afterStep:)``,
/// as Keras's `fit(validation_data=...)` under a distribution strategy and `Trainer.fit`'s
/// `validationData` (Training): after every epoch each rank scores its rows of the validation
/// data in inference mode (BatchNormalization with its moving statistics, Dropout off) through
/// ``DataParallelTrainer/evaluate(_:metrics:epoch:)``, and the epoch's logs get `val_loss` and
/// `val_` + each metric's name, exact global values on every rank.
extension DataParallelTrainer {
    /// Validation rows: unsharded, unbatched `(features, targets)` rows, as the training data.
    public typealias ValidationRows = any RandomAccessDataset<(Tensor<Float>, Tensor<Float>)>

    /// The operation the validation data's check before training names in its
    /// ``DistributedError``s (another rank failed it, or the ranks hold different row counts).
    public static let validationCheck = "validation data check"

    /// Checks `data` before the first step, so that a validation set the model cannot score
    /// fails at once on every rank rather than after an epoch of training, or on some ranks
    /// only (which would leave the others waiting in the next collective).
    ///
    /// Locally, without a collective: `data` must be random-access single rows
    /// (``DataParallelError/unsupportedData(reason:)``), and the model must score a batch shaped
    /// like the first one `Trainer.fit` would validate with this global batch size: the first
    /// row repeated `min(globalBatchSize, rows)` times, so that a feature or target shape the
    /// model does not take throws exactly the error a single process throws at its first
    /// validation batch. Every rank reads that one row (and none of the others). Then one small
    /// all-gather of every rank's outcome and row count, so that every rank throws: its own
    /// error where its check failed (the same one on every rank for the same data),
    /// ``DistributedError/otherRankInputRejected(operation:rank:)`` naming the first rank that
    /// failed where this one did not, ``DistributedError/rankDisagreement(operation:rank:quantity:local:minimum:maximum:)``
    /// when the ranks were given different numbers of rows, and `TrainingError.emptyDataset`
    /// (argument `validationData`) when there are none: an empty validation set would have
    /// nothing to report, and a single process throws at its end of the first epoch for it.
    mutating func checkValidationData(_ data: ValidationRows?, epoch: Int) throws {
        guard let data else { return }
        var localFailure: (any Error)?
        do {
            try Self.checkRows(data)
            if data.count > 0 {
                let (x, y) = try data.element(at: 0, epoch: UInt64(epoch))
                let rows = min(globalBatchSize, data.count)
                _ = try model.loss(x: Tensor.stacking(Array(repeating: x, count: rows)),
                                   y: Tensor.stacking(Array(repeating: y, count: rows)), loss: loss, mode: .inference)
            }
        } catch {
            localFailure = error
        }
        let count = localFailure == nil ? data.count : 0
        let outcomes = try communicator.allGather([localFailure == nil ? 0 : 1, Double(count)])
        if let localFailure { throw localFailure }
        if let failed = outcomes.firstIndex(where: { $0.first != 0 }) {
            throw DistributedError.otherRankInputRejected(operation: Self.validationCheck, rank: failed)
        }
        let counts = outcomes.map { Int($0[1]) }
        if let minimum = counts.min(), let maximum = counts.max(), minimum != maximum {
            throw DistributedError.rankDisagreement(operation: Self.validationCheck, rank: communicator.rank,
                                                    quantity: "rows in the validation data", local: count,
                                                    minimum: minimum, maximum: maximum)
        }
        if count == 0 { throw TrainingError.emptyDataset(argument: "validationData") }
    }

    /// The end-of-epoch validation logs: `val_loss` and `val_` + each metric's name over every
    /// row of pass `epoch` of `data`, or its first `steps` global batches (none without `data`). Every rank enters the same
    /// collectives (one reduction per global batch of validation rows, with `1 + metrics.count`
    /// values per micro-shard), so uneven shards and ranks without rows do not hang; in
    /// ``ReductionMode/ordered`` the values are bitwise the same for any number of ranks.
    /// A rank that cannot read or score its rows throws
    /// ``DataParallelError/rankFailed(rank:epoch:step:message:)`` saying it was validating
    /// (`step` counts the validation batches), and the others throw
    /// ``DataParallelError/otherRankFailed(rank:epoch:step:underlying:)``.
    mutating func validationLogs(_ data: ValidationRows?, steps: Int? = nil, metrics: [any Metric],
                                 epoch: Int) throws -> [String: Double] {
        guard let data else { return [:] }
        let values: [String: Double]
        do {
            values = try evaluate(data, metrics: metrics, epoch: epoch, steps: steps)
        } catch let DataParallelError.rankFailed(rank, epoch, step, message) {
            throw DataParallelError.rankFailed(
                rank: rank, epoch: epoch, step: step,
                message: "validating (batch \(step + 1) of \(min(stepsPerEpoch(rowCount: data.count), steps ?? .max)) of the validation rows): \(message)")
        }
        return Dictionary(uniqueKeysWithValues: values.map { ("val_" + $0.key, $0.value) })
    }
}
