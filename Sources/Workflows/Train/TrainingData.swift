import Foundation
import Datasets
import HDF5
import Tensors
import Training

/// Features and targets in HDF5 files, streamed: the input pipeline reads each batch's rows
/// from the files (nothing is loaded whole), with Keras's `validation_split` (the LAST
/// fraction of the rows, taken before shuffling).
///
/// Several files with the same layout (the same `x` and `y` paths, row shapes, element types
/// and chunking) are read as one: their rows follow one another in the order given. Shapes are
/// checked when the data is opened and by ``validate(for:loss:)``; the values (NaN, infinity,
/// sparse labels outside the model's classes) are checked batch by batch while the pipelines
/// read them, so the first epoch checks every row without a separate pass, and a bad value is
/// a ``WorkflowError/invalidData(file:path:row:column:message:)`` naming the file, dataset,
/// row (inside that file) and column.
///
/// ```swift
/// let data = try TrainingData(files: [url, dataURL], x: "/x", y: "/y", sparseTargets: false)
/// let (train, validation) = try data.pipelines(batchSize: 32, order: .shuffled, seed: 0, validationSplit: 0.2)
/// ```
public struct TrainingData: Sendable {
    /// How the training rows are ordered each epoch.
    public enum Order: Sendable, Equatable {
        /// The rows in file order.
        case sequential
        /// tf.data's buffered shuffle over row indices, with a buffer of this many rows.
        case buffered(Int)
        /// A shuffle of all training rows whose state is a few integers: for compressed,
        /// chunked features the chunk-aware block shuffle (chunk-sized blocks in a global
        /// order, rows shuffled within windows of up to 16 blocks that the chunk cache holds;
        /// each chunk is decompressed once per epoch), otherwise `globalShuffle(seed:)`, a
        /// seeded permutation of all rows.
        case shuffled
    }

    /// The files, in the order their rows are numbered.
    public let files: [URL]
    /// The first file, for messages about the data as a whole.
    public var file: URL { files[0] }
    /// The features dataset's path inside every file, named in errors about feature rows.
    public let xPath: String
    /// The targets dataset's path inside every file, named in errors about labels.
    public let yPath: String
    /// The features' shape across all files, `[rows, features]` or `[rows, height, width, channels]`.
    public let featureShape: [Int]
    /// The targets' shape across all files; one-dimensional targets are `[rows, 1]` unless
    /// they are sparse class indices.
    public let targetShape: [Int]
    /// Whether the features are chunked and compressed (so ``Order/shuffled`` is the block shuffle).
    public let isCompressed: Bool
    /// The bytes of decompressed feature chunks kept while reading.
    public let cacheBytes: Int
    var rowsReader: StreamedRows
    /// The number of rows.
    public var rows: Int { featureShape[0] }

    /// The data of one file (see ``init(files:x:y:sparseTargets:cacheBytes:)``).
    public init(file url: URL, x: String, y: String, sparseTargets: Bool, cacheBytes: Int = 64 << 20) throws {
        try self.init(files: [url], x: x, y: y, sparseTargets: sparseTargets, cacheBytes: cacheBytes)
    }

    /// Opens `x` and `y` in every file to check they can be read and agree (no values are read).
    /// - Throws: ``WorkflowError/unreadableData(file:message:)`` for a file that does not open
    ///   or lacks a dataset; ``WorkflowError/invalidData(file:path:row:column:message:)`` naming
    ///   the file and path for features that are not float32/float64 of rank 2 or more, targets
    ///   that are not numeric, a file whose datasets differ in rows or layout from the first's.
    public init(files urls: [URL], x: String, y: String, sparseTargets: Bool, cacheBytes: Int = 64 << 20) throws {
        guard let first = urls.first else {
            throw WorkflowError.unreadableData(file: "", message: "no data files given")
        }
        files = urls
        xPath = x
        yPath = y
        self.cacheBytes = cacheBytes
        let (xType, yType) = try Self.elementTypes(first, x: x, y: y)
        let features: StreamedRows.FeatureSource
        let targets: TargetReader
        do {
            switch xType {
            case .float32: features = .float32(try HDF5RowSource(files: urls, path: x, as: Float.self, cacheBytes: cacheBytes))
            case .float64: features = .float64(try HDF5RowSource(files: urls, path: x, as: Double.self, cacheBytes: cacheBytes))
            default:
                throw WorkflowError.invalidData(file: first.path, path: x, row: nil, column: nil,
                                                message: "features must be float32 or float64, found \(xType)")
            }
            targets = try Self.targetReader(yType, files: urls, path: y)
            let xRows: [Int]
            switch features {
            case let .float32(s): xRows = s.rowsPerFile
            case let .float64(s): xRows = s.rowsPerFile
            }
            if urls.count > 1, let file = xRows.indices.first(where: { xRows[$0] != targets.rowsPerFile[$0] }) {
                throw WorkflowError.invalidData(file: urls[file].path, path: y, row: nil, column: nil,
                                                message: "\(targets.rowsPerFile[file]) rows, but \(x) has \(xRows[file])")
            }
        } catch let error as DatasetError {
            throw Self.workflowError(error)
        }
        let xShape: [Int]
        switch features {
        case let .float32(s): (xShape, isCompressed) = ([s.count] + s.rowShape, s.isCompressed)
        case let .float64(s): (xShape, isCompressed) = ([s.count] + s.rowShape, s.isCompressed)
        }
        featureShape = xShape
        var yShape = [targets.rows] + targets.rowShape
        if yShape.count == 1, !sparseTargets { yShape = [targets.rows, 1] }
        targetShape = yShape
        guard xShape.count >= 2 else {
            throw WorkflowError.invalidData(file: first.path, path: x, row: nil, column: nil,
                                            message: "features must be [rows, features] or [rows, height, width, channels], found \(xShape)")
        }
        guard yShape[0] == xShape[0] else {
            throw WorkflowError.invalidData(file: first.path, path: y, row: nil, column: nil,
                                            message: "\(yShape[0]) rows, but \(x) has \(xShape[0])")
        }
        rowsReader = StreamedRows(features: features, readTargets: targets.read, targetRowShape: Array(targetShape.dropFirst()),
                                  yPath: y, classes: nil)
    }

