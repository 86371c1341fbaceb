import Tensors

/// What ``sample(from:weights:seed:stopping:)`` does when the source it drew has no elements left.
public enum SampleStopping: String, Sendable, Hashable, Codable {
    /// End the pass: the mix keeps its proportions to the end (tf.data's
    /// `stop_on_empty_dataset=True`).
    case firstExhausted
    /// Drop the exhausted source and draw from the others in proportion to their weights, until
    /// every source with a positive weight is exhausted (tf.data's `stop_on_empty_dataset=False`).
    case reweightRemaining
}

/// Elements drawn at random from several datasets, each draw choosing dataset `i` with
/// probability `weights[i] / weights.sum()`: tf.data's `sample_from_datasets`. Built with
/// ``sample(from:weights:seed:stopping:)``; <doc:SampleFromDatasets> details the order, the state and the
/// costs.
///
/// Pass `e` draws from `SplitMix64(seed: derivedSeed(seed, Sampled.streamLabel, e))` and makes
/// every source's iterator for epoch `e`, so each epoch has its own mix and every run and machine
/// the same one. The iterator state holds the generator, the exhausted sources and each source's
/// position (packed: about one JSON integer per position-only source), not element copies.
///
/// ```swift
/// let english = RangeDataset(0..<1_000), french = RangeDataset(1_000..<1_500)
/// let mixed = try sample(from: [english, french], weights: [0.8, 0.2], seed: 4)
/// let first = try mixed.collect(limit: 10)     // [0, 1000, 1, 2, 3, 4, 5, 1001, 6, 7]
/// ```
public struct Sampled<Source: Dataset>: Dataset {
    public typealias Element = Source.Element
    /// The datasets drawn from.
    public let sources: [Source]
    /// Each source's weight, finite and non-negative; the probabilities are the weights divided
    /// by their sum.
    public let weights: [Double]
    /// The seed (drawn from the system generator when none was given; read it here to
    /// reproduce a run).
    public let seed: UInt64
    /// What happens when a drawn source is exhausted.
    public let stopping: SampleStopping

    /// The label that separates the sampler's generator streams from a shuffle's with the same
    /// seed (the ASCII bytes of "sample").
    static var streamLabel: UInt64 { 0x73_61_6D_70_6C_65 }

    /// A mix of `sources`; ``sample(from:weights:seed:stopping:)`` validates the weights first.
    init(sources: [Source], weights: [Double], seed: UInt64, stopping: SampleStopping) {
        self.sources = sources
        self.weights = weights
        self.seed = seed
        self.stopping = stopping
    }

    public var cardinality: Cardinality {
        let drawn = Swift.zip(sources, weights).filter { $0.1 > 0 }.map(\.0.cardinality)
        if drawn.count == 1 { return drawn[0] }
        if drawn.allSatisfy({ $0 == .infinite }) { return drawn.isEmpty ? .finite(0) : .infinite }
        switch stopping {
        case .firstExhausted:
            // A finite source ends the pass at a random point.
            return .unknown
        case .reweightRemaining:
            if drawn.contains(.infinite) { return .infinite }
            let counts = drawn.compactMap(\.count)
            return counts.count == drawn.count ? .finite(counts.reduce(0, +)) : .unknown
        }
    }

    /// The settings a saved state must match. Up to 64 characters of weights are stored as
    /// written; longer lists as a digest of their bit patterns (to keep states of 100 sources small).
    var stateParameters: [String: String] {
        var text = "\(weights)"
        if text.count > 64 {
            var digest = StableDigest()
            weights.forEach { digest.add(String($0.bitPattern, radix: 16) + ",") }
            text = "fnv1a64:" + digest.hex
        }
        return ["seed": "\(seed)", "sources": "\(sources.count)", "stopping": stopping.rawValue, "weights": text]
    }

