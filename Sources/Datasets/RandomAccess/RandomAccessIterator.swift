/// One pass over a random-access dataset as a stream: `element(at: 0, epoch:)`, `element(at: 1,
/// epoch:)`, ... up to `count`.
///
/// Its state is one node of kind `"randomAccess"` holding a few integers, whatever the number
/// of elements: `counters` [position, global position], `seeds` [epoch], and `parameters`, the
/// settings of every stage keyed `"<stage>.<setting>"` (`"globalShuffle.seed"`,
/// `"batch.size"`, `"slices.count"`; a second stage of the same kind gets its depth appended to
/// its name, `"batch3.size"`).
///
/// - **position** is the number of elements this iterator has yielded in the pass.
/// - **global position** is, for a pipeline with `shard(count:index:)` followed only by `map`
///   and `batch`, the number of elements of the shared order below the shard that all shards
///   together have consumed when every shard has yielded `position` elements (shards that
///   advance in lockstep, as the ranks of a data-parallel trainer do, have the same global
///   position, so one saved state serves every rank). Without such a shard it equals
///   `position`.
///
/// Restoring checks that every recorded setting equals the pipeline's, throwing
/// ``DatasetError/mismatchedState(stage:parameter:saved:current:)`` naming the first stage and
/// setting that differ (or the stages, when the pipelines differ in shape). For a pipeline with
/// a shard, the shard's count and index are not checked: the restored iterator continues the
/// pass at the saved global position with *its* shard layout, so a state saved by 2 shards
/// resumes on 1, 3 or 4 and together they yield each remaining element exactly once.
///
/// ```swift
/// let data = RangeDataset(0..<100).globalShuffle(seed: 3).batch(10)
/// var it = data.makeIterator(epoch: 2)
/// _ = try it.next()
/// let saved = try it.state.encoded()                  // ~150 bytes at any dataset size
/// var resumed = try data.makeIterator(resumingFrom: IteratorState(encoded: saved))
/// ```
public struct RandomAccessIterator<Source: RandomAccessDataset>: DatasetIterator {
    /// The dataset iterated; after a restore onto another shard layout, its shards start at the
    /// saved global position.
    let view: Source
    /// The pass number handed to `element(at:epoch:)`.
    public let epoch: UInt64
    /// Elements yielded so far in this pass (of `view`).
    public private(set) var position: Int
    private var validated = false

    init(dataset: Source, epoch: UInt64) {
        view = dataset
        self.epoch = epoch
        position = 0
    }

    init(dataset: Source, resumingFrom state: IteratorState) throws {
        try state.expect(Self.kind, counters: 2, seeds: 1)
        let reshardable = dataset.globalPosition(afterYielding: 0) != nil
        try Self.check(saved: state.parameters ?? [:], current: Self.parameters(of: dataset, reshardable: reshardable))
        let position = state.counters[0], global = state.counters[1]
        epoch = state.seeds[0]
        if reshardable {
            guard global >= 0 else {
                throw DatasetError.incompatibleState(expected: "a global position >= 0", found: "global position \(global)")
            }
            view = dataset.resumingShards(atGlobalPosition: global)
            self.position = 0
        } else {
            guard position >= 0 && position <= dataset.count else {
                throw DatasetError.incompatibleState(expected: "a position in 0...\(dataset.count)",
                                                     found: "position \(position)")
            }
            view = dataset
            self.position = position
        }
    }

    public mutating func next() throws -> Source.Element? {
        if !validated { try view.validate(); validated = true }
        guard position < view.count else { return nil }
        let element = try view.element(at: position, epoch: epoch)
        position += 1
        return element
    }

    /// The global position (see the type's documentation) after the elements yielded so far.
    public var globalPosition: Int { view.globalPosition(afterYielding: position) ?? position }

    /// `counters`: [position, global position]; `seeds`: [epoch]; `parameters`: each stage's
    /// settings as `"<stage>.<setting>"`.
    public var state: IteratorState {
        let reshardable = view.globalPosition(afterYielding: 0) != nil
        return IteratorState(kind: Self.kind, counters: [position, globalPosition], seeds: [epoch],
                             parameters: Self.parameters(of: view, reshardable: reshardable))
    }

    static var kind: String { "randomAccess" }

    /// The stages' settings as flat `"<stage>.<setting>"` keys (a shard's omitted when states
    /// restore across shard layouts; its shape is still recorded as `"<stage>"` with value "").
    static func parameters(of dataset: Source, reshardable: Bool) -> [String: String] {
        var out: [String: String] = [:]
        for (depth, stage) in dataset.accessStages.enumerated() {
            let name = out.keys.contains { $0 == stage.kind || $0.hasPrefix(stage.kind + ".") } ? "\(stage.kind)\(depth)" : stage.kind
            if stage.parameters.isEmpty || (reshardable && stage.isShard) {
                out[name] = ""
            } else {
                for (key, value) in stage.parameters { out["\(name).\(key)"] = value }
            }
        }
        return out
    }

    /// Throws for the first key, in name order, whose value differs; for keys present on one
    /// side only, names the two pipelines' stages.
    static func check(saved: [String: String], current: [String: String]) throws {
        guard !saved.isEmpty else { return }
        if Set(saved.keys) != Set(current.keys) {
            throw DatasetError.mismatchedState(stage: kind, parameter: "stages",
                                               saved: stageList(saved), current: stageList(current))
        }
        for key in current.keys.sorted() where saved[key] != current[key] {
            let parts = key.split(separator: ".", maxSplits: 1).map(String.init)
            throw DatasetError.mismatchedState(stage: parts[0], parameter: parts.count > 1 ? parts[1] : "settings",
                                               saved: saved[key] ?? "", current: current[key] ?? "")
        }
    }

    private static func stageList(_ parameters: [String: String]) -> String {
        Set(parameters.keys.map { String($0.split(separator: ".", maxSplits: 1)[0]) }).sorted().joined(separator: ", ")
    }
}
