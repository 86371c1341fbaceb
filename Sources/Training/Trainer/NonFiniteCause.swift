import Tensors

/// Why a batch's loss was not finite: the first NaN or infinity in the batch's features or
/// targets (row-major order, features first), or — when the batch is finite — the model.
///
/// ```swift
/// let cause = NonFiniteCause(inputs: x, targets: y)
/// print(cause)   // "batch row 1, feature column 0 is nan"
/// ```
public enum NonFiniteCause: Sendable, Equatable, CustomStringConvertible {
    /// Features `[row, column]` of the batch hold `value`.
    case feature(row: Int, column: Int, value: Float)
    /// Targets `[row, column]` of the batch hold `value`.
    case target(row: Int, column: Int, value: Float)
    /// Every feature and target is finite: weights or activations overflowed.
    case model

    /// Scans the batch; cheap next to a forward pass, and only done once a loss is non-finite.
    public init(inputs: Tensor<Float>, targets: Tensor<Float>) {
        if let (row, column, value) = Self.firstNonFinite(inputs) {
            self = .feature(row: row, column: column, value: value)
        } else if let (row, column, value) = Self.firstNonFinite(targets) {
            self = .target(row: row, column: column, value: value)
        } else {
            self = .model
        }
    }

    /// The batch row at fault, if a feature or target is.
    public var row: Int? {
        switch self {
        case let .feature(row, _, _), let .target(row, _, _): row
        case .model: nil
        }
    }

    public var description: String {
        switch self {
        case let .feature(row, column, value): "batch row \(row), feature column \(column) is \(value)"
        case let .target(row, column, value): "batch row \(row), target column \(column) is \(value)"
        case .model: "every feature and target of the batch is finite, so the model diverged (try a lower learning rate)"
        }
    }

    public static func == (a: Self, b: Self) -> Bool {
        switch (a, b) {
        case let (.feature(r1, c1, v1), .feature(r2, c2, v2)), let (.target(r1, c1, v1), .target(r2, c2, v2)):
            // NaN equals NaN here: the cause is the position and the kind of value.
            r1 == r2 && c1 == c2 && (v1 == v2 || (v1.isNaN && v2.isNaN))
        case (.model, .model): true
        default: false
        }
    }

    private static func firstNonFinite(_ t: Tensor<Float>) -> (Int, Int, Float)? {
        let width = t.rank >= 2 ? t.scalarCount / max(t.shape[0], 1) : 1
        return t.withUnsafeBufferPointer { values in
            guard let index = values.firstIndex(where: { !$0.isFinite }) else { return nil }
            return (index / max(width, 1), index % max(width, 1), values[index])
        }
    }
}
