import Foundation

/// `FILE.h5:/path/to/dataset`, as the command line spells a dataset.
///
/// ```swift
/// let input = try DatasetLocation(parsing: "data.h5:/x")   // file data.h5, dataset /x
/// ```
public struct DatasetLocation: Sendable, Equatable, CustomStringConvertible {
    public var file: URL
    public var path: String

    public init(file: URL, path: String) {
        self.file = file
        self.path = path
    }

    /// Splits at the last `:` followed by `/`, so file names may contain colons.
    public init(parsing text: String) throws {
        guard let range = text.range(of: ":/", options: .backwards), range.lowerBound != text.startIndex else {
            throw CheckpointError.invalidFile(file: text, message: "expected FILE.h5:/dataset (e.g. data.h5:/x)")
        }
        file = URL(fileURLWithPath: String(text[..<range.lowerBound]))
        path = String(text[text.index(after: range.lowerBound)...])
        guard path.count > 1 else { throw CheckpointError.invalidFile(file: text, message: "the dataset path is empty") }
    }

    public var description: String { "\(file.path):\(path)" }
}
