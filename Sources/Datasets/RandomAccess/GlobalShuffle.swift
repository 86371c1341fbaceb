import Tensors

/// A random-access dataset in a seeded random order that covers the whole dataset: element `i`
/// of pass `e` is element `π_e(i)` of the base, where `π_e` is a seeded bijection of
/// `0..<count` (a Feistel network with cycle-walking) keyed by
/// `SplitMix64.derivedSeed(seed, e)`.
///
/// Unlike the buffered `shuffle(bufferSize:seed:reshuffleEachIteration:)`, which holds
/// `bufferSize` elements and whose iterator state grows with the buffer, the global shuffle
/// holds nothing: any position of any epoch is computed in O(1) time and memory, every
/// permutation position is equally likely for every element, and the iterator state is a
/// position, an epoch and the seed. See <doc:GlobalShuffle> for the construction.
///
/// ```swift
/// let data = RangeDataset(0..<10).globalShuffle(seed: 42)
/// try data.collect()                       // a permutation of 0..<10
/// try data.collect(epoch: 1)               // another one, derived from (42, 1)
/// try data.element(at: 3, epoch: 1)        // its fourth element, computed directly
/// ```
public struct GloballyShuffled<Base: RandomAccessDataset>: RandomAccessDataset {
    public typealias Element = Base.Element
    public typealias Iterator = RandomAccessIterator<Self>
    /// The dataset whose order is permuted.
    public let base: Base
    /// The seed; pass `e` uses the permutation keyed by `SplitMix64.derivedSeed(seed, e)`.
    public let seed: UInt64

    public var count: Int { base.count }

    /// The permutation of pass `epoch`.
    func permutation(_ epoch: UInt64) -> FeistelPermutation {
        FeistelPermutation(count: base.count, seed: SplitMix64.derivedSeed(seed, epoch))
    }

    public func element(at index: Int) throws -> Element { try element(at: index, epoch: 0) }

    public func element(at index: Int, epoch: UInt64) throws -> Element {
        try checkIndex(index, source: "globalShuffle")
        return try base.element(at: permutation(epoch)[index], epoch: epoch)
    }

    public func stackedElements(at indices: [Int], epoch: UInt64) throws -> Element? {
        for index in indices { try checkIndex(index, source: "globalShuffle") }
        let permutation = permutation(epoch)
        return try base.stackedElements(at: indices.map { permutation[$0] }, epoch: epoch)
    }

    public var accessStages: [RandomAccessStage] {
        base.accessStages + [RandomAccessStage(kind: "globalShuffle", parameters: ["seed": "\(seed)"])]
    }

    public func validate() throws { try base.validate() }
}

extension RandomAccessDataset {
    /// Shuffles the whole dataset by a seeded permutation, new in every epoch, without a
    /// buffer (see ``GloballyShuffled``). Without a `seed`, one is drawn now from the system
    /// generator and kept in the returned dataset's `seed`.
    ///
    /// ```swift
    /// let epoch = RangeDataset(0..<60_000).globalShuffle(seed: 18).batch(32)
    /// ```
    public func globalShuffle(seed: UInt64? = nil) -> GloballyShuffled<Self> {
        var system = SystemRandomNumberGenerator()
        return GloballyShuffled(base: self, seed: seed ?? system.next())
    }
}
