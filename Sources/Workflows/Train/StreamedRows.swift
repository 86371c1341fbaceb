import Foundation
import Datasets
import HDF5
import Tensors
import Training

/// Reads training rows from HDF5 files batch by batch and checks each batch's values as it
/// goes: the streaming half of ``TrainingData``.
///
/// Features are read as float32 (float64 files converted per batch, a value that overflows
/// float32 refused), targets of any numeric type as float64. A non-finite value, or (with
/// `classes`) a label that is not a class index, is a
/// ``WorkflowError/invalidData(file:path:row:column:message:)`` naming the file, the dataset,
/// the row inside that file and the column.
struct StreamedRows: Sendable {
    /// The features' files, for locating rows in errors.
    let features: FeatureSource
    /// Reads the targets of the given rows as float64, `[rows.count] + targetRowShape`.
    let readTargets: @Sendable ([Int]) throws -> [Double]
    let targetRowShape: [Int]
    let yPath: String
    /// The class count when targets are sparse class indices.
    var classes: Int?

    /// The features, as stored.
    enum FeatureSource: Sendable {
        case float32(HDF5RowSource<Float>)
        case float64(HDF5RowSource<Double>)

        /// For compressed features, the block shuffle's indices of the first `rows` rows in
        /// windows of as many chunk-sized blocks as the cache holds (up to 16); nil otherwise.
        func blockShuffledIndices(rows: Int, seed: UInt64) -> BlockShuffledIndices? {
            func indices<S>(_ source: HDF5RowSource<S>) -> BlockShuffledIndices? {
                guard source.isCompressed else { return nil }
                return source.blockShuffledIndices(windowBlocks: source.defaultWindowBlocks, seed: seed, rows: rows)
            }
            switch self {
            case let .float32(s): return indices(s)
            case let .float64(s): return indices(s)
            }
        }

        /// The file and the row inside it of global row `row`.
        func location(ofRow row: Int) -> (file: URL, row: Int) {
            switch self {
            case let .float32(s): s.location(ofRow: row)
            case let .float64(s): s.location(ofRow: row)
            }
        }
    }

    /// The rows at `indices` as a float32 training batch, values checked.
    func batch(_ indices: [Int]) throws -> Trainer.Batch {
        let x: Tensor<Float>
        switch features {
        case let .float32(source):
            x = try source.rows(at: indices)
            try check(x.scalars, shape: x.shape, indices: indices, path: source.path, what: "feature")
        case let .float64(source):
            let stored = try source.rows(at: indices)
            try check(stored.scalars, shape: stored.shape, indices: indices, path: source.path, what: "feature")
            x = Tensor<Float>(converting: stored)
        }
        let targets = try readTargets(indices)
        let shape = [indices.count] + targetRowShape
        try check(targets, shape: shape.count == 1 ? shape + [1] : shape, indices: indices, path: yPath, what: "target")
        if let classes {
            do { try DataChecks.requireClassIndices(targets, classes: classes, file: "", path: yPath) } catch {
                throw relocated(error, indices: indices)
            }
        }
        return (x, try Tensor(shape: shape, scalars: targets.map { Float($0) }))
    }

    private func check<S: BinaryFloatingPoint>(_ values: [S], shape: [Int], indices: [Int], path: String, what: String) throws {
        do { try DataChecks.requireFinite(values, shape: shape, file: "", path: path, what: what) } catch {
            throw relocated(error, indices: indices)
        }
    }

    /// A check's error on batch row `k` restated for the file and row `indices[k]` comes from.
    private func relocated(_ error: any Error, indices: [Int]) -> any Error {
        guard case let .invalidData(_, path, row?, column, message) = error as? WorkflowError else { return error }
        let (file, fileRow) = features.location(ofRow: indices[row])
        return WorkflowError.invalidData(file: file.path, path: path, row: fileRow, column: column, message: message)
    }
}

/// Batches of training rows: each batch of row indices from `order` read and checked by `rows`.
/// The state is `order`'s, so a checkpoint resumes at the same batch.
struct StreamedBatches: Dataset {
    typealias Element = Trainer.Batch
    let order: AnyDataset<[Int]>
    let rows: StreamedRows

    var cardinality: Cardinality { order.cardinality }

    func makeIterator(epoch: UInt64) -> Iterator { Iterator(order: order.makeIterator(epoch: epoch), rows: rows) }

    func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        guard state.kind == "streamed_batches", state.children.count == 1 else {
            throw DatasetError.incompatibleState(expected: "streamed_batches", found: state.kind)
        }
        return Iterator(order: try order.makeIterator(resumingFrom: state.children[0]), rows: rows)
    }

    struct Iterator: DatasetIterator {
        var order: AnyDatasetIterator<[Int]>
        let rows: StreamedRows

        mutating func next() throws -> Trainer.Batch? {
            guard let indices = try order.next() else { return nil }
            return try rows.batch(indices)
        }

        var state: IteratorState { IteratorState(kind: "streamed_batches", children: [order.state]) }
    }
}