    /// Shape checks against the model and loss (policies in docs/reliability/data-and-configs.md):
    /// no rows; features not `[rows] + model.inputShape`; targets not shaped for `loss`. The
    /// values — NaN or infinity (after conversion to float32) in features or targets, a sparse
    /// label that is not an integer in `0..<model.outputFeatures` — are checked while the
    /// pipelines read them. Errors are ``WorkflowError/invalidData(file:path:row:column:message:)``.
    public mutating func validate(for model: Sequential, loss: Loss) throws {
        let name = file.path
        try DataChecks.requireRows(featureShape, file: name, path: xPath)
        try DataChecks.requireFeatures(featureShape, exampleShape: model.inputShape, file: name, path: xPath)
        try DataChecks.requireTargets(targetShape, rows: rows, outputs: model.outputFeatures, loss: loss,
                                      file: name, path: yPath)
        rowsReader.classes = loss.kind == .sparseCategoricalCrossentropy ? model.outputFeatures : nil
    }

    /// Keras 3's `validation_split`: the first `floor(rows × (1 − split))` rows train, the rest
    /// validate, and a split leaving either side empty is an error.
    public func splitPoint(validationSplit: Double) throws -> Int {
        try Self.checkValidationSplit(validationSplit)
        guard validationSplit > 0 else { return rows }
        let trainRows = Int((Double(rows) * (1 - validationSplit)).rounded(.down))
        guard trainRows > 0, trainRows < rows else {
            throw WorkflowError.invalidData(
                file: file.path, path: xPath, row: nil, column: nil,
                message: "validation split \(validationSplit) of \(rows) rows leaves \(trainRows) training and "
                    + "\(rows - trainRows) validation rows; both need at least one")
        }
        return trainRows
    }

    /// Refuses a validation split outside `[0, 1)` (``WorkflowError/invalidSetting(file:setting:problem:)``),
    /// before any file is opened.
    static func checkValidationSplit(_ validationSplit: Double) throws {
        guard (0..<1).contains(validationSplit) else {
            throw WorkflowError.invalidSetting(file: nil, setting: .validationSplit,
                                               problem: "validation split must be in [0, 1), got \(validationSplit)")
        }
    }

    /// The stored element types of `x` and `y` in `file`.
    private static func elementTypes(_ url: URL, x: String, y: String) throws -> (HDF5ElementType, HDF5ElementType) {
        let file: HDF5File
        do { file = try HDF5File.open(at: url, mode: .readOnly, locking: .bestEffort) } catch {
            throw WorkflowError.unreadableData(file: url.path, message: "cannot open the data: \(error.localizedDescription)")
        }
        defer { try? file.close() }
        do {
            return (try file.dataset(at: x, chunkCache: .bytes(0)).elementType, try file.dataset(at: y, chunkCache: .bytes(0)).elementType)
        } catch {
            throw WorkflowError.unreadableData(file: url.path, message: error.localizedDescription)
        }
    }

    /// A reader of targets of any numeric stored type as float64, with the row shape and count.
    private typealias TargetReader = (read: @Sendable ([Int]) throws -> [Double], rowShape: [Int], rows: Int, rowsPerFile: [Int])

