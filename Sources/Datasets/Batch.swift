import Tensors

/// Consecutive elements of a base dataset grouped into batches of `size` (the last one shorter
/// unless `dropRemainder`). `(Tensor, Tensor)` pairs stack into a pair of tensors with a leading
/// batch dimension, tensors into one tensor, and any other element into an array.
///
/// ```swift
/// try RangeDataset(0..<10).batch(3).collect()      // [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
/// let (x, y) = try Slices(features, labels).batch(32).makeIterator().next()!   // [32, d], [32]
/// ```
public struct Batched<Base: Dataset, Element>: Dataset {
    public let base: Base
    public let size: Int
    public let dropRemainder: Bool
    @usableFromInline let stack: @Sendable ([Base.Element], _ firstIndex: Int) throws -> Element

    @usableFromInline
    init(base: Base, size: Int, dropRemainder: Bool,
         stack: @escaping @Sendable ([Base.Element], _ firstIndex: Int) throws -> Element) {
        self.base = base
        self.size = size
        self.dropRemainder = dropRemainder
        self.stack = stack
    }

    public var cardinality: Cardinality {
        guard size > 0 else { return .unknown }
        switch base.cardinality {
        case let .finite(n): return .finite(dropRemainder ? n / size : (n + size - 1) / size)
        case .infinite: return .infinite
        case .unknown: return .unknown
        }
    }

    public func makeIterator(epoch: UInt64) -> Iterator {
        Iterator(dataset: self, base: base.makeIterator(epoch: epoch), batches: 0)
    }

    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        try state.expect("batch", counters: 1, children: 1)
        return Iterator(dataset: self, base: try base.makeIterator(resumingFrom: state.children[0]),
                        batches: state.counters[0])
    }

    /// Pulls `size` elements per batch.
    public struct Iterator: DatasetIterator {
        let dataset: Batched
        var base: Base.Iterator
        var batches: Int

        public mutating func next() throws -> Element? {
            let size = dataset.size
            guard size >= 1 else {
                throw DatasetError.invalidArgument(stage: "batch", reason: "the batch size must be >= 1, got \(size)")
            }
            var pending: [Base.Element] = []
            pending.reserveCapacity(size)
            while pending.count < size, let element = try base.next() { pending.append(element) }
            guard !pending.isEmpty, pending.count == size || !dataset.dropRemainder else { return nil }
            defer { batches += 1 }
            return try dataset.stack(pending, batches * size)
        }

        /// `counters`: [batches delivered]; `children`: [base].
        public var state: IteratorState {
            IteratorState(kind: "batch", counters: [batches], children: [base.state])
        }
    }
}

extension Dataset {
    /// Groups elements into arrays of `size` (chosen only when no tensor overload applies).
    @_disfavoredOverload @inlinable
    public func batch(_ size: Int, dropRemainder: Bool = false) -> Batched<Self, [Element]> {
        Batched(base: self, size: size, dropRemainder: dropRemainder) { elements, _ in elements }
    }

    /// Stacks tensors into one tensor with a leading batch dimension.
    @inlinable
    public func batch<A>(_ size: Int, dropRemainder: Bool = false) -> Batched<Self, Tensor<A>>
    where Element == Tensor<A> {
        Batched(base: self, size: size, dropRemainder: dropRemainder) { elements, first in
            try stackChecked(elements, firstIndex: first)
        }
    }

    /// Stacks `(features, label)` pairs into `(features batch, labels batch)`.
    @inlinable
    public func batch<A, B>(_ size: Int, dropRemainder: Bool = false) -> Batched<Self, (Tensor<A>, Tensor<B>)>
    where Element == (Tensor<A>, Tensor<B>) {
        Batched(base: self, size: size, dropRemainder: dropRemainder) { elements, first in
            (try stackChecked(elements.map { $0.0 }, firstIndex: first),
             try stackChecked(elements.map { $0.1 }, firstIndex: first))
        }
    }
}

/// `Tensor.stacking`, with a mismatch reported as the dataset element that broke it.
@inlinable
func stackChecked<A>(_ tensors: [Tensor<A>], firstIndex: Int) throws -> Tensor<A> {
    let shape = tensors[0].shape
    for (offset, tensor) in tensors.enumerated() where tensor.shape != shape {
        throw DatasetError.shapeMismatch(stage: "batch", index: firstIndex + offset,
                                         expected: shape, found: tensor.shape)
    }
    return try Tensor.stacking(tensors)
}
