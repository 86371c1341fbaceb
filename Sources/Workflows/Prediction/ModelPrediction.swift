import Checkpoints
import Datasets
import Foundation
import HDF5
import Tensors
import Training

/// Batch prediction from a model file into an HDF5 dataset: what `batchwise predict` does,
/// as a library call.
///
/// ```swift
/// try ModelPrediction.run(model: URL(fileURLWithPath: "m.keras"),
///                         input: try DatasetLocation(parsing: "data.h5:/x"),
///                         output: try DatasetLocation(parsing: "out.h5:/y"),
///                         mode: .batchStatistics, batchSize: 32)
/// ```
public enum ModelPrediction {
    /// Which statistics BatchNormalization layers use while predicting.
    public enum Mode: String, Sendable, CaseIterable {
        /// Moving statistics (Keras `model.predict`, `training=False`).
        case inference
        /// Each batch normalizes with its own mean and variance; Dropout stays off.
        case batchStatistics = "batch-statistics"
    }

    /// Predicts `x` in batches of `batchSize` (the batch matters in `.batchStatistics` mode:
    /// each batch uses its own statistics, as Keras does with `training=True`).
    public static func predict(_ model: Sequential, _ x: Tensor<Float>, mode: Mode, batchSize: Int) throws -> Tensor<Float> {
        guard batchSize > 0 else {
            throw WorkflowError.invalidSetting(file: nil, setting: .batchSize, problem: "batch size must be positive, got \(batchSize)")
        }
        let runner = mode == .batchStatistics ? model.withBatchNormStatistics(.batch) : model
        guard x.rowCount > 0 else { return try runner(x, mode: .inference) }
        var parts: [Tensor<Float>] = []
        var start = 0
        while start < x.rowCount {
            let end = min(start + batchSize, x.rowCount)
            parts.append(try runner(try x.rows(start..<end), mode: .inference))
            start = end
        }
        return parts.count == 1 ? parts[0] : try Tensor.concatenatingRows(parts)
    }

    /// Loads the model (any registered format), optionally re-estimates its BN moving
    /// statistics on `recalibrateOn`, predicts `input` and writes `output` atomically.
    ///
    /// - Parameters:
    ///   - modelURL: a native checkpoint, `.keras`, Keras `.weights.h5`/legacy `.h5` file.
    ///   - input: the HDF5 dataset of rows to predict (`[rows, features]`).
    ///   - output: where the predictions are written (the file is replaced atomically when new).
    ///   - mode: `.inference` (moving statistics) or `.batchStatistics`.
    ///   - batchSize: rows per forward pass; in `.batchStatistics` mode also the group whose
    ///     statistics each row is normalised with.
    ///   - recalibrateOn: unlabeled rows whose exact mean and variance replace every BN layer's
    ///     moving statistics before predicting; streamed `batchSize` rows at a time (one pass per
    ///     BN layer), never loaded whole.
    ///   - allowNonFinite: by default a NaN or infinity in `input` is an error naming
    ///     its row and column; with `true` such rows are predicted anyway (their outputs are
    ///     NaN; in `.batchStatistics` mode so is every row of their batch). Recalibration data
    ///     must always be finite: one NaN would poison every moving statistic.
    /// - Returns: the predictions that were written.
    @discardableResult
    public static func run(model modelURL: URL, input: DatasetLocation, output: DatasetLocation,
                           mode: Mode = .inference, batchSize: Int = 32,
                           recalibrateOn: DatasetLocation? = nil, allowNonFinite: Bool = false) throws -> Tensor<Float> {
        var model = try ModelFiles.loadModel(modelURL)
        let x = try inputRows(input, exampleShape: model.inputShape)
        if let recalibrateOn {
            let rows = try inputRows(recalibrateOn, exampleShape: model.inputShape)
            model = try recalibrated(model, on: rows, at: recalibrateOn, batchSize: max(batchSize, 1))
        }
        let y = try predict(model, x, at: input, mode: mode, batchSize: batchSize, allowNonFinite: allowNonFinite)
        try write(y, to: output)
        return y
    }

    /// The rows of `location` as a streamed source, after checking it is a `[rows] + exampleShape`
    /// dataset (`[rows, width]`, or images `[rows, height, width, channels]`) with at least one row.
    static func inputRows(_ location: DatasetLocation, exampleShape: [Int]) throws -> HDF5RowSource<Float> {
        try requireDataset(location)
        let source: HDF5RowSource<Float>
        do { source = try HDF5RowSource(file: location.file, path: location.path, as: Float.self) } catch let DatasetError
            .openFailed(_, _, underlying) {
            throw underlying   // libhdf5's error names the file, the dataset and what it cannot read
        }
        let shape = [source.count] + source.rowShape
        try DataChecks.requireFeatures(shape, exampleShape: exampleShape, file: location.file.path, path: location.path)
        try DataChecks.requireRows(shape, file: location.file.path, path: location.path)
        return source
    }

