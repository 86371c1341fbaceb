/// A dataset as an `AsyncSequence`, for `for try await` loops in async code. Each element is
/// produced synchronously on the calling task (put `prefetch` in the pipeline to overlap work).
///
/// ```swift
/// for try await (x, y) in try Slices(x, y).batch(32).async { step(x, y) }
/// ```
public struct AsyncDataset<Base: Dataset>: AsyncSequence {
    public typealias Element = Base.Element
    /// The dataset iterated.
    public let base: Base
    /// The epoch the pass is made for (shuffles reshuffle per epoch).
    public let epoch: UInt64

    /// A fresh pass over ``base`` for ``epoch``.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeIterator(epoch: epoch)) }

    /// Wraps one pass.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.Iterator
        /// The next element, computed synchronously on the calling task.
        public mutating func next() async throws -> Base.Element? { try base.next() }
    }
}

extension Dataset {
    /// One pass (epoch 0 unless given) as an `AsyncSequence`.
    public var async: AsyncDataset<Self> { AsyncDataset(base: self, epoch: 0) }

    /// Pass `epoch` as an `AsyncSequence`.
    public func async(epoch: UInt64) -> AsyncDataset<Self> { AsyncDataset(base: self, epoch: epoch) }
}
