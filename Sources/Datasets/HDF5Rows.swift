import Foundation
import HDF5
import Tensors

/// The rows of a dataset in an HDF5 file, streamed: only `chunkRows` rows are in memory at a
/// time, so a file far larger than memory can feed a pipeline.
///
/// Each iterator opens the file read-only on its first `next()` and closes it when dropped;
/// its state is one integer (the next row), so a checkpoint resumes it exactly. The file's
/// shape is read once, when the dataset is built, to know its cardinality.
///
/// ```swift
/// let x = try HDF5Rows(file: url, path: "/x", as: Float.self)        // rows of [N, 784]
/// let y = try HDF5Rows(file: url, path: "/y", as: Int64.self)
/// let batches = x.zip(y).shuffle(bufferSize: 10_000, seed: 1).batch(128).prefetch(2)
/// ```
public struct HDF5Rows<Scalar: HDF5Scalar & TensorScalar>: Dataset, Sendable {
    public typealias Element = Tensor<Scalar>
    public let file: URL
    public let path: String
    /// Rows along the leading dimension.
    public let rows: Int
    /// The shape of one element.
    public let rowShape: [Int]
    /// Rows read from the file per HDF5 call.
    public let chunkRows: Int

    /// - Throws: ``DatasetError/sourceFailed(source:index:underlying:)`` naming the file and
    ///   path when the file cannot be opened, the path is not a dataset, the dataset is a
    ///   scalar, or its element type cannot be read as `Scalar`.
    public init(file: URL, path: String, as type: Scalar.Type = Scalar.self, chunkRows: Int = 4096) throws {
        let source = "\(file.path):\(path)"
        do {
            let handle = try HDF5File.open(at: file, mode: .readOnly, locking: .bestEffort)
            defer { try? handle.close() }
            let dataset = try handle.dataset(at: path)
            let shape = try dataset.shape
            guard let first = shape.first else {
                throw DatasetError.invalidArgument(stage: source, reason: "a scalar dataset has no rows")
            }
            _ = try dataset.readRows(0..<Swift.min(first, 1), as: Scalar.self)  // element type check, now
            self.rows = first
            self.rowShape = Array(shape.dropFirst())
        } catch let error as DatasetError {
            throw error
        } catch {
            throw DatasetError.sourceFailed(source: source, index: 0, underlying: error)
        }
        self.file = file
        self.path = path
        self.chunkRows = Swift.max(1, chunkRows)
    }

    public var cardinality: Cardinality { .finite(rows) }

    public func makeIterator(epoch: UInt64) -> Iterator { Iterator(dataset: self, position: 0) }

    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        try state.expect("hdf5_rows", counters: 1)
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
        private var reader: HDF5Dataset?
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
                        reader = try file.dataset(at: dataset.path)
                    }
                    let end = Swift.min(dataset.rows, position + dataset.chunkRows)
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

        /// `counters`: [next row].
        public var state: IteratorState { IteratorState(kind: "hdf5_rows", counters: [position]) }
    }
}
