import Foundation

/// Why a tensor operation refused its input. Every case names the shapes involved.
///
/// ```swift
/// do { _ = try Tensor<Float>(shape: [2, 3], scalars: [1, 2]) }
/// catch let error as TensorError { print(error.localizedDescription) }  // names [2, 3] and 2
/// ```
public enum TensorError: Error, Equatable, Sendable, LocalizedError {
    /// The scalar count does not match the product of the shape.
    case scalarCountMismatch(shape: [Int], count: Int)
    /// A dimension is negative.
    case negativeDimension(shape: [Int])
    /// Two tensors that must agree in shape do not.
    case shapeMismatch(operation: String, expected: [Int], found: [Int])
    /// An operation needs a different rank than it was given.
    case rankMismatch(operation: String, expected: Int, found: [Int])
    /// A row range or index is outside the tensor.
    case indexOutOfRange(operation: String, index: String, shape: [Int])
    /// There is nothing to stack.
    case emptyStack
    /// A reshape to a shape whose element count differs from the tensor's (or that has more
    /// than one inferred `-1` dimension, or a dimension below -1).
    case invalidReshape(from: [Int], to: [Int])
    /// An axis list (a permutation, a channel axis) that does not fit the tensor's rank.
    case invalidAxes(operation: String, axes: [Int], shape: [Int])

    /// One line naming the operation and the shapes involved.
    public var errorDescription: String? {
        switch self {
        case let .scalarCountMismatch(shape, count):
            return "shape \(shape) needs \(shape.reduce(1, *)) scalars, got \(count)"
        case let .negativeDimension(shape):
            return "shape \(shape) has a negative dimension"
        case let .shapeMismatch(operation, expected, found):
            return "\(operation): expected shape \(expected), found \(found)"
        case let .rankMismatch(operation, expected, found):
            return "\(operation): expected rank \(expected), found shape \(found)"
        case let .indexOutOfRange(operation, index, shape):
            return "\(operation): index \(index) is out of range for shape \(shape)"
        case .emptyStack:
            return "cannot stack an empty list of tensors (the element shape is unknown)"
        case let .invalidReshape(from, to):
            return "cannot reshape \(from) (\(from.reduce(1, *)) scalars) to \(to): "
                + "the shapes must hold the same number of scalars, with at most one -1 dimension"
        case let .invalidAxes(operation, axes, shape):
            return "\(operation): axes \(axes) do not fit shape \(shape) (rank \(shape.count))"
        }
    }
}
