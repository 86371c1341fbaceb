import Tensors

/// Consecutive elements of a base dataset grouped into batches of `size` (the last one shorter
/// unless `dropRemainder`). `(Tensor, Tensor)` pairs stack into a pair of tensors with a leading
/// batch dimension, tensors into one tensor, and any other element into an array.
///
/// ```swift
/// try RangeDataset(0..<10).batch(3).collect()      // [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
/// var batches = try Slices(x, y).batch(32).makeIterator()
/// let (xb, yb) = try batches.next()!      // x [N, d], y [N, 1] -> xb [32, d], yb [32, 1]
/// ```
public struct Batched<Base: Dataset, Element>: Dataset {
    /// The dataset whose elements are grouped.
    public let base: Base
    /// Elements per batch; the last batch of a pass may be smaller.
    public let size: Int
    /// Whether a last, short batch is dropped, so that every batch has `size` rows.
    public let dropRemainder: Bool
    @usableFromInline let stack: @Sendable ([Base.Element], _ firstIndex: Int) throws -> Element
    /// For tensor batches, a batch *is* a stacked base element: when the base is a shuffle /
    /// repeat of tensor `Slices`, rows are gathered by index straight into the batch (see
    /// `RowIndices`) and this turns the gathered value into the batch type.
    @usableFromInline let fromStacked: (@Sendable (Base.Element) -> Element)?

    @usableFromInline
    init(base: Base, size: Int, dropRemainder: Bool,
         fromStacked: (@Sendable (Base.Element) -> Element)? = nil,
         stack: @escaping @Sendable ([Base.Element], _ firstIndex: Int) throws -> Element) {
        self.base = base
        self.size = size
        self.dropRemainder = dropRemainder
        self.fromStacked = fromStacked
        self.stack = stack
    }

    /// The index order and row gatherer for the fast path, when the base has them.
    private var gatherPlan: (indices: RowIndices, gather: @Sendable (UnsafeBufferPointer<Int>) -> Base.Element)? {
        guard fromStacked != nil, let indexed = base as? any RowIndexed, let indices = indexed.rowIndices,
              let gather = indexed.rowGatherer(as: Base.Element.self) else { return nil }
        return (indices, gather)
    }

    /// The settings a saved state must match: the batch size and `dropRemainder`.
    var stateParameters: [String: String] { ["size": "\(size)", "dropRemainder": "\(dropRemainder)"] }

    public var cardinality: Cardinality {
        guard size > 0 else { return .unknown }
        switch base.cardinality {
        case let .finite(n): return .finite(dropRemainder ? n / size : (n + size - 1) / size)
        case .infinite: return .infinite
        case .unknown: return .unknown
        }
    }

    public func makeIterator(epoch: UInt64) -> Iterator {
        if let plan = gatherPlan {
            return Iterator(dataset: self, rows: IndexBatcher(indices: plan.indices.makeIterator(epoch: epoch)),
                            gather: plan.gather, batches: 0)
        }
        return Iterator(dataset: self, base: base.makeIterator(epoch: epoch), batches: 0)
    }

    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        try state.expect("batch", counters: 1, children: 1, parameters: stateParameters)
        if let plan = gatherPlan {
            return Iterator(dataset: self, rows: IndexBatcher(indices: try plan.indices.makeIterator(resumingFrom: state.children[0])),
                            gather: plan.gather, batches: state.counters[0])
        }
        return Iterator(dataset: self, base: try base.makeIterator(resumingFrom: state.children[0]),
                        batches: state.counters[0])
    }

    /// Pulls `size` elements per batch.
    public struct Iterator: DatasetIterator {
        let dataset: Batched
        /// Exactly one of `base` (element by element) and `rows` (gather by index) is set.
        var base: Base.Iterator?
        var rows: IndexBatcher?
        let gather: (@Sendable (UnsafeBufferPointer<Int>) -> Base.Element)?
        var batches: Int

        init(dataset: Batched, base: Base.Iterator? = nil, rows: IndexBatcher? = nil,
             gather: (@Sendable (UnsafeBufferPointer<Int>) -> Base.Element)? = nil, batches: Int) {
            self.dataset = dataset
            self.base = base
            self.rows = rows
            self.gather = gather
            self.batches = batches
        }

        public mutating func next() throws -> Element? {
            let size = dataset.size
            guard size >= 1 else {
                throw DatasetError.invalidArgument(stage: "batch", reason: "the batch size must be >= 1, got \(size)")
            }
            if rows != nil {
                guard try rows!.fill(size, dropRemainder: dataset.dropRemainder) else { return nil }
                batches += 1
                return dataset.fromStacked!(rows!.scratch.withUnsafeBufferPointer { gather!($0) })
            }
            var pending: [Base.Element] = []
            pending.reserveCapacity(size)
            while pending.count < size, let element = try base!.next() { pending.append(element) }
            guard !pending.isEmpty, pending.count == size || !dataset.dropRemainder else { return nil }
            defer { batches += 1 }
            return try dataset.stack(pending, batches * size)
        }

        /// `counters`: [batches delivered]; `children`: [base]; `parameters`: size, dropRemainder.
        public var state: IteratorState {
            IteratorState(kind: "batch", counters: [batches], children: [rows?.indices.state ?? base!.state],
                          parameters: dataset.stateParameters)
        }
    }
}

/// The fast path's index side: pulls each batch's source-row indices. Not generic, so the
/// per-index loop runs specialized code with no generic-metadata lookups.
struct IndexBatcher {
    var indices: RowIndices.Iterator
    var scratch: [Int] = []

    init(indices: RowIndices.Iterator) { self.indices = indices }

    /// Pulls up to `size` indices into `scratch` (as many as the element path would pull);
    /// `false` when there is no batch to make.
    mutating func fill(_ size: Int, dropRemainder: Bool) throws -> Bool {
        scratch.removeAll(keepingCapacity: true)
        scratch.reserveCapacity(size)
        while scratch.count < size, let index = try indices.next() { scratch.append(index) }
        return !scratch.isEmpty && (scratch.count == size || !dropRemainder)
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
        Batched(base: self, size: size, dropRemainder: dropRemainder, fromStacked: { $0 }, stack: stackChecked)
    }

    /// Stacks `(features, label)` pairs into `(features batch, labels batch)`.
    @inlinable
    public func batch<A, B>(_ size: Int, dropRemainder: Bool = false) -> Batched<Self, (Tensor<A>, Tensor<B>)>
    where Element == (Tensor<A>, Tensor<B>) {
        Batched(base: self, size: size, dropRemainder: dropRemainder, fromStacked: { $0 }, stack: stackPairsChecked)
    }
}

/// `(features, label)` pairs stacked into `(features batch, labels batch)` by ``stackChecked(_:firstIndex:)``.
@inlinable
func stackPairsChecked<A, B>(_ pairs: [(Tensor<A>, Tensor<B>)], firstIndex: Int) throws -> (Tensor<A>, Tensor<B>) {
    (try stackChecked(pairs.map { $0.0 }, firstIndex: firstIndex), try stackChecked(pairs.map { $0.1 }, firstIndex: firstIndex))
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
