import Foundation

/// Why `fit`, `evaluate` or `predict` refused to run. Cases name the argument at fault.
///
/// ```swift
/// // An infinite pipeline without stepsPerEpoch:
/// try trainer.fit(Slices(x, y).repeat().batch(32), epochs: 1)
/// // throws TrainerError.stepsRequired(argument: "data", cardinality: "infinite")
/// do { try trainer.fit(data, epochs: 3, callbacks: [TerminateOnNonFiniteLoss(action: .throwError)]) }
/// catch let error as TrainerError { print(error.localizedDescription) }
/// // "loss became nan at epoch 1, step 3: batch row 1, feature column 0 is nan"
/// ```
public enum TrainerError: Error, Equatable, Sendable, LocalizedError {
    /// An infinite (or unknown-length) dataset was given without a step count.
    case stepsRequired(argument: String, cardinality: String)
    /// A count argument is not positive.
    case invalidArgument(name: String, message: String)
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
    /// Integer targets (of `labelType`, such as `Int64`) were given with a loss that needs
    /// `Float` targets; only sparse categorical crossentropy takes class labels.
    case integerTargets(loss: String, labelType: String)

    /// One line naming the argument and what was wrong with it.
    public var errorDescription: String? {
        switch self {
        case let .stepsRequired(argument, cardinality):
            return "\(argument) has \(cardinality) length: pass \(argument == "validationData" ? "validationSteps" : "stepsPerEpoch")"
        case let .invalidArgument(name, message):
            return "\(name): \(message)"
        case let .unknownMonitor(callback, name, available):
            return "\(callback) monitors '\(name)', but the logs are \(available.joined(separator: ", "))"
        case let .emptyDataset(argument):
            return "\(argument) produced no batches"
        case let .incompatibleSnapshot(message):
            return "cannot resume: \(message)"
        case let .nonFiniteLoss(epoch, step, loss, cause):
            return "loss became \(loss) at epoch \(epoch), step \(step): \(cause)"
        case let .integerTargets(loss, labelType):
            return "\(loss) needs Float targets, but the data's targets are \(labelType): convert them in the pipeline "
                + "(.map { x, y in (x, y.converted(to: Float.self)) }), or, if they are class indices, "
                + "use loss: .sparseCategoricalCrossentropy"
        }
    }
}
