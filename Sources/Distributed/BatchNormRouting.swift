import Training

/// Which of a model's BatchNormalization layers a ``DataParallelTrainer`` step synchronizes and
/// which normalise per micro-shard, under its ``BatchNormStatisticsScope``.
///
/// Built once per trainer and kept (stop 26): building it every step cast every layer and
/// hashed the BatchNormalization layers' names into three sets, and the segmented step then
/// hashed each name again to ask whether to synchronize it. The step now asks by layer index
/// (``synchronizes(layerAt:named:)``), and ``matches(_:scope:)`` checks, before each step, the
/// few flags that could differ in a model the trainer was handed later (a restored snapshot):
/// the layer count and each BatchNormalization layer's name, `synchronized` flag and whether it
/// updates its moving statistics. The layers' kinds and names are fixed for a trainer anyway
/// (``ReductionLayout`` and the settings fingerprint are built once from them).
final class BatchNormRouting {
    /// Layers normalising with the global batch's statistics.
    let synchronized: Set<String>
    /// Layers normalising each micro-shard with its own statistics (ghost batches).
    let perMicroShard: Set<String>
    /// Those of `perMicroShard` whose moving statistics a training step updates: their
    /// micro-shards' updates are averaged, weighted by rows, in the step's reduction.
    let perMicroShardUpdating: Set<String>
    /// Whether a layer draws random numbers in training (Dropout): then the step is segmented.
    let drawsRandomNumbers: Bool
    /// Whether the layer at each index is a synchronized BatchNormalization layer.
    private let synchronizedAt: [Bool]
    /// The layers' names, by index: a look-up by index checks the name too.
    private let layerNames: [String]
    /// Each BatchNormalization layer's index and the flags the routing was built from.
    private let batchNormFlags: [(index: Int, name: String, synchronized: Bool, updates: Bool)]
    private let scope: BatchNormStatisticsScope

    init(model: Sequential, scope: BatchNormStatisticsScope) {
        var synchronized: Set<String> = [], perMicroShard: Set<String> = [], perMicroShardUpdating: Set<String> = []
        var synchronizedAt = [Bool](repeating: false, count: model.layers.count)
        var flags: [(index: Int, name: String, synchronized: Bool, updates: Bool)] = []
        for (index, layer) in model.layers.enumerated() {
            guard let layer = layer as? BatchNormalization else { continue }
            let updates = layer.updatesMovingStatistics(in: .training)
            flags.append((index, layer.name, layer.synchronized, updates))
            if scope.synchronizes(layer) {
                synchronized.insert(layer.name)
                synchronizedAt[index] = true
            } else {
                perMicroShard.insert(layer.name)
                if updates { perMicroShardUpdating.insert(layer.name) }
            }
        }
        (self.synchronized, self.perMicroShard, self.perMicroShardUpdating) = (synchronized, perMicroShard, perMicroShardUpdating)
        self.synchronizedAt = synchronizedAt
        self.layerNames = model.layers.map(\.name)
        self.batchNormFlags = flags
        self.drawsRandomNumbers = model.layers.contains { $0.randomState != nil }
        self.scope = scope
    }

    /// Whether this routing was built from `model`'s BatchNormalization layers as they are now,
    /// under `scope` (a few casts, no allocation, no hashing).
    func matches(_ model: Sequential, scope: BatchNormStatisticsScope) -> Bool {
        guard scope == self.scope, model.layers.count == layerNames.count else { return false }
        for flags in batchNormFlags {
            guard let layer = model.layers[flags.index] as? BatchNormalization, layer.name == flags.name,
                  layer.synchronized == flags.synchronized, layer.updatesMovingStatistics(in: .training) == flags.updates
            else { return false }
        }
        return true
    }

    /// Whether the layer at `index`, named `name`, normalises with the global batch's
    /// statistics: by index when the name is the one recorded there, else by name.
    func synchronizes(layerAt index: Int, named name: String) -> Bool {
        guard layerNames.indices.contains(index), layerNames[index] == name else { return synchronized.contains(name) }
        return synchronizedAt[index]
    }
}
