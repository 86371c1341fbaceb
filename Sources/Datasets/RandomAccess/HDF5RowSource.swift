import Foundation
import HDF5
import Tensors

/// The rows of one HDF5 dataset, or of the same dataset path in several files read as one,
/// by index: a random-access source for data larger than memory.
///
/// Global row `r` is row `r` of the first file while it lasts, then of the next file, and so
/// on; every file must hold `path` with the same row shape, element type, chunking and
/// filters (checked when the source is built). Reads are batched: ``rows(at:)`` reads a
/// contiguous dataset by runs of consecutive rows, and a chunked one block by block (a block
/// being the rows one band of chunks covers), keeping at most `cacheBytes` of decompressed
/// blocks. ``element(at:)`` is ``rows(at:)`` of one row.
///
/// Iterated as a ``Dataset`` it yields the rows in order, with the few-integer state of a
/// ``RandomAccessIterator``. ``RandomAccessDataset/globalShuffle(seed:)`` picks the order by the
/// storage: for a compressed source the chunk-aware ``blockShuffle(windowBlocks:seed:)`` with
/// ``defaultWindowBlocks`` (each block decompressed once per epoch), for a contiguous one a
/// per-row permutation; `globalShuffle(seed:order: .rows)` forces the per-row permutation.
///
/// ```swift
/// let x = try HDF5RowSource(files: [url, dataURL], path: "/x", as: Float.self)
/// let batch = try x.rows(at: [5, 1_000_000, 42])      // shape [3] + x.rowShape
/// let blocks = x.blockShuffle(windowBlocks: 16, seed: 7)
/// ```
public struct HDF5RowSource<Scalar: HDF5Scalar & TensorScalar>: RandomAccessDataset, Sendable {
    public typealias Element = Tensor<Scalar>
    public typealias Iterator = RandomAccessIterator<Self>

    let layout: HDF5RowLayout
    let reader: HDF5RowReader<Scalar>

    /// Opens `path` in every file once to check it (see ``HDF5RowSource``); reads reopen the
    /// files read-only on first use.
    /// - Parameters:
    ///   - files: the files, in the order their rows are numbered (at least one).
    ///   - path: the dataset's path in every file; its leading dimension is the rows.
    ///   - type: the element type rows are read as (libhdf5 converts from the stored type
    ///     when no value can change).
    ///   - cacheBytes: the most decompressed chunk data kept for a chunked dataset (one block
    ///     is always kept); a block-shuffled pass reads each block once when it holds
    ///     `windowBlocks` blocks.
    /// - Throws: ``DatasetError/openFailed(file:path:underlying:)`` naming the file and path
    ///   for a missing file, a missing path or an element type that cannot be read as `Scalar`;
    ///   ``DatasetError/mismatchedLayout(file:path:expected:found:)`` naming the file whose
    ///   dataset differs from the first file's; ``DatasetError/invalidArgument(stage:reason:)``
    ///   for an empty file list or a scalar dataset.
    public init(files: [URL], path: String, as type: Scalar.Type = Scalar.self, cacheBytes: Int = 64 << 20) throws {
        self.init(layout: try HDF5RowLayout(files: files, path: path, as: Scalar.self), cacheBytes: cacheBytes)
    }

    /// The rows of `path` in one file (see ``init(files:path:as:cacheBytes:)``).
    public init(file: URL, path: String, as type: Scalar.Type = Scalar.self, cacheBytes: Int = 64 << 20) throws {
        try self.init(files: [file], path: path, as: type, cacheBytes: cacheBytes)
    }

    /// The files, in the order their rows are numbered.
    public var files: [URL] { layout.files }
    /// The dataset's path inside every file.
    public var path: String { layout.path }
    /// All rows of all files.
    public var count: Int { layout.count }
    /// Rows of each file, in the order of ``files``.
    public var rowsPerFile: [Int] { layout.rows }
    /// The shape of one row.
    public var rowShape: [Int] { layout.rowShape }
    /// Rows per block (the first chunk dimension) for a chunked dataset; nil when contiguous.
    public var blockRows: Int? { layout.blockRows }
    /// Whether the chunks are compressed (or otherwise filtered), so that reading rows out of
    /// order decompresses a chunk per row unless the order follows the blocks.
    public var isCompressed: Bool { layout.isCompressed }
    /// The most decompressed chunk data kept in memory.
    public var cacheBytes: Int { reader.cacheBytes }
    /// Blocks read from the files so far by this source and its copies (cache hits excluded):
    /// how often chunks were decompressed.
    public var blockReads: Int { reader.blockReads }

    /// The file holding global row `row` (in `0..<count`) and the row's index inside that file:
    /// how errors about a row name it.
    public func location(ofRow row: Int) -> (file: URL, row: Int) {
        let (file, local) = layout.locate(row: row)
        return (layout.files[file], local)
    }

    /// Row `index` (in `0..<count`).
    /// - Throws: ``DatasetError/indexOutOfRange(source:index:count:)`` for an index out of
    ///   range; ``DatasetError/sourceFailed(source:index:underlying:)`` naming `file:path` and
    ///   the first row (inside that file) of the read that failed.
    public func element(at index: Int) throws -> Tensor<Scalar> {
        try Tensor(shape: rowShape, scalars: try scalars(at: [index]))
    }

    /// The rows at `indices` (any order, repeats allowed) stacked into one tensor of shape
    /// `[indices.count] + rowShape`, read in as few reads as the storage allows.
    /// - Throws: as ``element(at:)``.
    public func rows(at indices: [Int]) throws -> Tensor<Scalar> {
        try Tensor(shape: [indices.count] + rowShape, scalars: try scalars(at: indices))
    }

    /// Rows `range` (inside `0..<count`) stacked into one tensor of shape `[range.count] + rowShape`:
    /// one read per file for a contiguous dataset.
    /// - Throws: as ``element(at:)``.
    public func rows(in range: Range<Int>) throws -> Tensor<Scalar> {
        if !range.isEmpty {
            try checkIndex(range.lowerBound, source: "\(layout.files[0].path):\(path)")
            try checkIndex(range.upperBound - 1, source: "\(layout.files[0].path):\(path)")
        }
        return try Tensor(shape: [range.count] + rowShape, scalars: try reader.scalars(in: range))
    }

    func scalars(at indices: [Int]) throws -> [Scalar] {
        try checkIndices(indices, source: "\(layout.files[0].path):\(path)")
        return try reader.scalars(at: indices)
    }

    /// The rows at `indices` in one batched read (see ``rows(at:)``): what random-access
    /// `batch` stages call.
    public func stackedElements(at indices: [Int], epoch: UInt64) throws -> Tensor<Scalar>? {
        try rows(at: indices)
    }

    /// `hdf5` with the row count, file count and path.
    public var accessStages: [RandomAccessStage] { [RandomAccessStage(kind: "hdf5", parameters: layout.stateParameters)] }
}

extension HDF5RowSource: BlockRowSource {
    var blockSizes: [Int] { layout.blockSizes }
    func firstRow(ofBlock block: Int) -> Int { layout.firstRow(ofBlock: block) }
}