    /// Predicts the rows of `source` reading `batchSize` rows at a time, so only one batch of
    /// input is in memory; unless `allowNonFinite`, a NaN or infinity is an error naming its row.
    static func predict(_ model: Sequential, _ source: HDF5RowSource<Float>, at location: DatasetLocation, mode: Mode,
                        batchSize: Int, allowNonFinite: Bool) throws -> Tensor<Float> {
        guard batchSize > 0 else {
            throw WorkflowError.invalidSetting(file: nil, setting: .batchSize, problem: "batch size must be positive, got \(batchSize)")
        }
        var parts: [Tensor<Float>] = []
        var start = 0
        while start < source.count {
            let end = min(start + batchSize, source.count)
            let x = try rows(start..<end, of: source, at: location, checkFinite: !allowNonFinite)
            parts.append(try predict(model, x, mode: mode, batchSize: batchSize))
            start = end
        }
        return parts.count == 1 ? parts[0] : try Tensor.concatenatingRows(parts)
    }

    /// Rows `range` of `source`; with `checkFinite`, a NaN or infinity is an error naming the
    /// file, the path, the row and the column.
    private static func rows(_ range: Range<Int>, of source: HDF5RowSource<Float>, at location: DatasetLocation,
                             checkFinite: Bool) throws -> Tensor<Float> {
        let x = try source.rows(in: range)
        guard checkFinite else { return x }
        do {
            try DataChecks.requireFinite(x.scalars, shape: x.shape, file: location.file.path, path: location.path, what: "input")
        } catch let WorkflowError.invalidData(file, path, row?, column, message) {
            throw WorkflowError.invalidData(file: file, path: path, row: range.lowerBound + row, column: column, message: message)
        }
        return x
    }

    /// `model` with its BN moving statistics re-estimated on the rows of `source`, read
    /// `batchSize` rows at a time (a pass per BN layer) and checked finite batch by batch: a
    /// NaN or infinity is ``WorkflowError/invalidData(file:path:row:column:message:)`` naming
    /// the row, a failed read a `DatasetError` naming the file, path and row.
    static func recalibrated(_ model: Sequential, on source: HDF5RowSource<Float>, at location: DatasetLocation,
                             batchSize: Int) throws -> Sequential {
        let batches = RangeDataset(0..<(source.count + batchSize - 1) / batchSize).map { batch in
            let start = batch * batchSize
            return try rows(start..<min(start + batchSize, source.count), of: source, at: location, checkFinite: true)
        }
        do {
            return try model.recalibratingBatchNormalization(on: batches)
        } catch let DatasetError.functionFailed(_, _, underlying as WorkflowError) {
            throw underlying   // the data check's own error, which names the row
        }
    }

    private static func requireDataset(_ location: DatasetLocation) throws {
        let file = try HDF5File.open(at: location.file, mode: .readOnly, locking: .bestEffort)
        defer { try? file.close() }
        guard try file.exists(location.path), try file.kind(of: location.path) == .dataset else {
            throw WorkflowError.invalidData(file: location.file.path, path: location.path, row: nil, column: nil,
                                            message: "no such dataset")
        }
    }

    /// Writes `values` at `location`: a new file is created atomically; an existing file is
    /// copied, updated and renamed back, so readers never see a half-written file and the
    /// file's other objects are kept.
    public static func write(_ values: Tensor<Float>, to location: DatasetLocation) throws {
        let url = location.file
        guard FileManager.default.fileExists(atPath: url.path) else {
            try HDF5File.atomicWrite(to: url, inMemory: true) { try $0.write(values.scalars, shape: values.shape, to: location.path) }
            return
        }
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: temporary) }
        try FileManager.default.copyItem(at: url, to: temporary)
        let file = try HDF5File.open(at: temporary, mode: .readWrite, locking: .disabled)
        do {
            try file.write(values.scalars, shape: values.shape, to: location.path)
            try file.close()
        } catch {
            try? file.close()
            throw error
        }
        let handle = try FileHandle(forUpdating: temporary)
        try handle.synchronize()
        try handle.close()
        guard rename(temporary.path, url.path) == 0 else {
            throw WorkflowError.unwritableOutput(file: url.path, message: "cannot replace the output file: errno \(errno)")
        }
    }
}
