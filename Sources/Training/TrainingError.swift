import Foundation
import Tensors

/// Why a model, loss, metric or optimizer refused its input. Cases name the layer or
/// variable and the shapes involved.
///
/// ```swift
/// do { _ = try model(x, mode: .inference) }
/// catch let error as TrainingError { print(error.localizedDescription) }
/// // "layer 'dense': expected input shape [N, 4], found [32, 3]"
/// ```
public enum TrainingError: Error, Equatable, Sendable, LocalizedError {
    /// A tensor reaching a layer (or loss) has the wrong shape.
    case shapeMismatch(layer: String, expected: [Int], found: [Int])
    /// A constructor or setter got a value outside its domain.
    case invalidArgument(layer: String, message: String)
    /// No variable of that name exists in the model.
    case unknownVariable(name: String, available: [String])
    /// `backward` or an optimizer step ran before a forward pass in the stateful path.
    case missingGradients(layer: String)
    /// Targets do not fit the predictions for this loss or metric.
    case targetsMismatch(loss: String, predictions: [Int], targets: [Int])
    /// A sparse label is not an integer in `0..<classes`; `row` is its row in the batch.
    case invalidLabel(loss: String, row: Int, label: Float, classes: Int)
    /// An integer class label (given to the integer-label `fit` or `evaluate`) is negative
    /// or not below the number of classes; `row` is its row in the batch.
    case invalidClassLabel(loss: String, row: Int, label: Int64, classes: Int)
    /// Restored optimizer state does not fit the model's variables.
    case optimizerStateMismatch(variable: String, message: String)
    /// A lower-level tensor operation failed.
    case tensor(TensorError)

    /// One line naming the layer or variable and the shapes involved.
    public var errorDescription: String? {
        switch self {
        case let .shapeMismatch(layer, expected, found):
            return "layer '\(layer)': expected shape \(Self.describe(expected)), found \(found)"
        case let .invalidArgument(layer, message):
            return "layer '\(layer)': \(message)"
        case let .unknownVariable(name, available):
            return "no variable named '\(name)'; the model has \(available.joined(separator: ", "))"
        case let .missingGradients(layer):
            return "layer '\(layer)' has no gradients yet: call lossAndGradients before an optimizer step"
        case let .targetsMismatch(loss, predictions, targets):
            return "\(loss): targets of shape \(targets) do not fit predictions of shape \(predictions)"
        case let .invalidLabel(loss, row, label, classes):
            return "\(loss): batch row \(row): label \(label) is not an integer class index in 0..<\(classes)"
        case let .invalidClassLabel(loss, row, label, classes):
            return "\(loss): batch row \(row): label \(label) is not a class index in 0..<\(classes)"
        case let .optimizerStateMismatch(variable, message):
            return "optimizer state for '\(variable)': \(message)"
        case let .tensor(error):
            return error.errorDescription
        }
    }

    /// Shapes with a free batch dimension are written `[N, C]`.
    private static func describe(_ shape: [Int]) -> String {
        "[" + shape.map { $0 < 0 ? "N" : String($0) }.joined(separator: ", ") + "]"
    }
}
