import Foundation
import HDF5
import Tensors

/// Two datasets whose rows belong together (features `/x` and targets `/y`), in one file or the
/// same paths in several files read as one: row `i` is `(x[i], y[i])`.
///
/// Built from two ``HDF5RowSource`` values over the same files; each file's two datasets must
/// have the same number of rows (checked when built). Reads are batched as the sources batch
/// them.
///
/// ```swift
/// let data = try HDF5AlignedRows(files: [url], x: "/x", as: Float.self, y: "/y", as: Int64.self)
/// let (features, labels) = try data.rows(at: [3, 1, 4])       // [3, d] and [3]
/// let batches = data.blockShuffle(windowBlocks: 16, seed: 1).batch(256)
/// ```
public struct HDF5AlignedRows<X: HDF5Scalar & TensorScalar, Y: HDF5Scalar & TensorScalar>: Dataset, Sendable {
    public typealias Element = (Tensor<X>, Tensor<Y>)
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
        for (file, (xRows, yRows)) in zip(x.layout.rows, y.layout.rows).enumerated() where xRows != yRows {
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

    public var cardinality: Cardinality { .finite(count) }

    public func makeIterator(epoch: UInt64) -> Iterator {
        Iterator(x: x.makeIterator(epoch: epoch), y: y.makeIterator(epoch: epoch))
    }

    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        try state.expect("hdf5_aligned_rows", children: 2)
        return Iterator(x: try x.makeIterator(resumingFrom: state.children[0]),
                        y: try y.makeIterator(resumingFrom: state.children[1]))
    }

    /// Both datasets' rows in order.
    public struct Iterator: DatasetIterator {
        var x: HDF5RowSource<X>.Iterator
        var y: HDF5RowSource<Y>.Iterator

        public mutating func next() throws -> (Tensor<X>, Tensor<Y>)? {
            guard let row = try x.next(), let target = try y.next() else { return nil }
            return (row, target)
        }

        /// `children`: [x, y].
        public var state: IteratorState { IteratorState(kind: "hdf5_aligned_rows", children: [x.state, y.state]) }
    }

    /// The pairs in the chunk-aware order of ``BlockShuffled``, with blocks of `x`'s chunking
    /// (1,024 rows when `x` is contiguous).
    public func blockShuffle(windowBlocks: Int = 16, seed: UInt64) -> BlockShuffled<Self> {
        BlockShuffled(source: self, windowBlocks: windowBlocks, seed: seed)
    }
}

extension HDF5AlignedRows: BlockRowSource {
    var blockSizes: [Int] { x.layout.blockSizes }
    func gather(_ indices: [Int]) throws -> (Tensor<X>, Tensor<Y>) { try rows(at: indices) }
    func firstRow(ofBlock block: Int) -> Int { x.layout.firstRow(ofBlock: block) }
    var blockStateParameters: [String: String] { x.layout.stateParameters.merging(["y": y.path]) { _, new in new } }
}

extension HDF5RowSource {
    /// A source over an already checked layout.
    init(layout: HDF5RowLayout, cacheBytes: Int) {
        self.layout = layout
        reader = HDF5RowReader(layout: layout, cacheBytes: cacheBytes)
    }
}
