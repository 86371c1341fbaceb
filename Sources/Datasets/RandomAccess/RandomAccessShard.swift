/// One shard of a random-access dataset: a stride over its order. Shard `index` of `count`
/// yields the base's elements `index`, `index + count`, `index + 2 * count`, ... and reads no
/// other element, so the shards of a global shuffle split each epoch's order between ranks
/// without any rank reading another's rows.
///
/// No element is padded or duplicated. When the base's count is not a multiple of `count`, the
/// last step is uneven: shards `0..<(base.count % count)` yield one element more than the
/// others. A `batch` after the shard makes that shard's last batch one element shorter, or
/// drops it with `dropRemainder: true` (then those rows are skipped in that epoch); a trainer
/// that needs every rank to take the same number of steps uses `dropRemainder: true` or slices
/// the base to a multiple of `count * batchSize` first.
///
/// **Resuming on another number of shards.** The iterator state of a pipeline whose shard is
/// followed only by `map` and `batch` records the *global position*: how many elements of the
/// base's order all shards together have consumed once each has yielded the same number of
/// elements (shards advancing in lockstep share it). Restored into the same pipeline with any
/// `count` and `index`, each shard continues the stride from that global position, so states
/// saved on 2 ranks resume on 1, 3 or 4, and the ranks together yield each remaining element of
/// the epoch exactly once. (Under a `shuffle`, `repeat` or `slice` the shard is not a prefix of
/// the order; there a state restores only into the same `count` and `index`.)
///
/// ```swift
/// try RangeDataset(0..<10).shard(count: 3, index: 1).collect()    // [1, 4, 7]
/// ```
public struct RandomAccessSharded<Base: RandomAccessDataset>: RandomAccessDataset {
    public typealias Element = Base.Element
    public typealias Iterator = RandomAccessIterator<Self>
    /// The dataset split between shards.
    public let base: Base
    /// The number of shards.
    public let shards: Int
    /// This shard's index, in `0..<shards`.
    public let index: Int
    /// The base position where this pass's stride starts: 0, or the global position a restored
    /// iterator resumed from.
    let origin: Int

    init(base: Base, shards: Int, index: Int, origin: Int = 0) {
        self.base = base
        self.shards = shards
        self.index = index
        self.origin = origin
    }

    var isValid: Bool { shards >= 1 && (0..<shards).contains(index) }

    public var count: Int {
        guard isValid else { return 0 }
        let n = base.count
        if n == .max { return .max }
        let remaining = n - origin - index
        return remaining <= 0 ? 0 : (remaining - 1) / shards + 1
    }

    /// The base position of this shard's element `position`.
    func basePosition(_ position: Int) -> Int { origin + index + position * shards }

    public func element(at index: Int) throws -> Element { try element(at: index, epoch: 0) }

    public func element(at position: Int, epoch: UInt64) throws -> Element {
        try validate()
        try checkIndex(position, source: "shard \(index) of \(shards)")
        return try base.element(at: basePosition(position), epoch: epoch)
    }

    public func stackedElements(at indices: [Int], epoch: UInt64) throws -> Element? {
        try validate()
        for position in indices { try checkIndex(position, source: "shard \(index) of \(shards)") }
        return try base.stackedElements(at: indices.map(basePosition), epoch: epoch)
    }

    public var accessStages: [RandomAccessStage] {
        base.accessStages + [RandomAccessStage(kind: "shard", parameters: ["count": "\(shards)", "index": "\(index)"], isShard: true)]
    }

    public func validate() throws {
        try base.validate()
        guard isValid else {
            throw DatasetError.invalidArgument(stage: "shard", reason: "index \(index) must be in 0..<\(shards)")
        }
    }

    /// `origin + position * shards`, at most the base's count; the base's count once this
    /// shard is exhausted (in the last, uneven step the shards with one row fewer end a step
    /// early, and the pass is over for all of them).
    public func globalPosition(afterYielding position: Int) -> Int? {
        let (step, overflow) = position.multipliedReportingOverflow(by: Swift.max(shards, 1))
        return overflow || position >= count ? base.count : Swift.min(origin + step, base.count)
    }

    public func resumingShards(atGlobalPosition globalPosition: Int) -> Self {
        RandomAccessSharded(base: base, shards: shards, index: index, origin: Swift.min(globalPosition, base.count))
    }
}

extension RandomAccessDataset {
    /// Shard `index` of `count`: a stride over this dataset's order that reads only its own
    /// elements (see ``RandomAccessSharded``).
    public func shard(count: Int, index: Int) -> RandomAccessSharded<Self> {
        RandomAccessSharded(base: self, shards: count, index: index)
    }
}
