/// One pass over a random-access dataset as a stream: `element(at: 0, epoch:)`, `element(at: 1,
/// epoch:)`, ... up to `count`.
///
/// Its state is one node of kind `"randomAccess"` holding a few integers, whatever the number
/// of elements: `counters` [position, global position], `seeds` [epoch], and `parameters`, the
/// settings of every stage keyed by its depth in the pipeline (0 for the source), its name and
/// the setting (`"0slices.count"`, `"1globalShuffle.seed"`, `"2batch.size"`; a stage without
/// settings, such as `map`, is recorded as `"3map"`), so that a state restores only into a
/// pipeline with the same stages in the same order.
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
    /// Elements yielded so far in this pass; after a restore of a pipeline with a shard,
    /// counted from the restored global position (the shard's stride starts there).
    public private(set) var position: Int
    private var validated = false

    init(dataset: Source, epoch: UInt64) {
        view = dataset
        self.epoch = epoch
        position = 0
    }

    init(dataset: Source, resumingFrom state: IteratorState) throws {
        if state.kind != Self.kind, let position = try Self.streamingPosition(state, dataset.accessStages[...]) {
            guard position >= 0 && position <= dataset.count else {
                throw DatasetError.incompatibleState(expected: "a position in 0...\(dataset.count)", found: "position \(position)")
            }
            (view, epoch, self.position) = (dataset, Self.streamingEpoch(state), position)
            return
        }
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
    /// settings as `"<depth><stage>.<setting>"`.
    public var state: IteratorState {
        let reshardable = view.globalPosition(afterYielding: 0) != nil
        return IteratorState(kind: Self.kind, counters: [position, globalPosition], seeds: [epoch],
                             parameters: Self.parameters(of: view, reshardable: reshardable))
    }

    static var kind: String { "randomAccess" }

    /// The position in a state written by the streaming adaptors of the same pipeline: before
    /// `map`, `batch`, `shard` and `repeat` over ``Slices`` and ``RangeDataset`` became
    /// random-access, those stages saved one node each (`"batch"` with the batches delivered,
    /// ...), as checkpoints written then still hold. `nil` when `state` is of no such stage.
    /// - Throws: as the streaming stages did, for another stage or a changed setting.
    static func streamingPosition(_ state: IteratorState, _ stages: ArraySlice<RandomAccessStage>) throws -> Int? {
        guard let stage = stages.last, ["map", "batch", "shard", "repeat", "slices", "range"].contains(state.kind) else {
            return nil
        }
        let base = stages.dropLast()
        switch stage.kind {
        case "slices", "range":
            try state.expect(stage.kind, counters: 1, parameters: stage.parameters)
            return state.counters[0]
        case "map", "batch":
            try state.expect(stage.kind, counters: 1, children: 1, parameters: stage.parameters.isEmpty ? nil : stage.parameters)
            _ = try streamingChildPosition(state.children[0], base)
            return state.counters[0]
        case "shard":
            try state.expect("shard", counters: 1, children: 1, parameters: stage.parameters)
            _ = try streamingChildPosition(state.children[0], base)
            // Base elements seen -> elements of this shard yielded (those at index, index + count, ...).
            let seen = state.counters[0], count = Int(stage.parameters["count"] ?? "") ?? 1
            let index = Int(stage.parameters["index"] ?? "") ?? 0
            return seen > index ? (seen - index - 1) / Swift.max(count, 1) + 1 : 0
        case "repeat":
            try state.expect("repeat", counters: 3, seeds: 1, children: 1, parameters: stage.parameters)
            let inPass = try streamingChildPosition(state.children[0], base)
            let (passes, overflow) = state.counters[0].multipliedReportingOverflow(by: stage.inputCount)
            return overflow ? nil : passes + inPass
        default:
            throw DatasetError.incompatibleState(expected: stage.kind, found: "\(state.kind) (a streaming stage's state)")
        }
    }

    private static func streamingChildPosition(_ state: IteratorState, _ stages: ArraySlice<RandomAccessStage>) throws -> Int {
        guard let position = try streamingPosition(state, stages) else {
            throw DatasetError.incompatibleState(expected: stages.last?.kind ?? "no stage", found: state.kind)
        }
        return position
    }

    /// The epoch of a streaming state: the one a `repeat` recorded, else 0 (the streaming
    /// sources and `map`, `batch` and `shard` do not record it; their order does not depend on it).
    static func streamingEpoch(_ state: IteratorState) -> UInt64 {
        if state.kind == "repeat", let epoch = state.seeds.first { return epoch }
        return state.children.first.map(streamingEpoch) ?? 0
    }

    /// The stages' settings as flat `"<depth><stage>.<setting>"` keys (a shard's omitted when
    /// states restore across shard layouts: it is recorded as `"<depth>shard"` with value "").
    static func parameters(of dataset: Source, reshardable: Bool) -> [String: String] {
        var out: [String: String] = [:]
        for (depth, stage) in dataset.accessStages.enumerated() {
            let name = "\(depth)\(stage.kind)"
            if stage.parameters.isEmpty || (reshardable && stage.isShard) {
                out[name] = ""
            } else {
                for (key, value) in stage.parameters { out["\(name).\(key)"] = value }
            }
        }
        return out
    }

    /// Throws for the first key, in pipeline order, whose value differs; for keys present on
    /// one side only (stages added, removed or reordered), names the two pipelines' stages.
    static func check(saved: [String: String], current: [String: String]) throws {
        guard !saved.isEmpty else { return }
        if Set(saved.keys) != Set(current.keys) {
            let (savedStages, currentStages) = (stageList(saved), stageList(current))
            // The same stages with a setting more or less (a block-ordered global shuffle's
            // window): name that setting.
            if savedStages == currentStages,
               let key = Set(saved.keys).symmetricDifference(current.keys).min(by: { stageKey($0) < stageKey($1) }) {
                let (_, stage, setting) = stageKey(key)
                throw DatasetError.mismatchedState(stage: stage, parameter: setting.isEmpty ? "settings" : setting,
                                                   saved: saved[key] ?? "none", current: current[key] ?? "none")
            }
            throw DatasetError.mismatchedState(stage: kind, parameter: "stages", saved: savedStages, current: currentStages)
        }
        for key in current.keys.sorted(by: { stageKey($0) < stageKey($1) }) where saved[key] != current[key] {
            let (_, stage, setting) = stageKey(key)
            throw DatasetError.mismatchedState(stage: stage, parameter: setting.isEmpty ? "settings" : setting,
                                               saved: saved[key] ?? "", current: current[key] ?? "")
        }
    }

    /// `"3batch.size"` as (3, "batch", "size").
    private static func stageKey(_ key: String) -> (depth: Int, stage: String, setting: String) {
        let parts = key.split(separator: ".", maxSplits: 1).map(String.init)
        let digits = parts[0].prefix { $0.isNumber }
        return (Int(digits) ?? 0, String(parts[0].dropFirst(digits.count)), parts.count > 1 ? parts[1] : "")
    }

    /// The stages in pipeline order, `"range > globalShuffle > batch"`.
    private static func stageList(_ parameters: [String: String]) -> String {
        var stages: [Int: String] = [:]
        for key in parameters.keys { let (depth, stage, _) = stageKey(key); stages[depth] = stage }
        return stages.keys.sorted().map { stages[$0]! }.joined(separator: " > ")
    }
}
