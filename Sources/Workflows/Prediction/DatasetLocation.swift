import Foundation

/// `FILE.h5:/path/to/dataset`, as the command line spells a dataset.
///
/// ```swift
/// let input = try DatasetLocation(parsing: "data.h5:/x")   // file data.h5, dataset /x
/// ```
public struct DatasetLocation: Sendable, Equatable, CustomStringConvertible {
    /// The HDF5 file.
    public var file: URL
    /// The dataset's path inside the file.
    public var path: String

    /// A location from its parts.
    public init(file: URL, path: String) {
        self.file = file
        self.path = path
    }

    /// Splits at the last `:` followed by `/`, so file names may contain colons.
    /// - Throws: ``WorkflowError/invalidLocation(text:problem:)`` without a file or a dataset path.
    public init(parsing text: String) throws {
        guard let range = text.range(of: ":/", options: .backwards), range.lowerBound != text.startIndex else {
            throw WorkflowError.invalidLocation(text: text, problem: "expected FILE.h5:/dataset (e.g. data.h5:/x)")
        }
        file = URL(fileURLWithPath: String(text[..<range.lowerBound]))
        path = String(text[text.index(after: range.lowerBound)...])
        guard path.count > 1 else { throw WorkflowError.invalidLocation(text: text, problem: "the dataset path is empty") }
    }

    /// `FILE:/path`, the form ``init(parsing:)`` reads.
    public var description: String { "\(file.path):\(path)" }
}
