import Foundation
import Tensors
import Training

/// The checks `batchwise train` and `batchwise predict` run on data files before any model
/// sees them, each failing with ``WorkflowError/invalidData(file:path:row:column:message:)``
/// naming the file, the dataset path and — for a bad value — its row and column.
/// The policies are in docs/reliability/data-and-configs.md.
///
/// ```swift
/// let x = try Tensor<Float>(shape: [2, 2], scalars: [0, 1, .nan, 3])
/// try DataChecks.requireFinite(x.scalars, shape: x.shape, file: "d.h5", path: "/x", what: "feature")
/// // throws "d.h5: /x row 1, column 0: feature value nan is not finite (1 non-finite value in 4)"
/// ```
public enum DataChecks {
    /// Throws at the first value that is NaN or infinite once stored as float32 (so a float64
    /// 1e300 counts: it would train as infinity).
    public static func requireFinite<S: BinaryFloatingPoint>(_ values: [S], shape: [Int], file: String, path: String,
                                                             what: String) throws {
        guard let first = values.firstIndex(where: { !Float($0).isFinite }) else { return }
        let count = values.reduce(0) { $0 + (Float($1).isFinite ? 0 : 1) }
        let width = shape.count >= 2 ? shape.dropFirst().reduce(1, *) : 1
        let value = values[first]
        let shown = value.isFinite ? "\(Double(value)) overflows float32" : "\(Double(value)) is not finite"
        throw WorkflowError.invalidData(
            file: file, path: path, row: first / max(width, 1), column: shape.count >= 2 ? first % max(width, 1) : nil,
            message: "\(what) value \(shown) (\(count) non-finite value\(count == 1 ? "" : "s") in \(values.count))")
    }

    /// Throws when a dataset has no rows.
    public static func requireRows(_ shape: [Int], file: String, path: String) throws {
        guard let rows = shape.first, rows > 0 else {
            throw WorkflowError.invalidData(file: file, path: path, row: nil, column: nil,
                                              message: "the dataset is empty (shape \(shape)); there is nothing to use")
        }
    }

    /// Throws unless `shape` is `[rows, width]` with the model's input width
    /// (``requireFeatures(_:exampleShape:file:path:)`` for `[width]`).
    public static func requireFeatures(_ shape: [Int], width: Int, file: String, path: String) throws {
        try requireFeatures(shape, exampleShape: [width], file: file, path: path)
    }

    /// Throws unless `shape` is `[rows] + exampleShape`: rows of the model's input width, or
    /// images of its input shape. The message says how to make flat rows and images meet.
    public static func requireFeatures(_ shape: [Int], exampleShape: [Int], file: String, path: String) throws {
        if shape.count >= 2, Array(shape.dropFirst()) == exampleShape { return }
        let expected = "[" + (["rows"] + exampleShape.map(String.init)).joined(separator: ", ") + "]"
        let stored = shape.dropFirst().reduce(1, *), width = exampleShape.reduce(1, *)
        var hint = ""
        if shape.count >= 2, stored == width {
            hint = exampleShape.count > 1
                ? "; store the features as \(expected), or give the model \(stored) inputs and a Reshape to \(exampleShape) first"
                : "; flatten the features to \(expected), or build the model for \(Array(shape.dropFirst())) inputs"
        }
        throw WorkflowError.invalidData(file: file, path: path, row: nil, column: nil,
                                        message: "features have shape \(shape); the model takes \(expected)\(hint)")
    }

    /// Throws unless targets of `shape` fit `loss` on a model with `outputs` outputs:
    /// `[rows]` or `[rows, 1]` class indices for sparse crossentropy, `[rows, outputs]` otherwise.
    public static func requireTargets(_ shape: [Int], rows: Int, outputs: Int, loss: Loss, file: String, path: String) throws {
        guard shape.first == rows else {
            throw WorkflowError.invalidData(file: file, path: path, row: nil, column: nil,
                                              message: "targets have \(shape.first ?? 0) rows, the features \(rows)")
        }
        if loss.kind == .sparseCategoricalCrossentropy {
            guard shape.count == 1 || (shape.count == 2 && shape[1] == 1) else {
                throw WorkflowError.invalidData(
                    file: file, path: path, row: nil, column: nil,
                    message: "\(loss.kerasName) takes class indices shaped [rows] or [rows, 1], found \(shape) "
                        + "(for one-hot targets use categorical_crossentropy)")
            }
            return
        }
        guard shape == [rows, outputs] else {
            let hint = loss.kind == .categoricalCrossentropy && shape.count == 1
                ? " (for integer class labels use sparse_categorical_crossentropy)" : ""
            throw WorkflowError.invalidData(
                file: file, path: path, row: nil, column: nil,
                message: "targets have shape \(shape); \(loss.kerasName) on a model with \(outputs) output"
                    + "\(outputs == 1 ? "" : "s") needs [\(rows), \(outputs)]\(hint)")
        }
    }

    /// Throws at the first label that is not an integer in `0..<classes`.
    public static func requireClassIndices(_ labels: [Double], classes: Int, file: String, path: String) throws {
        guard let bad = labels.firstIndex(where: { !($0 >= 0 && $0 < Double(classes) && $0.rounded() == $0) }) else { return }
        let label = labels[bad]
        let integral = label.rounded() == label && abs(label) < 1e15
        let kind = integral ? "outside 0..<\(classes)" : "not an integer"
        throw WorkflowError.invalidData(
            file: file, path: path, row: bad, column: nil,
            message: "label \(integral ? String(Int(label)) : String(label)) is \(kind): sparse_categorical_crossentropy needs class indices "
                + "0..<\(classes) for a model with \(classes) outputs")
    }
}