    public func makeIterator(epoch: UInt64) -> Iterator {
        let iterators = sources.map { $0.makeIterator(epoch: epoch) }
        return Iterator(dataset: self, sources: iterators, skeletons: iterators.map(\.state), epoch: epoch,
                        rng: SplitMix64(seed: SplitMix64.derivedSeed(seed, Self.streamLabel, epoch)),
                        exhausted: Set(), finished: false)
    }

    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        try state.expect("sample", counters: 1, seeds: 2, children: 1, parameters: stateParameters)
        let epoch = state.seeds[1]
        let exhausted = Set(state.indices)
        guard exhausted.count == state.indices.count, exhausted.allSatisfy(sources.indices.contains) else {
            throw DatasetError.incompatibleState(expected: "sample exhausted sources in 0..<\(sources.count)",
                                                 found: "\(state.indices)")
        }
        let skeletons = sources.map { $0.makeIterator(epoch: epoch).state }
        let saved = try PackedSourceStates.unpack(state.children[0], skeletons: skeletons, stage: "sample")
        let iterators = try Swift.zip(sources, saved).map { try $0.makeIterator(resumingFrom: $1) }
        return Iterator(dataset: self, sources: iterators, skeletons: skeletons, epoch: epoch,
                        rng: SplitMix64(state: state.seeds[0]), exhausted: exhausted,
                        finished: state.counters[0] != 0)
    }

    /// One pass of draws.
    public struct Iterator: DatasetIterator {
        let dataset: Sampled
        var sources: [Source.Iterator]
        /// The sources' fresh states, on which their packed states are laid back.
        let skeletons: [IteratorState]
        let epoch: UInt64
        var rng: SplitMix64
        var exhausted: Set<Int>
        var finished: Bool
        /// Running sums of the weights of the sources still drawn from.
        var cumulativeWeights: [Double] = []

        init(dataset: Sampled, sources: [Source.Iterator], skeletons: [IteratorState], epoch: UInt64,
             rng: SplitMix64, exhausted: Set<Int>, finished: Bool) {
            self.dataset = dataset
            self.sources = sources
            self.skeletons = skeletons
            self.epoch = epoch
            self.rng = rng
            self.exhausted = exhausted
            self.finished = finished
            updateCumulativeWeights()
        }

        mutating func updateCumulativeWeights() {
            var sum = 0.0
            cumulativeWeights = dataset.weights.indices.map { index in
                if !exhausted.contains(index) { sum += dataset.weights[index] }
                return sum
            }
        }

        /// The source of one draw (see ``source(at:cumulativeWeights:)``), or `nil` when no
        /// source of positive weight is left.
        mutating func drawSource() -> Int? {
            guard let total = cumulativeWeights.last, total > 0 else { return nil }
            return Self.source(at: rng.nextUniform() * total, cumulativeWeights: cumulativeWeights)
        }

        /// The first source whose running sum exceeds `target` (in `0...total`), so never a
        /// source of weight 0, whose running sum equals the one before it. Rounding can make
        /// `uniform × total` equal `total`: then the last source of positive weight.
        static func source(at target: Double, cumulativeWeights: [Double]) -> Int {
            var low = 0, high = cumulativeWeights.count - 1
            while low < high {
                let middle = (low + high) / 2
                if cumulativeWeights[middle] > target { high = middle } else { low = middle + 1 }
            }
            while low > 0, cumulativeWeights[low] == cumulativeWeights[low - 1] { low -= 1 }
            return low
        }

        public mutating func next() throws -> Element? {
            while !finished {
                guard let index = drawSource() else { finished = true; break }
                if let element = try sources[index].next() { return element }
                switch dataset.stopping {
                case .firstExhausted:
                    finished = true
                case .reweightRemaining:
                    exhausted.insert(index)
                    updateCumulativeWeights()
                }
            }
            return nil
        }

        /// `counters`: [finished 0/1]; `seeds`: [generator state, epoch]; `indices`: the exhausted
        /// sources; `children`: [the sources' states, packed (see `PackedSourceStates`)];
        /// `parameters`: seed, sources, stopping, weights.
        public var state: IteratorState {
            IteratorState(kind: "sample", counters: [finished ? 1 : 0], seeds: [rng.state, epoch],
                          indices: exhausted.sorted(),
                          children: [PackedSourceStates.pack(sources.map(\.state), skeletons: skeletons)],
                          parameters: dataset.stateParameters)
        }
    }
}

/// A dataset whose every element is drawn from one of `datasets`, dataset `i` with probability
/// `weights[i] / weights.sum()` (see ``Sampled``): tf.data's `sample_from_datasets`.
///
/// - Parameters:
///   - datasets: the sources, at least one, all of one type (erase them with
///     ``Dataset/eraseToAnyDataset()`` to mix different pipelines).
///   - weights: one finite, non-negative weight per dataset, not all 0; `nil` weighs them
///     equally. They need not sum to 1. A source of weight 0 is never read.
///   - seed: the seed of the draws; without one, a seed is drawn now from the system generator
///     and kept in the result's `seed`.
///   - stopping: at the first exhausted source drawn, end the pass (the default: the proportions
///     hold to the end) or go on with the rest, re-weighted.
/// - Throws: ``DatasetError/invalidArgument(stage:reason:)`` for an empty list, a weight count
///   that differs from the dataset count, a negative, infinite or NaN weight, weights all 0, or weights whose sum overflows.
///
/// ```swift
/// let files = [RangeDataset(0..<100), RangeDataset(100..<200), RangeDataset(200..<300)]
/// let mix = try sample(from: files, weights: [2, 1, 1], seed: 42, stopping: .reweightRemaining)
/// mix.cardinality                      // .finite(300): every element, once, in a seeded order
/// ```
public func sample<Source: Dataset>(from datasets: [Source], weights: [Double]? = nil, seed: UInt64? = nil,
                                    stopping: SampleStopping = .firstExhausted) throws -> Sampled<Source> {
    guard !datasets.isEmpty else {
        throw DatasetError.invalidArgument(stage: "sample", reason: "needs at least one dataset to draw from")
    }
    let weights = weights ?? Array(repeating: 1, count: datasets.count)
    guard weights.count == datasets.count else {
        throw DatasetError.invalidArgument(
            stage: "sample", reason: "\(weights.count) weights for \(datasets.count) datasets; give one weight per dataset")
    }
    if let bad = weights.firstIndex(where: { !$0.isFinite || $0 < 0 }) {
        throw DatasetError.invalidArgument(
            stage: "sample", reason: "weights[\(bad)] is \(weights[bad]); weights must be finite and >= 0")
    }
    guard weights.contains(where: { $0 > 0 }) else {
        throw DatasetError.invalidArgument(stage: "sample", reason: "all \(weights.count) weights are 0; one must be positive")
    }
    guard weights.reduce(0, +).isFinite else {
        throw DatasetError.invalidArgument(stage: "sample", reason: "the weights sum to more than Double can hold; scale them down")
    }
    var system = SystemRandomNumberGenerator()
    return Sampled(sources: datasets, weights: weights, seed: seed ?? system.next(), stopping: stopping)
}
