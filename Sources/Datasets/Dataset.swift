/// A lazy, seeded, resumable description of a stream of elements: the tf.data of Swift.
///
/// ## The mental model
///
/// - **A dataset is a description, not a stream.** `Slices(x, y).shuffle(...).batch(32)`
///   builds a small value that says *how* to produce elements. Nothing is read, mapped or
///   shuffled until you make an iterator and pull from it, and pulling `n` batches from an
///   infinite `repeat()` costs O(n).
/// - **An iterator is one pass with fresh state.** ``makeIterator(epoch:)`` creates new
///   positions, buffers and generators every time. Two iterators of the same dataset made for
///   the same epoch yield the same elements, on every machine: all randomness comes from
///   `SplitMix64` seeded by the dataset's seed (a seedless `shuffle` draws its seed once, when
///   the dataset value is built, and exposes it as `seed`).
/// - **Epochs.** The `epoch` passed to ``makeIterator(epoch:)`` reaches every adaptor below;
///   `shuffle(reshuffleEachIteration: true)` seeds pass `e` with `SplitMix64.derivedSeed(seed, e)`,
///   and `repeat()` hands epoch `k` to its `k`-th pass. So `shuffle().repeat()` gives a new
///   permutation per epoch, while a trainer that makes a fresh iterator per epoch passes the
///   epoch number to get the same effect.
/// - **Iteration throws.** Sources do I/O, so ``DatasetIterator/next()`` is `throws`; errors are
///   ``DatasetError`` values naming the source or stage and the element index. Swift's
///   `IteratorProtocol` cannot throw, so a dataset is not a `Sequence`: loop with
///   `while let x = try it.next()`, with ``forEach(epoch:_:)-(_,(Self.Element)->Void)``, or asynchronously with
///   `for try await x in dataset.async`.
/// - **State is a value.** ``DatasetIterator/state`` captures where an iterator is (positions,
///   generator states, the source ordinals sitting in a shuffle buffer, the epoch) as a small
///   `Codable` ``IteratorState``; ``makeIterator(resumingFrom:)`` continues exactly there, in this
///   process or another one. For `prefetch` and parallel `map` the state describes the elements
///   already handed to the consumer, never the producer's lookahead.
/// - **Order is never changed by concurrency.** `prefetch` and `map(parallelism:)` run work on
///   Dispatch queues but always deliver elements in the order of the pipeline without them.
///
/// ```swift
/// let x = try Tensor<Double>(shape: [4, 1], scalars: [0, 1, 2, 3])
/// let y = Tensor<Int64>([0, 1, 0, 1])
/// let pipeline = try Slices(x, y)
///     .shuffle(bufferSize: 4, seed: 18).repeat().batch(2).prefetch(2)
/// var it = pipeline.makeIterator()
/// let (features, labels) = try it.next()!       // shapes [2, 1] and [2]
/// let saved = try it.state.encoded()            // JSON bytes, e.g. for a checkpoint
/// var resumed = try pipeline.makeIterator(resumingFrom: IteratorState(encoded: saved))
/// ```
public protocol Dataset<Element>: Sendable {
    /// The type of the elements this dataset yields.
    associatedtype Element
    /// The iterator that performs one pass.
    associatedtype Iterator: DatasetIterator<Element>

    /// A fresh iterator for pass number `epoch` (adaptors below see the same epoch; `repeat`
    /// gives each of its passes its own).
    func makeIterator(epoch: UInt64) -> Iterator

    /// An iterator continuing exactly where the iterator whose ``DatasetIterator/state`` was
    /// `state` stood.
    /// - Throws: ``DatasetError/incompatibleState(expected:found:)`` when the state was taken
    ///   from a differently built pipeline, ``DatasetError/mismatchedState(stage:parameter:saved:current:)``
    ///   when a stage's setting (seed, buffer or batch size, count, source length) differs from
    ///   the one saved, or any error the replay of a source raises.
    func makeIterator(resumingFrom state: IteratorState) throws -> Iterator

    /// How many elements one pass yields, where that can be known without iterating.
    var cardinality: Cardinality { get }
}

extension Dataset {
    /// A fresh iterator for epoch 0.
    public func makeIterator() -> Iterator { makeIterator(epoch: 0) }

    /// Calls `body` with every element of one pass (epoch 0 unless given).
    /// Return `false` from `body` to stop early.
    public func forEach(epoch: UInt64 = 0, _ body: (Element) throws -> Bool) throws {
        var iterator = makeIterator(epoch: epoch)
        while let element = try iterator.next() {
            if try !body(element) { return }
        }
    }

    /// Calls `body` with every element of one pass (epoch 0 unless given).
    public func forEach(epoch: UInt64 = 0, _ body: (Element) throws -> Void) throws {
        var iterator = makeIterator(epoch: epoch)
        while let element = try iterator.next() { try body(element) }
    }

    /// The elements of one pass as an array, at most `limit` of them.
    /// - Throws: ``DatasetError/infiniteDataset(operation:)`` for an infinite dataset without a limit.
    public func collect(limit: Int? = nil, epoch: UInt64 = 0) throws -> [Element] {
        if limit == nil, cardinality == .infinite {
            throw DatasetError.infiniteDataset(operation: "collect")
        }
        var out: [Element] = []
        var iterator = makeIterator(epoch: epoch)
        while limit.map({ out.count < $0 }) ?? true, let element = try iterator.next() {
            out.append(element)
        }
        return out
    }
}
