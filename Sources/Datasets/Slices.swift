import Tensors

/// The rows of in-memory tensors (or the elements of an array) as a dataset: tf.data's
/// `from_tensor_slices`.
///
/// The common case is a `(features, labels)` pair whose leading dimensions agree; each element
/// is one row of each, so features `[N, d]` with labels `[N]` yield `([d], [])` elements and
/// labels `[N, 1]` yield `([d], [1])` elements.
///
/// ```swift
/// let x = try Tensor<Double>(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6])
/// let y = Tensor<Int64>([0, 1, 0])
/// let pairs = try Slices(x, y)          // 3 elements: ([1, 2], 0), ([3, 4], 1), ([5, 6], 0)
/// let rows = try Slices(x)              // 3 elements of shape [2]
/// let words = Slices(["a", "b", "c"])   // any Sendable array
/// ```
///
/// On Linux, a tensor of 16 MiB or more is moved onto transparent huge pages when its slices
/// are made (in place, memory-neutral; the values do not change), so that a shuffle's random
/// rows do not each cost a TLB miss. This takes a moment once per tensor storage (about 0.1 s
/// for MNIST's 188 MB on the 2-core development machine, up to 2 s when the kernel must first
/// find free 2 MiB blocks) and is skipped where huge pages are off or unavailable.
public struct Slices<Element>: Dataset, Sendable {
    /// The number of elements.
    public let count: Int
    /// The name used in errors.
    public let name: String
    @usableFromInline let fetch: @Sendable (Int) -> Element
    /// Stacks the rows at the given indices into one element with a leading batch dimension
    /// (tensor sources only); `batch` uses it to skip per-row tensors (see `RowIndices`).
    @usableFromInline let gather: (@Sendable (UnsafeBufferPointer<Int>) -> Element)?

    /// A dataset of `count` elements produced by `fetch(index)`; `fetch` must be a pure
    /// function of the index (it is called again when a state is restored).
    public init(count: Int, name: String = "slices", fetch: @escaping @Sendable (Int) -> Element) {
        self.init(count: count, name: name, fetch: fetch, gather: nil)
    }

    @usableFromInline
    init(count: Int, name: String, fetch: @escaping @Sendable (Int) -> Element,
         gather: (@Sendable (UnsafeBufferPointer<Int>) -> Element)?) {
        self.count = Swift.max(0, count)
        self.name = name
        self.fetch = fetch
        self.gather = gather
    }

    /// The elements of an array.
    public init(_ elements: [Element]) where Element: Sendable {
        self.init(count: elements.count, name: "slices(array)") { elements[$0] }
    }

    public var cardinality: Cardinality { .finite(count) }

    /// The setting a saved state must match: the number of elements.
    var stateParameters: [String: String] { ["count": "\(count)"] }

    public func makeIterator(epoch: UInt64) -> Iterator { Iterator(dataset: self, position: 0) }

    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        try state.expect("slices", counters: 1, parameters: stateParameters)
        let position = state.counters[0]
        guard position >= 0 && position <= count else {
            throw DatasetError.incompatibleState(expected: "slices of \(count) elements",
                                                 found: "slices at position \(position)")
        }
        return Iterator(dataset: self, position: position)
    }

    /// Iterates the slices in order.
    public struct Iterator: DatasetIterator {
        let dataset: Slices
        var position: Int

        public mutating func next() -> Element? {
            guard position < dataset.count else { return nil }
            defer { position += 1 }
            return dataset.fetch(position)
        }

        /// `counters`: [position]; `parameters`: count.
        public var state: IteratorState {
            IteratorState(kind: "slices", counters: [position], parameters: dataset.stateParameters)
        }
    }
}

extension Slices {
    /// The rows of `tensor` along its leading dimension.
    /// - Throws: ``DatasetError/invalidArgument(stage:reason:)`` for a scalar tensor.
    @inlinable
    public init<A>(_ tensor: Tensor<A>) throws where Element == Tensor<A> {
        let reader = try RowReader(tensor, source: "slices")
        self.init(count: reader.rows, name: "slices\(tensor.shape)", fetch: { reader.row($0) },
                  gather: { reader.gather($0) })
    }

