/// Elements produced by a closure of the element index: `generate(i)` returns element `i`, or
/// `nil` to end the pass. The closure may throw (for I/O); the error reaches the consumer as
/// ``DatasetError/functionFailed(stage:index:underlying:)`` naming the index.
///
/// Because an element is a function of its index, restoring a state costs nothing.
///
/// ```swift
/// let noise = GeneratorDataset(name: "noise") { i -> Double? in
///     var rng = SplitMix64(seed: SplitMix64.derivedSeed(7, UInt64(i)))
///     return rng.nextNormal()
/// }
/// try noise.take(4).collect()
/// ```
public struct GeneratorDataset<Element>: Dataset {
    /// The name used in errors.
    public let name: String
    /// What the creator declared: the trainer needs `stepsPerEpoch` unless it is finite.
    public let cardinality: Cardinality
    let generate: @Sendable (Int) throws -> Element?

    /// A dataset whose element `i` is `generate(i)`; the pass ends at the first `nil`.
    public init(name: String = "generator", cardinality: Cardinality = .unknown,
                _ generate: @escaping @Sendable (Int) throws -> Element?) {
        self.name = name
        self.cardinality = cardinality
        self.generate = generate
    }

    /// The setting a saved state must match: the declared length, when finite.
    var stateParameters: [String: String]? {
        if case let .finite(count) = cardinality { return ["count": "\(count)"] }
        return nil
    }

    public func makeIterator(epoch: UInt64) -> Iterator { Iterator(dataset: self, position: 0, done: false) }

    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        try state.expect("generator", counters: 2, parameters: stateParameters)
        return Iterator(dataset: self, position: state.counters[0], done: state.counters[1] != 0)
    }

    /// Calls the generator with successive indices.
    public struct Iterator: DatasetIterator {
        let dataset: GeneratorDataset
        var position: Int
        var done: Bool

        public mutating func next() throws -> Element? {
            guard !done else { return nil }
            let element: Element?
            do { element = try dataset.generate(position) } catch {
                throw DatasetError.functionFailed(stage: dataset.name, index: position, underlying: error)
            }
            guard let element else { done = true; return nil }
            position += 1
            return element
        }

        /// `counters`: [next index, ended 0/1]; `parameters`: count (declared finite cardinality only).
        public var state: IteratorState {
            IteratorState(kind: "generator", counters: [position, done ? 1 : 0], parameters: dataset.stateParameters)
        }
    }
}
