import Tensors

/// A base dataset passed over `count` times, or forever.
///
/// Pass `k` is made with `makeIterator(epoch:)` for epoch `k` (when this repeat itself runs in
/// epoch `e > 0`, for `derivedSeed(e, k)`), so a shuffle below reshuffles on every pass. A
/// forever-repeat of an empty pass ends instead of spinning, as in tf.data.
///
/// ```swift
/// try RangeDataset(0..<3).repeat(2).collect()        // [0, 1, 2, 0, 1, 2]
/// RangeDataset(0..<3).repeat().cardinality           // .infinite
/// ```
public struct Repeated<Base: Dataset>: Dataset {
    public typealias Element = Base.Element
    /// The dataset passed over again.
    public let base: Base
    /// The number of passes; `nil` repeats forever.
    public let count: Int?

    public var cardinality: Cardinality {
        switch (base.cardinality, count) {
        case (.finite(0), _): return .finite(0)
        case (_, 0): return .finite(0)
        case let (.finite(n), .some(k)): return .finite(n * k)
        case (.finite, nil), (.infinite, _): return .infinite
        default: return .unknown
        }
    }

    /// The setting a saved state must match: the number of passes.
    var stateParameters: [String: String] { ["count": count.map { "\($0)" } ?? "forever"] }

    static func passEpoch(_ epoch: UInt64, _ pass: Int) -> UInt64 {
        epoch == 0 ? UInt64(pass) : SplitMix64.derivedSeed(epoch, UInt64(pass))
    }

    public func makeIterator(epoch: UInt64) -> Iterator {
        Iterator(dataset: self, current: base.makeIterator(epoch: Self.passEpoch(epoch, 0)), epoch: epoch)
    }

    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        try state.expect("repeat", counters: 3, seeds: 1, children: 1, parameters: stateParameters)
        var iterator = Iterator(dataset: self, current: try base.makeIterator(resumingFrom: state.children[0]),
                                epoch: state.seeds[0])
        iterator.pass = state.counters[0]
        iterator.yieldedThisPass = state.counters[1] != 0
        iterator.finished = state.counters[2] != 0
        return iterator
    }

    /// Runs the passes one after the other.
    public struct Iterator: DatasetIterator {
        let dataset: Repeated
        var current: Base.Iterator
        let epoch: UInt64
        var pass = 0
        var yieldedThisPass = false
        var finished = false

        init(dataset: Repeated, current: Base.Iterator, epoch: UInt64) {
            self.dataset = dataset
            self.current = current
            self.epoch = epoch
            if let count = dataset.count, count == 0 { finished = true }
        }

        public mutating func next() throws -> Element? {
            while !finished {
                if let element = try current.next() {
                    yieldedThisPass = true
                    return element
                }
                pass += 1
                if let count = dataset.count, count >= 0, pass >= count { finished = true; break }
                if !yieldedThisPass { finished = true; break }
                yieldedThisPass = false
                current = dataset.base.makeIterator(epoch: Repeated.passEpoch(epoch, pass))
            }
            return nil
        }

        /// `counters`: [pass, yielded in this pass 0/1, finished 0/1]; `seeds`: [epoch];
        /// `children`: [the current pass]; `parameters`: count.
        public var state: IteratorState {
            IteratorState(kind: "repeat", counters: [pass, yieldedThisPass ? 1 : 0, finished ? 1 : 0],
                          seeds: [epoch], children: [current.state], parameters: dataset.stateParameters)
        }
    }
}

extension Dataset {
    /// Repeats the dataset `count` times; `nil` (or a negative count) repeats forever.
    public func `repeat`(_ count: Int? = nil) -> Repeated<Self> {
        Repeated(base: self, count: count.flatMap { $0 < 0 ? nil : $0 })
    }
}
