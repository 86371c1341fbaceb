import Foundation
import HDF5
import Tensors

/// Two datasets whose rows belong together (features `/x` and targets `/y`), in one file or the
/// same paths in several files read as one: row `i` is `(x[i], y[i])`.
///
/// Built from two ``HDF5RowSource`` values over the same files; each file's two datasets must
/// have the same number of rows (checked when built). Reads are batched as the sources batch
/// them; iterated, it yields the pairs in order.
///
/// ```swift
/// let data = try HDF5AlignedRows(files: [url], x: "/x", as: Float.self, y: "/y", as: Int64.self)
/// let (features, labels) = try data.rows(at: [3, 1, 4])       // [3, d] and [3]
/// let batches = data.blockShuffle(windowBlocks: 16, seed: 1).batch(256)
/// ```
public struct HDF5AlignedRows<X: HDF5Scalar & TensorScalar, Y: HDF5Scalar & TensorScalar>: RandomAccessDataset, Sendable {
    public typealias Element = (Tensor<X>, Tensor<Y>)
    public typealias Iterator = RandomAccessIterator<Self>
    /// The first dataset's rows.
    public let x: HDF5RowSource<X>
    /// The second dataset's rows.
    public let y: HDF5RowSource<Y>

    /// Pairs two sources over the same files.
    /// - Throws: ``DatasetError/mismatchedLayout(file:path:expected:found:)`` naming the file and
    ///   `y`'s path when a file's two datasets differ in rows, or the file lists differ.
    public init(_ x: HDF5RowSource<X>, _ y: HDF5RowSource<Y>) throws {
        guard x.files == y.files else {
            throw DatasetError.mismatchedLayout(file: y.files.map(\.path).joined(separator: ", "), path: y.path,
                                                expected: "the files of \(x.path): \(x.files.map(\.path))",
                                                found: "other files")
        }
        for (file, (xRows, yRows)) in Swift.zip(x.layout.rows, y.layout.rows).enumerated() where xRows != yRows {
            throw DatasetError.mismatchedLayout(file: x.files[file].path, path: y.path,
                                                expected: "\(xRows) rows like \(x.path)", found: "\(yRows) rows")
        }
        self.x = x
        self.y = y
    }

    /// Opens `x` and `y` in every file (see ``HDF5RowSource/init(files:path:as:cacheBytes:)``)
    /// and pairs them; `cacheBytes` is split between the two in proportion to their row widths.
    /// - Throws: the sources' errors, then as ``init(_:_:)``.
    public init(files: [URL], x xPath: String, as xType: X.Type = X.self, y yPath: String, as yType: Y.Type = Y.self,
                cacheBytes: Int = 64 << 20) throws {
        let probeX = try HDF5RowLayout(files: files, path: xPath, as: X.self)
        let probeY = try HDF5RowLayout(files: files, path: yPath, as: Y.self)
        let xWidth = probeX.width * MemoryLayout<X>.stride, yWidth = probeY.width * MemoryLayout<Y>.stride
        let xBytes = Int(Double(cacheBytes) * Double(xWidth) / Double(Swift.max(1, xWidth + yWidth)))
        try self.init(HDF5RowSource(layout: probeX, cacheBytes: xBytes),
                      HDF5RowSource(layout: probeY, cacheBytes: cacheBytes - xBytes))
    }

    /// All rows.
    public var count: Int { x.count }

    /// Row `index` of both datasets.
    /// - Throws: as ``HDF5RowSource/element(at:)``.
    public func element(at index: Int) throws -> (Tensor<X>, Tensor<Y>) {
        (try x.element(at: index), try y.element(at: index))
    }

    /// The rows at `indices` of both datasets, each stacked with a leading dimension.
    /// - Throws: as ``HDF5RowSource/element(at:)``.
    public func rows(at indices: [Int]) throws -> (Tensor<X>, Tensor<Y>) {
        (try x.rows(at: indices), try y.rows(at: indices))
    }

    /// The rows at `indices` of both datasets in batched reads (see ``rows(at:)``).
    public func stackedElements(at indices: [Int], epoch: UInt64) throws -> (Tensor<X>, Tensor<Y>)? {
        try rows(at: indices)
    }

    /// `hdf5Aligned` with the row count, file count and both paths.
    public var accessStages: [RandomAccessStage] {
        [RandomAccessStage(kind: "hdf5Aligned", parameters: x.layout.stateParameters.merging(["y": y.path]) { _, new in new })]
    }

    /// The pairs in the chunk-aware order of ``BlockShuffled``, with blocks of `x`'s chunking
    /// (1,024 rows when `x` is contiguous).
    public func blockShuffle(windowBlocks: Int = 16, seed: UInt64) -> BlockShuffled<Self> {
        BlockShuffled(source: self, windowBlocks: windowBlocks, seed: seed)
    }
}

extension HDF5AlignedRows {
    /// For compressed features (`x`), the block shuffle of ``blockShuffle(windowBlocks:seed:)``
    /// with `x`'s ``HDF5RowSource/defaultWindowBlocks``, which
    /// ``RandomAccessDataset/globalShuffle(seed:)`` then uses; `nil` for uncompressed features.
    public func preferredShuffleOrder(seed: UInt64) -> BlockShuffledIndices? {
        x.isCompressed ? blockShuffle(windowBlocks: x.defaultWindowBlocks, seed: seed).indices : nil
    }
}

extension HDF5AlignedRows: BlockRowSource {
    var blockSizes: [Int] { x.layout.blockSizes }
    func firstRow(ofBlock block: Int) -> Int { x.layout.firstRow(ofBlock: block) }
}

extension HDF5RowSource {
    /// A source over an already checked layout.
    init(layout: HDF5RowLayout, cacheBytes: Int) {
        self.layout = layout
        reader = HDF5RowReader(layout: layout, cacheBytes: cacheBytes)
    }
}
