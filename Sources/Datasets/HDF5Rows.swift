import Foundation
import HDF5
import Tensors

/// The rows of a dataset in an HDF5 file, streamed, so a file far larger than memory can feed
/// a pipeline.
///
/// Each iterator opens the file read-only on its first `next()` and closes it when dropped,
/// and reads `chunkRows` rows per HDF5 call. What it holds is bounded whatever the file size:
/// the current block of `chunkRows` rows, plus libhdf5's chunk cache for a chunked (compressed)
/// dataset, sized by `chunkCache`. The default, `.streaming(rows: chunkRows)`, has room for
/// the chunks one block touches (the block's bands of chunks plus one, for a block that starts
/// inside a chunk), so each chunk is decompressed once and at most that many are kept. Do not
/// pass `.automatic` here: it sizes the cache for the whole dataset, and a full pass then keeps
/// every decompressed chunk (`batchwise-bench hdf5-stream` measures both).
///
/// The state is the next row (and the row count, checked on restore), so a checkpoint resumes
/// exactly. The file's shape is read once, when the dataset is built, to know its cardinality.
///
/// ```swift
/// let x = try HDF5Rows(file: url, path: "/x", as: Float.self)        // rows of [N, 784]
/// let y = try HDF5Rows(file: url, path: "/y", as: Int64.self)
/// let batches = x.zip(y).shuffle(bufferSize: 10_000, seed: 1).batch(128).prefetch(2)
/// let small = try HDF5Rows(file: url, path: "/x", as: Float.self, chunkRows: 512, chunkCache: .bytes(8 << 20))
/// ```
public struct HDF5Rows<Scalar: HDF5Scalar & TensorScalar>: Dataset, Sendable {
    public typealias Element = Tensor<Scalar>
    /// The HDF5 file, opened read-only by each iterator.
    public let file: URL
    /// The dataset's path inside the file, e.g. `/train/x`.
    public let path: String
    /// Rows along the leading dimension.
    public let rows: Int
    /// The shape of one element.
    public let rowShape: [Int]
    /// Rows read from the file per HDF5 call.
    public let chunkRows: Int
    /// How each iterator sizes libhdf5's chunk cache (`.streaming(rows: chunkRows)` unless given).
    public let chunkCache: HDF5ChunkCache

    /// Opens the dataset once to read its shape and type, so a wrong file, path or type fails
    /// here rather than at the first `next()`; iterators reopen the file read-only.
    /// - Parameters:
    ///   - file: the HDF5 file.
    ///   - path: the dataset's path inside the file, e.g. `/train/x`; its leading dimension
    ///     is the rows.
    ///   - type: the element type rows are read as (libhdf5 converts from the stored type).
    ///   - chunkRows: rows read per HDF5 call (at least 1).
    ///   - chunkCache: the chunk cache each iterator opens the dataset with; `nil` means
    ///     `.streaming(rows: chunkRows)`, which bounds memory to a few chunks (see the type's
    ///     discussion). Only chunked datasets use it.
    /// - Throws: ``DatasetError/openFailed(file:path:underlying:)`` naming the file and path
    ///   when the file cannot be opened, the path is not a dataset or its element type cannot
    ///   be read as `Scalar`; ``DatasetError/invalidArgument(stage:reason:)`` for a scalar dataset.
    public init(file: URL, path: String, as type: Scalar.Type = Scalar.self, chunkRows: Int = 4096,
                chunkCache: HDF5ChunkCache? = nil) throws {
        let chunkRows = Swift.max(1, chunkRows)
        let chunkCache = chunkCache ?? .streaming(rows: chunkRows)
        do {
            let handle = try HDF5File.open(at: file, mode: .readOnly, locking: .bestEffort)
            defer { try? handle.close() }
            let dataset = try handle.dataset(at: path, chunkCache: chunkCache)
            let shape = try dataset.shape
            guard let first = shape.first else {
                throw DatasetError.invalidArgument(stage: "\(file.path):\(path)", reason: "a scalar dataset has no rows")
            }
            _ = try dataset.readRows(0..<Swift.min(first, 1), as: Scalar.self)  // element type check, now
            self.rows = first
            self.rowShape = Array(shape.dropFirst())
        } catch let error as DatasetError {
            throw error
        } catch {
            throw DatasetError.openFailed(file: file.path, path: path, underlying: error)
        }
        self.file = file
        self.path = path
        self.chunkRows = chunkRows
        self.chunkCache = chunkCache
    }

    public var cardinality: Cardinality { .finite(rows) }

    /// The setting a saved state must match: the number of rows.
    var stateParameters: [String: String] { ["rows": "\(rows)"] }

    public func makeIterator(epoch: UInt64) -> Iterator { Iterator(dataset: self, position: 0) }

    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        try state.expect("hdf5_rows", counters: 1, parameters: stateParameters)
        let position = state.counters[0]
        guard position >= 0 && position <= rows else {
            throw DatasetError.incompatibleState(expected: "hdf5 rows of \(rows)", found: "row \(position)")
        }
        return Iterator(dataset: self, position: position)
    }

    /// Reads chunk by chunk, in order.
    public struct Iterator: DatasetIterator, @unchecked Sendable {
        let dataset: HDF5Rows
        var position: Int
        private var handle: HDF5File?
        /// The open dataset, from the first `next()` to the end of the pass.
        private(set) var reader: HDF5Dataset?
        private var chunk: [Scalar] = []
        private var chunkStart = 0

        init(dataset: HDF5Rows, position: Int) {
            self.dataset = dataset
            self.position = position
        }

        public mutating func next() throws -> Tensor<Scalar>? {
            guard position < dataset.rows else {
                try? handle?.close()
                handle = nil
                reader = nil
                return nil
            }
            let width = dataset.rowShape.reduce(1, *)
            let offset = position - chunkStart
            if chunk.isEmpty || offset < 0 || (offset + 1) * width > chunk.count {
                do {
                    if reader == nil {
                        let file = try HDF5File.open(at: dataset.file, mode: .readOnly, locking: .bestEffort)
                        handle = file
                        reader = try file.dataset(at: dataset.path, chunkCache: dataset.chunkCache)
                    }
                    let end = Swift.min(dataset.rows, position + dataset.chunkRows)
                    chunk = []   // release the old block before reading the next: one block at a time
                    chunk = try reader!.readRows(position..<end, as: Scalar.self).values
                    chunkStart = position
                } catch {
                    throw DatasetError.sourceFailed(source: "\(dataset.file.path):\(dataset.path)", index: position,
                                                    underlying: error)
                }
            }
            let start = (position - chunkStart) * width
            defer { position += 1 }
            return try Tensor(shape: dataset.rowShape, scalars: Array(chunk[start..<(start + width)]))
        }

        /// Rows held in memory right now (at most `chunkRows`).
        var bufferedRows: Int { chunk.count / Swift.max(1, dataset.rowShape.reduce(1, *)) }

        /// `counters`: [next row]; `parameters`: rows.
        public var state: IteratorState {
            IteratorState(kind: "hdf5_rows", counters: [position], parameters: dataset.stateParameters)
        }
    }
}