    private static func targetReader(_ type: HDF5ElementType, files: [URL], path: String) throws -> TargetReader {
        func reader<T: HDF5Scalar & TensorScalar>(_: T.Type, _ convert: @escaping @Sendable (T) -> Double) throws -> TargetReader {
            // Targets are narrow; a small cache holds their blocks.
            let source = try HDF5RowSource(files: files, path: path, as: T.self, cacheBytes: 4 << 20)
            return ({ try source.rows(at: $0).scalars.map(convert) }, source.rowShape, source.count, source.rowsPerFile)
        }
        switch type {
        case .float32: return try reader(Float.self) { Double($0) }
        case .float64: return try reader(Double.self) { $0 }
        // Narrower integers are widened by libhdf5 on the way (exactly).
        case .int8, .int16, .int32, .uint16: return try reader(Int32.self) { Double($0) }
        case .int64, .uint32: return try reader(Int64.self) { Double($0) }
        case .uint8: return try reader(UInt8.self) { Double($0) }
        case .bool: return try reader(Bool.self) { $0 ? 1 : 0 }
        case .uint64:
            throw WorkflowError.invalidData(file: files[0].path, path: path, row: nil, column: nil,
                                            message: "targets stored as uint64 cannot be streamed; store them as int64 or float64")
        case let other:
            throw WorkflowError.invalidData(file: files[0].path, path: path, row: nil, column: nil,
                                            message: "targets must be numeric, found \(other)")
        }
    }

    /// A source's construction error as the workflow reports it, naming file and path.
    private static func workflowError(_ error: DatasetError) -> WorkflowError {
        switch error {
        case let .mismatchedLayout(file, path, expected, found):
            return .invalidData(file: file, path: path, row: nil, column: nil, message: "\(found), expected \(expected)")
        case let .openFailed(file, _, _):
            return .unreadableData(file: file, message: error.localizedDescription)
        default:
            return .unreadableData(file: "", message: error.localizedDescription)
        }
    }

    /// The training pipeline and, with a positive `validationSplit`, the validation one; both
    /// read their rows from the files batch by batch and check them as they go.
    /// - Parameters:
    ///   - batchSize: rows per batch; the last batch of a pass may be smaller.
    ///   - order: how the training rows are ordered each epoch (validation rows stay in order).
    ///   - seed: seeds the shuffle, so two runs with the same seed see the same batches.
    ///   - validationSplit: the fraction of rows, taken from the end as Keras does, held out
    ///     for validation; `0` means no validation pipeline.
    ///   - prefetch: batches prepared ahead of the trainer.
    public func pipelines(batchSize: Int, order: Order, seed: UInt64, validationSplit: Double,
                          prefetch: Int = 2) throws -> (train: AnyDataset<Trainer.Batch>, validation: AnyDataset<Trainer.Batch>?) {
        guard batchSize > 0 else {
            throw WorkflowError.invalidSetting(file: nil, setting: .batchSize, problem: "batch size must be positive, got \(batchSize)")
        }
        guard rows > 0 else {
            throw WorkflowError.invalidData(file: file.path, path: xPath, row: nil, column: nil,
                                            message: "the dataset is empty (shape \(featureShape)); there is nothing to train on")
        }
        let trainRows = try splitPoint(validationSplit: validationSplit)
        let indices: AnyDataset<[Int]>
        switch order {
        case .sequential: indices = RangeDataset(0..<trainRows).batch(batchSize).eraseToAnyDataset()
        case let .buffered(size):
            indices = RangeDataset(0..<trainRows).shuffle(bufferSize: size, seed: seed).batch(batchSize).eraseToAnyDataset()
        case .shuffled:
            if let blocks = blockShuffledIndices(trainRows: trainRows, seed: seed) {
                indices = blocks.batch(batchSize).eraseToAnyDataset()
            } else {
                indices = RangeDataset(0..<trainRows).globalShuffle(seed: seed).batch(batchSize).eraseToAnyDataset()
            }
        }
        let train = StreamedBatches(order: indices, rows: rowsReader).prefetch(prefetch).eraseToAnyDataset()
        guard trainRows < rows else { return (train, nil) }
        let validation = StreamedBatches(order: RangeDataset(trainRows..<rows).batch(batchSize).eraseToAnyDataset(),
                                         rows: rowsReader).eraseToAnyDataset()
        return (train, validation)
    }

    /// For compressed features, the block shuffle's indices in windows of up to 16 chunk-sized
    /// blocks (as many as the cache holds); nil for others, which a global shuffle reads as well.
    private func blockShuffledIndices(trainRows: Int, seed: UInt64) -> BlockShuffledIndices? {
        rowsReader.features.blockShuffledIndices(rows: trainRows, seed: seed)
    }
}
