import Tensors

/// The elements of a base dataset in a seeded random order, by tf.data's buffer algorithm:
/// fill a buffer with the first `bufferSize` elements; each `next()` tops the buffer up from the
/// input, picks a slot uniformly at random, emits it, and fills the hole with the last slot.
/// With `bufferSize >= count` every permutation is equally likely; `bufferSize == 1` is the
/// identity; element `k` of the output always comes from the first `k + bufferSize` inputs.
///
/// Pass `e` draws from `SplitMix64(seed: derivedSeed(seed, e))` when `reshuffleEachIteration`
/// is true (and from epoch 0's stream otherwise), so `shuffle(...).repeat()` gives a new
/// permutation each epoch and the same ones on every run.
///
/// The iterator state saves the generator, the input *ordinals* of the buffered elements (not
/// the elements), and a snapshot of the input from which those elements are re-read on restore.
///
/// ```swift
/// try RangeDataset(0..<5).shuffle(bufferSize: 5, seed: 42).collect()   // a permutation of 0..<5
/// let unseeded = RangeDataset(0..<5).shuffle(bufferSize: 5)
/// print(unseeded.seed)                                                  // reproduce with this
/// ```
public struct Shuffled<Base: Dataset>: Dataset {
    public typealias Element = Base.Element
    /// The dataset whose order is shuffled.
    public let base: Base
    /// Elements held for sampling: the shuffle is uniform only when it covers the whole dataset.
    public let bufferSize: Int
    /// The seed (drawn from the system generator once, when the dataset was built, if none was
    /// given; read it here to reproduce a run).
    public let seed: UInt64
    /// Whether each epoch draws a new order (from a seed derived from `seed` and the epoch).
    public let reshuffleEachIteration: Bool

    public var cardinality: Cardinality { base.cardinality }

    func passSeed(_ epoch: UInt64) -> UInt64 {
        SplitMix64.derivedSeed(seed, reshuffleEachIteration ? epoch : 0)
    }

    var snapshotInterval: Int { Swift.max(bufferSize, 256) }

    /// The settings a saved state must match: buffer size, seed and reshuffle flag.
    var stateParameters: [String: String] {
        ["bufferSize": "\(bufferSize)", "seed": "\(seed)", "reshuffleEachIteration": "\(reshuffleEachIteration)"]
    }

    public func makeIterator(epoch: UInt64) -> Iterator {
        let input = base.makeIterator(epoch: epoch)
        return Iterator(base: input, bufferSize: bufferSize, epoch: epoch,
                        rng: SplitMix64(seed: passSeed(epoch)),
                        log: ReplayLog(initial: input.state, interval: snapshotInterval), parameters: stateParameters)
    }

    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        try state.expect("shuffle", counters: 3, seeds: 2, children: 1, parameters: stateParameters)
        let pulled = state.counters[0], from = state.counters[1]
        var input = try base.makeIterator(resumingFrom: state.children[0])
        var slotOf: [Int: Int] = [:]
        for (slot, ordinal) in state.indices.enumerated() {
            guard ordinal >= from && ordinal < pulled, slotOf.updateValue(slot, forKey: ordinal) == nil else {
                throw DatasetError.incompatibleState(expected: "shuffle buffer ordinals in \(from)..<\(pulled)",
                                                     found: "ordinal \(ordinal)")
            }
        }
        var buffer = [Element?](repeating: nil, count: state.indices.count)
        for ordinal in from..<Swift.max(from, pulled) {
            guard let element = try input.next() else {
                throw DatasetError.incompatibleState(expected: "shuffle input of \(pulled) elements",
                                                     found: "an input that ended after \(ordinal)")
            }
            if let slot = slotOf[ordinal] { buffer[slot] = element }
        }
        var iterator = Iterator(base: input, bufferSize: bufferSize, epoch: state.seeds[1],
                                rng: SplitMix64(state: state.seeds[0]),
                                log: ReplayLog(initial: state.children[0], at: from, interval: snapshotInterval),
                                parameters: stateParameters)
        iterator.buffer = buffer.map { $0! }
        iterator.ordinals = state.indices
        iterator.pulled = pulled
        iterator.exhausted = state.counters[2] != 0
        return iterator
    }

    /// One shuffled pass.
    public struct Iterator: DatasetIterator {
        var base: Base.Iterator
        let bufferSize: Int
        let epoch: UInt64
        var rng: SplitMix64
        var log: ReplayLog
        /// The dataset's `stateParameters`, computed once.
        let parameters: [String: String]
        var buffer: [Element] = []
        var ordinals: [Int] = []
        var pulled = 0
        var exhausted = false

        init(base: Base.Iterator, bufferSize: Int, epoch: UInt64, rng: SplitMix64, log: ReplayLog,
             parameters: [String: String]) {
            self.base = base
            self.bufferSize = bufferSize
            self.epoch = epoch
            self.rng = rng
            self.log = log
            self.parameters = parameters
        }

        public mutating func next() throws -> Element? {
            guard bufferSize >= 1 else {
                throw DatasetError.invalidArgument(stage: "shuffle", reason: "bufferSize must be >= 1, got \(bufferSize)")
            }
            while !exhausted && buffer.count < bufferSize {
                guard let element = try base.next() else { exhausted = true; break }
                if buffer.isEmpty { buffer.reserveCapacity(bufferSize); ordinals.reserveCapacity(bufferSize) }
                buffer.append(element)
                ordinals.append(pulled)
                pulled += 1
                if log.isDue(pulled) {
                    log.record(pulled, base.state)
                    log.prune(before: ordinals.min() ?? pulled)
                }
            }
            guard !buffer.isEmpty else { return nil }
            let slot = rng.nextIndex(below: buffer.count)
            buffer.swapAt(slot, buffer.count - 1)
            ordinals.swapAt(slot, ordinals.count - 1)
            ordinals.removeLast()
            return buffer.removeLast()
        }

        /// `counters`: [input elements pulled, snapshot ordinal, input exhausted 0/1];
        /// `seeds`: [generator state, epoch]; `indices`: input ordinals of the buffered elements;
        /// `children`: [input state at the snapshot ordinal]; `parameters`: bufferSize, seed,
        /// reshuffleEachIteration.
        public var state: IteratorState {
            let oldest = ordinals.min() ?? pulled
            let point = log.resumePoint(for: oldest)
            return IteratorState(kind: "shuffle", counters: [pulled, point.ordinal, exhausted ? 1 : 0],
                                 seeds: [rng.state, epoch], indices: ordinals, children: [point.state],
                                 parameters: parameters)
        }
    }
}

extension Dataset {
    /// Shuffles with a buffer of `bufferSize` elements (see ``Shuffled``). Without a `seed`, one
    /// is drawn now from the system generator and kept in the returned dataset's `seed`.
    public func shuffle(bufferSize: Int, seed: UInt64? = nil,
                        reshuffleEachIteration: Bool = true) -> Shuffled<Self> {
        var system = SystemRandomNumberGenerator()
        return Shuffled(base: self, bufferSize: bufferSize, seed: seed ?? system.next(),
                        reshuffleEachIteration: reshuffleEachIteration)
    }
}
