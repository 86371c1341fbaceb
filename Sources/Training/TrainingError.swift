import Foundation
import Tensors

/// Why anything in the Training module refused its input: a model, loss, metric or
/// optimizer (cases name the layer or variable and the shapes involved) or the trainer's
/// `fit`, `evaluate` and `predict` and their callbacks (cases name the argument at fault).
/// One type, so that one `catch` covers every error a training run can throw from here.
///
/// ```swift
/// do { _ = try model(x, mode: .inference) }
/// catch let error as TrainingError { print(error.localizedDescription) }
/// // "layer 'dense': expected input shape [N, 4], found [32, 3]"
///
/// // An infinite pipeline without stepsPerEpoch:
/// try trainer.fit(Slices(x, y).repeat().batch(32), epochs: 1)
/// // throws TrainingError.stepsRequired(argument: "data", cardinality: "infinite")
/// do { try trainer.fit(data, epochs: 3, callbacks: [TerminateOnNonFiniteLoss(action: .throwError)]) }
/// catch let error as TrainingError { print(error.localizedDescription) }
/// // "loss became nan at epoch 1, step 3: batch row 1, feature column 0 is nan"
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

    // The trainer's cases.

    /// An infinite (or unknown-length) dataset was given without a step count.
    case stepsRequired(argument: String, cardinality: String)
    /// A count argument of `fit`, `predict` or a re-calibration (`epochs`, `stepsPerEpoch`,
    /// `batchSize`) is out of range.
    case invalidCount(argument: String, message: String)
    /// A callback monitors a log name that `fit` does not produce.
    case unknownMonitor(callback: String, name: String, available: [String])
    /// A dataset produced no batches at all.
    case emptyDataset(argument: String)
    /// A snapshot does not fit the model or pipeline it is resumed into.
    case incompatibleSnapshot(String)
    /// A step's loss was NaN or infinite (thrown by ``TerminateOnNonFiniteLoss`` with
    /// `.throwError`). `epoch` and `step` are one-based; `cause` says which batch row and
    /// column first held a non-finite feature or target, or that the batch was finite and
    /// the model itself diverged.
    case nonFiniteLoss(epoch: Int, step: Int, loss: Float, cause: NonFiniteCause)
    /// A snapshot's optimizer state belongs to another optimizer than the trainer's: another
    /// kind, or a hyper-parameter that changes results (the learning rate may differ).
    case optimizerMismatch(saved: OptimizerIdentity, given: OptimizerIdentity)
    /// Integer targets (of `labelType`, such as `Int64`) were given with a loss that needs
    /// `Float` targets; only sparse categorical crossentropy takes class labels.
    case integerTargets(loss: String, labelType: String)

    /// One line naming the layer, variable or argument at fault and the shapes involved.
    public var errorDescription: String? {
        switch self {
        case let .shapeMismatch(layer, expected, found):
            return "layer '\(layer)': expected shape \(Self.describe(expected)), found \(found)"
        case let .invalidArgument(layer, message):
            return "layer '\(layer)': \(message)"
        case let .unknownVariable(name, available):
            // Parameterless layers (Flatten, pooling, ...) have nothing to list.
            guard !available.isEmpty else { return "no variable named '\(name)'; there are no variables to set there" }
            return "no variable named '\(name)'; the model has \(available.joined(separator: ", "))"
        case let .missingGradients(layer):
            return "layer '\(layer)' has no gradients in the step: pass an optimizer the gradients of Sequential.trainingStep"
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
        case let .stepsRequired(argument, cardinality):
            return "\(argument) has \(cardinality) length: pass \(argument == "validationData" ? "validationSteps" : "stepsPerEpoch")"
        case let .invalidCount(argument, message):
            return "\(argument): \(message)"
        case let .unknownMonitor(callback, name, available):
            return "\(callback) monitors '\(name)', but the logs are \(available.joined(separator: ", "))"
        case let .emptyDataset(argument):
            return "\(argument) produced no batches"
        case let .incompatibleSnapshot(message):
            return "cannot resume: \(message)"
        case let .nonFiniteLoss(epoch, step, loss, cause):
            return "loss became \(loss) at epoch \(epoch), step \(step): \(cause)"
        case let .optimizerMismatch(saved, given):
            return "cannot resume: the snapshot's optimizer state is from \(saved), the trainer's optimizer is "
                + "\(given); resume with \(saved) (only the learning rate may differ)"
        case let .integerTargets(loss, labelType):
            return "\(loss) needs Float targets, but the data's targets are \(labelType): convert them in the pipeline "
                + "(.map { x, y in (x, y.converted(to: Float.self)) }), or, if they are class indices, "
                + "use loss: .sparseCategoricalCrossentropy"
        }
    }

    /// Shapes with a free batch dimension are written `[N, C]`.
    private static func describe(_ shape: [Int]) -> String {
        "[" + shape.map { $0 < 0 ? "N" : String($0) }.joined(separator: ", ") + "]"
    }
}
