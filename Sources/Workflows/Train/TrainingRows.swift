import Foundation
import Datasets
import HDF5
import Tensors
import Training

/// The rows of ``TrainingData`` (all of them, or those on one side of a validation split) as
/// a random-access dataset of single `(features, targets)` rows, for trainers that cut batches
/// themselves (the data-parallel trainer reads each rank's rows of a global batch with one
/// ``stackedElements(at:epoch:)``). Index `i` is row ``firstRow`` + `i` of the files.
///
/// Every read checks its values as ``TrainingData``'s pipelines do: a NaN, an infinity or a
/// sparse label outside the classes is a ``WorkflowError/invalidData(file:path:row:column:message:)``
/// naming the file, dataset, row and column. `globalShuffle(seed:)` over it gives the order of
/// ``TrainingData/Order/shuffled``: a per-row permutation, or the chunk-aware block shuffle
/// for compressed features.
///
/// ```swift
/// var data = try TrainingData(files: [url], x: "/x", y: "/y", sparseTargets: false)
/// try data.validate(for: model, loss: Loss(.meanSquaredError))
/// let epochOrder = data.trainingRows().globalShuffle(seed: 7)
/// let (x, y) = try epochOrder.element(at: 0, epoch: 0)   // x: [features], y: [1]
/// ```
public struct TrainingRows: RandomAccessDataset {
    /// Features `[features]` and targets (`[]` for sparse class indices, else their row shape).
    public typealias Element = (Tensor<Float>, Tensor<Float>)
    /// Reads rows by index through ``element(at:)``.
    public typealias Iterator = RandomAccessIterator<Self>

    let reader: StreamedRows
    /// The row of the files that index 0 reads (0 but for the validation rows of a split).
    public let firstRow: Int
    /// The number of rows.
    public let count: Int

    /// Row ``firstRow`` + `index` of the files, checked.
    public func element(at index: Int) throws -> Element {
        try requireIndex(index)
        let (x, y) = try reader.batch([firstRow + index])
        return (try x.reshaped(to: Array(x.shape.dropFirst())), try y.reshaped(to: Array(y.shape.dropFirst())))
    }

    /// The rows at `indices`, read in one gather and checked: features `[indices.count, features]`.
    public func stackedElements(at indices: [Int], epoch: UInt64) throws -> Element? {
        for index in indices { try requireIndex(index) }
        return try reader.batch(firstRow == 0 ? indices : indices.map { firstRow + $0 })
    }

    /// `hdf5_training_rows` with its row count (and its first row, when not 0).
    public var accessStages: [RandomAccessStage] {
        [RandomAccessStage(kind: "hdf5_training_rows", parameters: firstRow == 0 ? ["count": "\(count)"]
            : ["count": "\(count)", "first": "\(firstRow)"])]
    }

    /// The chunk-aware block shuffle for compressed features (one decompression per chunk and
    /// epoch), as ``TrainingData/Order/shuffled`` reads them; nil (a per-row permutation)
    /// otherwise, and for rows that do not start at the files' first (validation rows are not shuffled).
    public func preferredShuffleOrder(seed: UInt64) -> BlockShuffledIndices? {
        firstRow == 0 ? reader.features.blockShuffledIndices(rows: count, seed: seed) : nil
    }

    private func requireIndex(_ index: Int) throws {
        guard (0..<count).contains(index) else {
            throw DatasetError.indexOutOfRange(source: "training rows", index: index, count: count)
        }
    }
}

extension TrainingData {
    /// All rows as a ``TrainingRows`` dataset (call ``validate(for:loss:)`` first, so that
    /// sparse labels are checked against the model's classes).
    public func trainingRows() -> TrainingRows {
        TrainingRows(reader: rowsReader, firstRow: 0, count: rows)
    }

    /// The rows split as ``pipelines(batchSize:order:seed:validationSplit:prefetch:)`` splits
    /// them (Keras's `validation_split`, ``splitPoint(validationSplit:)``): the first rows
    /// train, the last `validationSplit` of them validate (nil for a split of 0). Call
    /// ``validate(for:loss:)`` first.
    /// - Throws: ``WorkflowError/invalidSetting(file:setting:problem:)`` for a split outside
    ///   `[0, 1)`, ``WorkflowError/invalidData(file:path:row:column:message:)`` for one that
    ///   leaves either side empty.
    public func trainingRows(validationSplit: Double) throws -> (train: TrainingRows, validation: TrainingRows?) {
        let split = try splitPoint(validationSplit: validationSplit)
        let train = TrainingRows(reader: rowsReader, firstRow: 0, count: split)
        return (train, split < rows ? TrainingRows(reader: rowsReader, firstRow: split, count: rows - split) : nil)
    }
}
