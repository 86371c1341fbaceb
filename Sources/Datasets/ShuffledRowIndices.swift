import Tensors

/// `Shuffled<Slices<Int>>` over the rows `0..<count`, with one buffer instead of two: the index
/// side of the gather fast path (see ``RowIndices``).
///
/// Over the row indices of a `Slices` source, the element a `Shuffled` buffer holds is always
/// its own input ordinal (the source yields row `k` as its `k`-th element), so the element
/// buffer and the ordinal buffer are the same array and `Shuffled` keeps and permutes both.
/// This iterator keeps one, which halves the random memory traffic of every draw (60,000 slots
/// are 480 KB per array). It runs the same generator draws, buffer moves and replay log as
/// `Shuffled`, so the order and the ``IteratorState`` are identical; it is built from a
/// `Shuffled` iterator (fresh or restored), and keeps using that iterator whenever its element
/// buffer is not its ordinal buffer (only a hand-made state can do that).
///
/// ```swift
/// let rows = ShuffledRowIndices(count: 5, bufferSize: 5, seed: 42, reshuffleEachIteration: true)
/// try rows.collect()    // the same permutation of 0..<5 as Slices(count: 5) { $0 }.shuffle(...)
/// ```
struct ShuffledRowIndices: Dataset {
    typealias Element = Int
    /// The element-by-element equivalent, which also creates and restores the iterators.
    let shuffled: Shuffled<Slices<Int>>

    init(count: Int, bufferSize: Int, seed: UInt64, reshuffleEachIteration: Bool) {
        shuffled = Shuffled(base: Slices(count: count) { $0 }, bufferSize: bufferSize, seed: seed,
                            reshuffleEachIteration: reshuffleEachIteration)
    }

    var cardinality: Cardinality { shuffled.cardinality }

    func makeIterator(epoch: UInt64) -> Iterator { Iterator(shuffled.makeIterator(epoch: epoch)) }

    func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        Iterator(try shuffled.makeIterator(resumingFrom: state))
    }

    /// One shuffled pass over the row indices.
    struct Iterator: DatasetIterator {
        /// Set only when the restored buffer did not hold its own ordinals.
        private var general: Shuffled<Slices<Int>>.Iterator?
        private let count: Int
        private let bufferSize: Int
        private let epoch: UInt64
        private var rng: SplitMix64
        private var log: ReplayLog
        private let parameters: [String: String]
        /// What the input `Slices` records in its snapshots.
        private let sliceParameters: [String: String]
        /// The buffered rows, which are also their input ordinals.
        private var rows: [Int]
        private var pulled: Int
        private var exhausted: Bool

        init(_ inner: Shuffled<Slices<Int>>.Iterator) {
            count = inner.base.dataset.count
            bufferSize = inner.bufferSize
            epoch = inner.epoch
            rng = inner.rng
            log = inner.log
            parameters = inner.parameters
            sliceParameters = inner.base.dataset.stateParameters
            rows = inner.ordinals
            pulled = inner.pulled
            exhausted = inner.exhausted
            general = inner.base.position == inner.pulled && inner.buffer == inner.ordinals ? nil : inner
        }

        mutating func next() throws -> Int? {
            if general != nil { return try general!.next() }
            guard bufferSize >= 1 else {
                throw DatasetError.invalidArgument(stage: "shuffle", reason: "bufferSize must be >= 1, got \(bufferSize)")
            }
            while !exhausted && rows.count < bufferSize {
                guard pulled < count else { exhausted = true; break }
                if rows.isEmpty { rows.reserveCapacity(bufferSize) }
                rows.append(pulled)
                pulled += 1
                if log.isDue(pulled) {
                    log.record(pulled, IteratorState(kind: "slices", counters: [pulled], parameters: sliceParameters))
                    log.prune(before: rows.min() ?? pulled)
                }
            }
            guard !rows.isEmpty else { return nil }
            // `Shuffled`'s swap with the last slot and removal, as one move.
            let slot = rng.nextIndex(below: rows.count)
            let row = rows[slot]
            rows[slot] = rows[rows.count - 1]
            rows.removeLast()
            return row
        }

        /// Exactly `Shuffled.Iterator.state`, with the slices position equal to `pulled`.
        var state: IteratorState {
            if let general { return general.state }
            let point = log.resumePoint(for: rows.min() ?? pulled)
            return IteratorState(kind: "shuffle", counters: [pulled, point.ordinal, exhausted ? 1 : 0],
                                 seeds: [rng.state, epoch], indices: rows, children: [point.state], parameters: parameters)
        }
    }
}
