import Foundation
import Datasets
import HDF5
import Tensors
import Training

/// Features and targets read from an HDF5 file, and the input pipeline built from them:
/// Slices → shuffle → batch → map to Float → prefetch, with Keras's `validation_split`
/// (the LAST fraction of the rows, taken before shuffling).
///
/// ```swift
/// let data = try TrainingData(file: url, x: "/x", y: "/y", sparseTargets: false)
/// let (train, validation) = try data.pipelines(batchSize: 32, shuffleBuffer: 1024, seed: 0, validationSplit: 0.2)
/// ```
public struct TrainingData: Sendable {
    /// Features as stored (float32 or float64), `[rows, features]`.
    public enum Features: Sendable {
        /// Features stored as float32, used as they are.
        case float32(Tensor<Float>)
        /// Features stored as float64, converted to float32 per batch.
        case float64(Tensor<Double>)

        var shape: [Int] {
            switch self {
            case let .float32(t): t.shape
            case let .float64(t): t.shape
            }
        }
    }

    /// The features as stored.
    public let features: Features
    /// Where the data came from, for error messages.
    public let file: URL
    /// The features dataset's path inside `file`, named in errors about feature rows.
    public let xPath: String
    /// The targets dataset's path inside `file`, named in errors about labels.
    public let yPath: String
    /// Targets of any numeric stored type, held as float64 (exact for every float32 and int32).
    public let targets: Tensor<Double>
    /// The number of rows.
    public var rows: Int { features.shape[0] }

    /// Reads `x` and `y` from `url`. One-dimensional `y` becomes `[rows, 1]` unless the targets
    /// are sparse class indices.
    public init(file url: URL, x: String, y: String, sparseTargets: Bool) throws {
        file = url
        xPath = x
        yPath = y
        let file: HDF5File
        do { file = try HDF5File.open(at: url, locking: .bestEffort) } catch {
            throw WorkflowError.unreadableData(file: url.path, message: "cannot open the data: \(error.localizedDescription)")
        }
        defer { try? file.close() }
        do {
            let xType = try file.dataset(at: x).elementType
            switch xType {
            case .float32:
                let a = try file.read(x, as: Float.self)
                features = .float32(try Tensor(shape: a.shape, scalars: a.values))
            case .float64:
                let a = try file.read(x, as: Double.self)
                features = .float64(try Tensor(shape: a.shape, scalars: a.values))
            default:
                throw WorkflowError.invalidData(file: url.path, path: x, row: nil, column: nil,
                                                message: "features must be float32 or float64, found \(xType)")
            }
            var target = try Self.readNumeric(file, y, url: url)
            if target.rank == 1, !sparseTargets { target = try Tensor(shape: [target.shape[0], 1], scalars: target.scalars) }
            targets = target
        } catch let error as WorkflowError {
            throw error
        } catch {
            throw WorkflowError.unreadableData(file: url.path, message: error.localizedDescription)
        }
        guard features.shape.count == 2 else {
            throw WorkflowError.invalidData(file: url.path, path: x, row: nil, column: nil,
                                            message: "features must be [rows, features], found \(features.shape)")
        }
        guard targets.shape.first == rows else {
            throw WorkflowError.invalidData(file: url.path, path: y, row: nil, column: nil,
                                            message: "\(targets.shape.first ?? 0) rows, but \(x) has \(rows)")
        }
    }

    /// Refuses data the model cannot train on (policies in docs/reliability/data-and-configs.md):
    /// no rows; features not `[rows, model.inputFeatures]`; targets not shaped for `loss`;
    /// a sparse label that is not an integer in `0..<model.outputFeatures`; any NaN or
    /// infinity (after conversion to float32) in features or targets. Errors are
    /// ``WorkflowError/invalidData(file:path:row:column:message:)`` naming the row and column.
    public func validate(for model: Sequential, loss: Loss) throws {
        let name = file.path
        try DataChecks.requireRows(features.shape, file: name, path: xPath)
        try DataChecks.requireFeatures(features.shape, width: model.inputFeatures, file: name, path: xPath)
        try DataChecks.requireTargets(targets.shape, rows: rows, outputs: model.outputFeatures, loss: loss,
                                      file: name, path: yPath)
        switch features {
        case let .float32(t): try DataChecks.requireFinite(t.scalars, shape: t.shape, file: name, path: xPath, what: "feature")
        case let .float64(t): try DataChecks.requireFinite(t.scalars, shape: t.shape, file: name, path: xPath, what: "feature")
        }
        try DataChecks.requireFinite(targets.scalars, shape: targets.shape, file: name, path: yPath, what: "target")
        if loss.kind == .sparseCategoricalCrossentropy {
            try DataChecks.requireClassIndices(targets.scalars, classes: model.outputFeatures, file: name, path: yPath)
        }
    }