    /// Pairs of rows of `features` and `labels`, which must have the same leading dimension.
    /// - Throws: ``DatasetError/lengthMismatch(source:expected:found:)`` when the row counts differ.
    @inlinable
    public init<A, B>(_ features: Tensor<A>, _ labels: Tensor<B>) throws
    where Element == (Tensor<A>, Tensor<B>) {
        let name = "slices(features \(features.shape), labels \(labels.shape))"
        let x = try RowReader(features, source: name)
        let y = try RowReader(labels, source: name)
        guard x.rows == y.rows else {
            throw DatasetError.lengthMismatch(source: name, expected: x.rows, found: y.rows)
        }
        self.init(count: x.rows, name: name, fetch: { (x.row($0), y.row($0)) },
                  gather: { indices in
                      y.prefetch(indices)  // the labels arrive while the features are copied
                      return (x.gather(indices), y.gather(indices))
                  })
    }
}

/// Copies rows out of a tensor without re-deriving the row shape each time (the shape array is
/// shared by every row, so a row costs one allocation).
@usableFromInline
struct RowReader<Scalar: TensorScalar>: Sendable {
    @usableFromInline let tensor: Tensor<Scalar>
    @usableFromInline let rows: Int
    @usableFromInline let width: Int
    @usableFromInline let rowShape: [Int]

    @usableFromInline
    init(_ tensor: Tensor<Scalar>, source: String) throws {
        guard tensor.rank >= 1 else {
            throw DatasetError.invalidArgument(
                stage: source, reason: "cannot slice a scalar tensor (shape []); give it a leading dimension")
        }
        self.tensor = tensor
        self.rows = tensor.rowCount
        self.rowShape = tensor.rowShape
        self.width = tensor.rowScalarCount
    }

    @inlinable
    func row(_ index: Int) -> Tensor<Scalar> {
        let width = self.width
        // Never ask for zero uninitialized capacity: the stdlib then writes the count into the
        // shared empty-array storage, a race ThreadSanitizer reports against any other reader.
        guard width > 0 else { return Tensor(validatedShape: rowShape, scalars: []) }
        let scalars = tensor.withUnsafeBufferPointer { source in
            [Scalar](unsafeUninitializedCapacity: width) { buffer, initialized in
                if width > 0 {
                    _ = buffer.initialize(from: source[(index * width)..<((index + 1) * width)])
                }
                initialized = width
            }
        }
        return Tensor(validatedShape: rowShape, scalars: scalars)
    }

    /// Starts loading the first cache line of the rows at `indices` (all in range) into the cache.
    @inlinable
    func prefetch(_ indices: UnsafeBufferPointer<Int>) {
        tensor.withUnsafeBufferPointer { source in
            guard let from = source.baseAddress else { return }
            prefetchRows(from: UnsafeRawPointer(from), rowBytes: width * MemoryLayout<Scalar>.stride, indices: indices)
        }
    }

    /// The rows at `indices` (all in range by construction), stacked: one allocation, and the rows
    /// copied straight into the batch buffer.
    @inlinable
    func gather(_ indices: UnsafeBufferPointer<Int>) -> Tensor<Scalar> {
        let width = self.width, total = indices.count * width
        // Zero capacity would write to the shared empty-array storage (see `row(_:)`).
        guard total > 0 else { return Tensor(validatedShape: [indices.count] + rowShape, scalars: []) }
        let scalars = tensor.withUnsafeBufferPointer { source in
            [Scalar](unsafeUninitializedCapacity: total) { buffer, initialized in
                if total > 0, let from = source.baseAddress, let to = buffer.baseAddress {
                    if width == 1 {
                        for (k, index) in indices.enumerated() { (to + k).initialize(to: from[index]) }
                    } else if !_isPOD(Scalar.self) {
                        for (k, index) in indices.enumerated() {
                            (to + k * width).initialize(from: from + index * width, count: width)
                        }
                    } else {
                        // Trivial scalars (every numeric type): a byte copy initializes them.
                        gatherRows(from: UnsafeRawPointer(from), rowBytes: width * MemoryLayout<Scalar>.stride,
                                   indices: indices, into: UnsafeMutableRawPointer(to))
                    }
                }
                initialized = total
            }
        }
        return Tensor(validatedShape: [indices.count] + rowShape, scalars: scalars)
    }
}

extension Tensor {
    /// A tensor whose scalar count the caller has already matched to `shape`.
    @inlinable
    init(validatedShape shape: [Int], scalars: [Scalar]) {
        do { self = try Tensor(shape: shape, scalars: scalars) } catch {
            preconditionFailure("internal error: \(error)")
        }
    }
}
