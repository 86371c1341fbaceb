import Foundation
import HDF5
import Tensors

/// Where the rows of one dataset path live across a list of HDF5 files read as one: each
/// file's row count, the shape of a row, and how the rows are stored (contiguous, or in
/// chunks of `blockRows` rows, compressed or not).
///
/// Global row `r` is row `r - firstRow[f]` of file `f`, files in the order given. A *block*
/// is the rows one band of chunks covers (`blockRows` rows, the last block of each file
/// possibly shorter); blocks are numbered across files the same way.
///
/// ```swift
/// @testable import Datasets
/// let layout = try HDF5RowLayout(files: [url, dataURL], path: "/x", as: Float.self)
/// print(layout.count)                 // rows of both files
/// print(layout.locate(row: 10))       // (file: 0, row: 10) when the first file has more than 10 rows
/// ```
struct HDF5RowLayout: Sendable, Equatable {
    /// The files, in the order their rows are numbered.
    let files: [URL]
    /// The dataset's path inside every file.
    let path: String
    /// Rows of each file.
    let rows: [Int]
    /// Global index of each file's first row (`rows` summed), plus the total at the end.
    let firstRow: [Int]
    /// The shape of one row.
    let rowShape: [Int]
    /// Rows per chunk band when the dataset is chunked; nil when contiguous.
    let blockRows: Int?
    /// Whether the chunks pass through a filter (gzip, ...), so reading one row decompresses
    /// its whole chunk.
    let isCompressed: Bool
    /// Rows per block: `blockRows`, or ``contiguousBlockRows`` for a contiguous dataset (whose
    /// blocks only group rows for a block shuffle).
    let rowsPerBlock: Int
    /// Global index of each file's first block, plus the total at the end.
    let firstBlock: [Int]

    /// Rows per block of a contiguous dataset.
    static let contiguousBlockRows = 1_024

    /// Opens `path` in every file once, checks each can be read as `Scalar` and that all share
    /// the first file's row shape, element type, chunking and filters.
    /// - Throws: ``DatasetError/openFailed(file:path:underlying:)`` naming the file and path
    ///   when a file does not open, the path is not a dataset, or its elements cannot be read
    ///   as `Scalar`; ``DatasetError/mismatchedLayout(file:path:expected:found:)`` when a file's
    ///   dataset differs from the first file's; ``DatasetError/invalidArgument(stage:reason:)``
    ///   for no files or a scalar dataset.
    init<Scalar: HDF5Scalar & TensorScalar>(files: [URL], path: String, as type: Scalar.Type) throws {
        guard !files.isEmpty else {
            throw DatasetError.invalidArgument(stage: "HDF5RowSource(\(path))", reason: "no files given")
        }
        var rows: [Int] = []
        var first: Description?
        for url in files {
            let found = try Description(file: url, path: path, as: Scalar.self)
            if let first, let difference = first.difference(from: found) {
                throw DatasetError.mismatchedLayout(file: url.path, path: path,
                                                    expected: "\(difference.expected) like \(files[0].path)",
                                                    found: difference.found)
            }
            first = first ?? found
            rows.append(found.rows)
        }
        let description = first!
        self.files = files
        self.path = path
        self.rows = rows
        self.firstRow = rows.reduce(into: [0]) { $0.append($0.last! + $1) }
        self.rowShape = description.rowShape
        self.blockRows = description.chunkShape.map { Swift.max(1, $0[0]) }
        self.isCompressed = description.chunkShape != nil && !description.filters.isEmpty
        let rowsPerBlock = description.chunkShape.map { Swift.max(1, $0[0]) } ?? Self.contiguousBlockRows
        self.rowsPerBlock = rowsPerBlock
        firstBlock = rows.reduce(into: [0]) { $0.append($0.last! + ($1 + rowsPerBlock - 1) / rowsPerBlock) }
    }

    /// All rows of all files.
    var count: Int { firstRow.last ?? 0 }

    /// Scalars in one row.
    var width: Int { rowShape.reduce(1, *) }

    /// Blocks across all files.
    var blockCount: Int { firstBlock.last ?? 0 }

    /// Rows in each block, in block order.
    var blockSizes: [Int] {
        (0..<blockCount).map { rows(ofBlock: $0).rows.count }
    }

    /// The file holding global row `row` and the row's index inside it.
    func locate(row: Int) -> (file: Int, row: Int) {
        let file = Self.lastIndex(in: firstRow, notAbove: row, limit: files.count - 1)
        return (file, row - firstRow[file])
    }

    /// The file and the rows (inside it) of block `block`.
    func rows(ofBlock block: Int) -> (file: Int, rows: Range<Int>) {
        let file = Self.lastIndex(in: firstBlock, notAbove: block, limit: files.count - 1)
        let start = (block - firstBlock[file]) * rowsPerBlock
        return (file, start..<Swift.min(rows[file], start + rowsPerBlock))
    }

    /// The global index of the first row of block `block`.
    func firstRow(ofBlock block: Int) -> Int {
        let (file, local) = rows(ofBlock: block)
        return firstRow[file] + local.lowerBound
    }

    /// The settings a saved state must match.
    var stateParameters: [String: String] {
        ["rows": "\(count)", "files": "\(files.count)", "path": path]
    }

    /// The largest `i <= limit` with `starts[i] <= value` (`starts` ascending, `starts[0] == 0`).
    private static func lastIndex(in starts: [Int], notAbove value: Int, limit: Int) -> Int {
        var low = 0
        var high = limit
        while low < high {
            let middle = (low + high + 1) / 2
            if starts[middle] <= value { low = middle } else { high = middle - 1 }
        }
        return low
    }

    /// What one file says about the dataset.
    private struct Description {
        var rows: Int
        var rowShape: [Int]
        var elementType: HDF5ElementType
        var chunkShape: [Int]?
        var filters: [HDF5Filter]

        init<Scalar: HDF5Scalar & TensorScalar>(file url: URL, path: String, as type: Scalar.Type) throws {
            do {
                let file = try HDF5File.open(at: url, mode: .readOnly, locking: .bestEffort)
                defer { try? file.close() }
                let dataset = try file.dataset(at: path, chunkCache: .bytes(0))
                let shape = try dataset.shape
                guard let first = shape.first else {
                    throw DatasetError.invalidArgument(stage: "\(url.path):\(path)", reason: "a scalar dataset has no rows")
                }
                _ = try dataset.readRows(0..<Swift.min(first, 1), as: Scalar.self)  // element type check, now
                rows = first
                rowShape = Array(shape.dropFirst())
                elementType = dataset.elementType
                chunkShape = dataset.chunkShape
                filters = dataset.filters
            } catch let error as DatasetError {
                throw error
            } catch {
                throw DatasetError.openFailed(file: url.path, path: path, underlying: error)
            }
        }

        /// The first setting in which `other` differs, described for an error.
        func difference(from other: Description) -> (expected: String, found: String)? {
            if rowShape != other.rowShape { return ("rows of shape \(rowShape)", "rows of shape \(other.rowShape)") }
            if elementType != other.elementType { return ("element type \(elementType)", "element type \(other.elementType)") }
            if chunkShape != other.chunkShape {
                func storage(_ chunks: [Int]?) -> String { chunks.map { "chunks of \($0)" } ?? "contiguous storage" }
                return (storage(chunkShape), storage(other.chunkShape))
            }
            if filters != other.filters { return ("filters \(filters)", "filters \(other.filters)") }
            return nil
        }
    }
}
