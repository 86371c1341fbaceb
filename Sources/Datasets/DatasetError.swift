import Foundation

/// Why a dataset could not produce an element or restore a state. Every case names the
/// source or stage involved and, where there is one, the element index.
///
/// ```swift
/// do { _ = try Slices(x, y) } catch let error as DatasetError { print(error.localizedDescription) }
/// ```
public enum DatasetError: Error, LocalizedError, @unchecked Sendable {
    /// A source failed to read element `index`.
    case sourceFailed(source: String, index: Int, underlying: any Error)
    /// A file-backed source could not be built: the file does not open, `path` is not a dataset
    /// in it, or its elements cannot be read as the requested type.
    case openFailed(file: String, path: String, underlying: any Error)
    /// A user function (map, filter, generator) threw on element `index`.
    case functionFailed(stage: String, index: Int, underlying: any Error)
    /// Two elements that must share a shape do not (batching, zipping slices).
    case shapeMismatch(stage: String, index: Int, expected: [Int], found: [Int])
    /// Arrays given to one source disagree in length.
    case lengthMismatch(source: String, expected: Int, found: Int)
    /// An argument is out of range (a batch size of 0, a shard index >= count, ...).
    case invalidArgument(stage: String, reason: String)
    /// A saved state does not belong to this pipeline.
    case incompatibleState(expected: String, found: String)
    /// A saved state comes from a stage whose setting `parameter` (a seed, a buffer or batch
    /// size, a count, a source length) was `saved`, while this pipeline's is `current`: resuming
    /// would continue a different element sequence.
    case mismatchedState(stage: String, parameter: String, saved: String, current: String)
    /// An `HDF5Array` could not become a `Tensor`: a value has no exact counterpart in the
    /// target type, or the shape does not hold the values.
    case arrayConversionFailed(from: String, to: String, shape: [Int], reason: String)
    /// A state could not be decoded.
    case undecodableState(reason: String)
    /// The operation needs a finite dataset.
    case infiniteDataset(operation: String)
    /// Files read as one source, or datasets read as aligned columns, disagree: the dataset at
    /// `path` in `file` has `found` where `expected` (a row count, row shape, element type,
    /// chunking or filter pipeline).
    case mismatchedLayout(file: String, path: String, expected: String, found: String)
    /// A random-access read asked for element `index` of a source (or stage) of `count` elements.
    case indexOutOfRange(source: String, index: Int, count: Int)

    /// One line naming the stage or source and the element index.
    public var errorDescription: String? {
        switch self {
        case let .sourceFailed(source, index, underlying):
            return "\(source): reading element \(index) failed: \(Self.describe(underlying))"
        case let .openFailed(file, path, underlying):
            return "\(file): cannot read dataset '\(path)': \(Self.describe(underlying))"
        case let .functionFailed(stage, index, underlying):
            return "\(stage): the function threw on element \(index): \(Self.describe(underlying))"
        case let .shapeMismatch(stage, index, expected, found):
            return "\(stage): element \(index) has shape \(found), expected \(expected) like the first element"
        case let .lengthMismatch(source, expected, found):
            return "\(source): the tensors disagree in length: \(expected) rows against \(found)"
        case let .invalidArgument(stage, reason):
            return "\(stage): \(reason)"
        case let .incompatibleState(expected, found):
            return "cannot resume: the saved state is for '\(found)' but this pipeline stage is '\(expected)'"
        case let .mismatchedState(stage, parameter, saved, current):
            return "cannot resume: the saved state is for a '\(stage)' stage with \(parameter) \(saved), "
                + "but this pipeline's '\(stage)' has \(parameter) \(current)"
        case let .arrayConversionFailed(from, to, shape, reason):
            return "cannot convert an HDF5 array of \(from) with shape \(shape) to Tensor<\(to)>: \(reason)"
        case let .undecodableState(reason):
            return "cannot decode the iterator state: \(reason)"
        case let .infiniteDataset(operation):
            return "\(operation) needs a finite dataset (use take(_:) or a limit)"
        case let .mismatchedLayout(file, path, expected, found):
            return "\(file): dataset '\(path)' has \(found), expected \(expected)"
        case let .indexOutOfRange(source, index, count):
            return "\(source): element index \(index) is out of range 0..<\(count)"
        }
    }

    private static func describe(_ error: any Error) -> String {
        (error as? LocalizedError)?.errorDescription ?? String(describing: error)
    }
}
