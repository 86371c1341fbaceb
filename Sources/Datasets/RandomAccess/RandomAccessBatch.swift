import Tensors

/// Consecutive elements of a random-access dataset grouped into batches of `size` (the last one
/// shorter unless `dropRemainder`), itself random-access: batch `b` is elements
/// `b * size ..< min((b + 1) * size, base.count)` of the base, read directly.
///
/// Tensor batches are *gathered*: the batch asks its base for ``RandomAccessDataset/stackedElements(at:epoch:)``,
/// which a shuffle, shard, slice or repeat answers by translating the indices and asking its
/// own base, down to tensor ``Slices``, which copy the rows straight into the batch's buffer.
/// A stage that cannot (a `map`, a closure-built source) answers `nil`, and the batch reads its
/// elements one by one and stacks them. Both give the same batch.
///
/// ```swift
/// try RangeDataset(0..<10).batch(3).collect()      // [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
/// try RangeDataset(0..<10).batch(3).element(at: 2) // [6, 7, 8]
/// ```
public struct RandomAccessBatched<Base: RandomAccessDataset, Element>: RandomAccessDataset {
    public typealias Iterator = RandomAccessIterator<Self>
    /// The dataset whose elements are grouped.
    public let base: Base
    /// Elements per batch; the last batch of a pass may be smaller.
    public let size: Int
    /// Whether a last, short batch is dropped, so that every batch has `size` elements.
    public let dropRemainder: Bool
    @usableFromInline let stack: @Sendable ([Base.Element], _ firstIndex: Int) throws -> Element
    /// Turns a gathered (stacked) base element into a batch; `nil` for array batches.
    @usableFromInline let fromStacked: (@Sendable (Base.Element) -> Element)?

    @usableFromInline
    init(base: Base, size: Int, dropRemainder: Bool, fromStacked: (@Sendable (Base.Element) -> Element)? = nil,
         stack: @escaping @Sendable ([Base.Element], _ firstIndex: Int) throws -> Element) {
        self.base = base
        self.size = size
        self.dropRemainder = dropRemainder
        self.fromStacked = fromStacked
        self.stack = stack
    }

    public var count: Int {
        guard size >= 1 else { return 0 }
        let n = base.count
        if n == .max { return .max }
        return dropRemainder || n % size == 0 ? n / size : n / size + 1
    }

    public func element(at index: Int) throws -> Element { try element(at: index, epoch: 0) }

    public func element(at index: Int, epoch: UInt64) throws -> Element {
        try validate()
        try checkIndex(index, source: "batch")
        let first = index * size, end = Swift.min(first + size, base.count)
        let indices = Array(first..<end)
        if let fromStacked, let stacked = try base.stackedElements(at: indices, epoch: epoch) {
            return fromStacked(stacked)
        }
        return try stack(indices.map { try base.element(at: $0, epoch: epoch) }, first)
    }

    public var accessStages: [RandomAccessStage] {
        base.accessStages + [RandomAccessStage(kind: "batch", parameters: ["size": "\(size)", "dropRemainder": "\(dropRemainder)"])]
    }

    public func validate() throws {
        try base.validate()
        guard size >= 1 else {
            throw DatasetError.invalidArgument(stage: "batch", reason: "the batch size must be >= 1, got \(size)")
        }
    }

    public func globalPosition(afterYielding position: Int) -> Int? {
        let (rows, overflow) = position.multipliedReportingOverflow(by: Swift.max(size, 1))
        return base.globalPosition(afterYielding: overflow ? base.count : Swift.min(rows, base.count))
    }

    public func resumingShards(atGlobalPosition globalPosition: Int) -> Self {
        RandomAccessBatched(base: base.resumingShards(atGlobalPosition: globalPosition), size: size,
                            dropRemainder: dropRemainder, fromStacked: fromStacked, stack: stack)
    }
}

extension RandomAccessDataset {
    /// Groups elements into arrays of `size` (chosen only when no tensor overload applies).
    @_disfavoredOverload @inlinable
    public func batch(_ size: Int, dropRemainder: Bool = false) -> RandomAccessBatched<Self, [Element]> {
        RandomAccessBatched(base: self, size: size, dropRemainder: dropRemainder) { elements, _ in elements }
    }

    /// Stacks tensors into one tensor with a leading batch dimension, gathering rows straight
    /// from tensor slices when every stage below can translate indices.
    @inlinable
    public func batch<A>(_ size: Int, dropRemainder: Bool = false) -> RandomAccessBatched<Self, Tensor<A>>
    where Element == Tensor<A> {
        RandomAccessBatched(base: self, size: size, dropRemainder: dropRemainder, fromStacked: { $0 }, stack: stackChecked)
    }

    /// Stacks `(features, label)` pairs into `(features batch, labels batch)`, gathering rows
    /// straight from tensor slices when every stage below can translate indices.
    @inlinable
    public func batch<A, B>(_ size: Int, dropRemainder: Bool = false) -> RandomAccessBatched<Self, (Tensor<A>, Tensor<B>)>
    where Element == (Tensor<A>, Tensor<B>) {
        RandomAccessBatched(base: self, size: size, dropRemainder: dropRemainder, fromStacked: { $0 }, stack: stackPairsChecked)
    }
}