    /// Keras 3's `validation_split`: the first `floor(rows × (1 − split))` rows train, the rest
    /// validate, and a split leaving either side empty is an error.
    public func splitPoint(validationSplit: Double) throws -> Int {
        guard (0..<1).contains(validationSplit) else {
            throw WorkflowError.invalidSetting(file: nil, setting: .validationSplit,
                                               problem: "validation split must be in [0, 1), got \(validationSplit)")
        }
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

    private static func readNumeric(_ file: HDF5File, _ path: String, url: URL) throws -> Tensor<Double> {
        func read<T: HDF5Scalar & BinaryInteger>(_ type: T.Type) throws -> Tensor<Double> {
            let a = try file.read(path, as: T.self)
            return try Tensor(shape: a.shape, scalars: a.values.map { Double($0) })
        }
        switch try file.dataset(at: path).elementType {
        case .float32:
            let a = try file.read(path, as: Float.self)
            return try Tensor(shape: a.shape, scalars: a.values.map(Double.init))
        case .float64:
            let a = try file.read(path, as: Double.self)
            return try Tensor(shape: a.shape, scalars: a.values)
        case .int8: return try read(Int8.self)
        case .int16: return try read(Int16.self)
        case .int32: return try read(Int32.self)
        case .int64: return try read(Int64.self)
        case .uint8: return try read(UInt8.self)
        case .uint16: return try read(UInt16.self)
        case .uint32: return try read(UInt32.self)
        case .uint64: return try read(UInt64.self)
        case .bool:
            let a = try file.read(path, as: Bool.self)
            return try Tensor(shape: a.shape, scalars: a.values.map { $0 ? 1 : 0 })
        case let other:
            throw WorkflowError.invalidData(file: url.path, path: path, row: nil, column: nil,
                                            message: "targets must be numeric, found \(other)")
        }
    }

    /// The training pipeline and, with a positive `validationSplit`, the validation one.
    /// - Parameters:
    ///   - batchSize: rows per batch; the last batch of a pass may be smaller.
    ///   - shuffleBuffer: `nil` keeps the order.
    ///   - seed: seeds the shuffle, so two runs with the same seed see the same batches.
    ///   - validationSplit: the fraction of rows, taken from the end as Keras does, held out
    ///     for validation; `0` means no validation pipeline.
    ///   - prefetch: batches prepared ahead of the trainer.
    public func pipelines(batchSize: Int, shuffleBuffer: Int?, seed: UInt64, validationSplit: Double,
                          prefetch: Int = 2) throws -> (train: AnyDataset<Trainer.Batch>, validation: AnyDataset<Trainer.Batch>?) {
        guard batchSize > 0 else {
            throw WorkflowError.invalidSetting(file: nil, setting: .batchSize, problem: "batch size must be positive, got \(batchSize)")
        }
        guard rows > 0 else {
            throw WorkflowError.invalidData(file: file.path, path: xPath, row: nil, column: nil,
                                            message: "the dataset is empty (shape \(features.shape)); there is nothing to train on")
        }
        let trainRows = try splitPoint(validationSplit: validationSplit)
        switch features {
        case let .float32(x):
            return try Self.pipelines(x, targets, trainRows: trainRows, batchSize: batchSize, shuffleBuffer: shuffleBuffer,
                                      seed: seed, prefetch: prefetch)
        case let .float64(x):
            return try Self.pipelines(x, targets, trainRows: trainRows, batchSize: batchSize, shuffleBuffer: shuffleBuffer,
                                      seed: seed, prefetch: prefetch)
        }
    }

    private static func pipelines<A: TensorScalar & BinaryFloatingPoint>(
        _ x: Tensor<A>, _ y: Tensor<Double>, trainRows: Int, batchSize: Int, shuffleBuffer: Int?, seed: UInt64, prefetch: Int
    ) throws -> (train: AnyDataset<Trainer.Batch>, validation: AnyDataset<Trainer.Batch>?) {
        let toFloat: @Sendable ((Tensor<A>, Tensor<Double>)) -> Trainer.Batch = {
            (Tensor<Float>(converting: $0.0), Tensor<Float>(converting: $0.1))
        }
        let slices = try Slices(x.rows(0..<trainRows), y.rows(0..<trainRows))
        let train: AnyDataset<Trainer.Batch>
        if let shuffleBuffer {
            train = slices.shuffle(bufferSize: shuffleBuffer, seed: seed).batch(batchSize).map(toFloat)
                .prefetch(prefetch).eraseToAnyDataset()
        } else {
            train = slices.batch(batchSize).map(toFloat).prefetch(prefetch).eraseToAnyDataset()
        }
        guard trainRows < x.rowCount else { return (train, nil) }
        let validation = try Slices(x.rows(trainRows..<x.rowCount), y.rows(trainRows..<x.rowCount))
            .batch(batchSize).map(toFloat).eraseToAnyDataset()
        return (train, validation)
    }
}
