/// The integers of a range, in order: tf.data's `Dataset.range`.
///
/// ```swift
/// try RangeDataset(0..<10).shard(count: 3, index: 1).collect()      // [1, 4, 7]
/// ```
public struct RangeDataset: Dataset {
    /// The integers yielded.
    public let range: Range<Int>

    /// The integers of `range`, in order; mostly for tests and examples.
    public init(_ range: Range<Int>) { self.range = range }

    public var cardinality: Cardinality { .finite(range.count) }

    /// The setting a saved state must match: the range.
    static func stateParameters(_ range: Range<Int>) -> [String: String] { ["range": "\(range)"] }

    public func makeIterator(epoch: UInt64) -> Iterator { Iterator(range: range, position: 0) }

    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        try state.expect("range", counters: 1, parameters: Self.stateParameters(range))
        guard (0...range.count).contains(state.counters[0]) else {
            throw DatasetError.incompatibleState(expected: "range \(range)",
                                                 found: "range at position \(state.counters[0])")
        }
        return Iterator(range: range, position: state.counters[0])
    }

    /// Iterates the range.
    public struct Iterator: DatasetIterator {
        let range: Range<Int>
        var position: Int

        public mutating func next() -> Int? {
            guard position < range.count else { return nil }
            defer { position += 1 }
            return range.lowerBound + position
        }

        /// `counters`: [position]; `parameters`: range.
        public var state: IteratorState {
            IteratorState(kind: "range", counters: [position], parameters: RangeDataset.stateParameters(range))
        }
    }
}
