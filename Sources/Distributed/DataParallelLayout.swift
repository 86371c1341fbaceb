import Tensors
import Training

/// How one micro-shard's step is laid out in the vector the ranks reduce: every trainable
/// variable's gradient, then every moving statistic's update, then the loss, each multiplied
/// by the micro-shard's row count (so that adding micro-shards gives sums). Fixed by the model
/// alone, so a rank without rows knows the layout too.
struct ReductionLayout {
    struct Slot {
        var name: String
        var shape: [Int]
        var range: Range<Int>
    }

    /// Trainable variables, in `Sequential.trainableVariableNames` order.
    let gradients: [Slot]
    /// Moving statistics (BatchNormalization's `moving_mean`, `moving_variance`).
    let statistics: [Slot]
    /// Where the loss sum sits: the last value.
    let lossIndex: Int

    var width: Int { lossIndex + 1 }
    /// The vectors ``synchronizedSums(of:rowCount:segment:)`` reuses.
    private let reusable = ReusableVectors()
    var zeros: [Float] { [Float](repeating: 0, count: width) }

    init(model: Sequential) {
        var offset = 0
        func slots(_ variables: [NamedVariable]) -> [Slot] {
            variables.map { variable in
                defer { offset += variable.value.scalarCount }
                return Slot(name: variable.name, shape: variable.value.shape,
                            range: offset..<(offset + variable.value.scalarCount))
            }
        }
        gradients = slots(model.trainableVariables)
        statistics = slots(model.variables.filter { $0.role == .movingStatistic })
        lossIndex = offset
    }

    /// One micro-shard's step as sums over its `rowCount` rows. A moving statistic the step
    /// did not update (a frozen layer) counts with its current value, so the weighted mean
    /// leaves it unchanged.
    func sums(of step: TrainingStep, rowCount: Int, model: Sequential) throws -> [Float] {
        let scale = Float(rowCount)
        var values = zeros
        for slot in gradients {
            guard let gradient = step.gradients[slot.name] else {
                throw TrainingError.missingGradients(layer: Self.split(slot.name).layer)
            }
            try write(gradient, scaledBy: scale, to: &values, at: slot)
        }
        for slot in statistics {
            let (layer, variable) = Self.split(slot.name)
            let value = try step.stateUpdate.value(of: variable, inLayer: layer) ?? model.variable(slot.name)
            try write(value, scaledBy: scale, to: &values, at: slot)
        }
        values[lossIndex] = step.loss * scale
        return values
    }

    /// One micro-shard's synchronized step (``BatchNormStatisticsScope/synchronized``): its
    /// gradients as they are (already its share of the global-batch mean) and its loss times
    /// its rows; the moving statistics of synchronized layers, the same for every micro-shard,
    /// are not reduced. Those of `perMicroShardStatistics` (layers normalising each micro-shard
    /// alone) are this micro-shard's updates times its rows, as ``sums(of:rowCount:model:)`` has them.
    /// `segment` (the micro-shard's place among the rank's segments) picks a vector kept from
    /// the previous step, which is written in place when nothing else holds it any more: a fresh
    /// zeroed megabyte per step cost page faults and a `memset` (`batchwise-bench distributed`).
    /// Every slot written here is written in every step, and the others stay zero.
    func synchronizedSums(of step: TrainingStep, rowCount: Int, segment: Int,
                          perMicroShardStatistics: Set<String> = []) throws -> [Float] {
        var values = reusable.take(segment, zeros: width)
        defer { reusable.keep(values, at: segment) }
        for slot in gradients {
            guard let gradient = step.gradients[slot.name] else {
                throw TrainingError.missingGradients(layer: Self.split(slot.name).layer)
            }
            try write(gradient, scaledBy: 1, to: &values, at: slot)
        }
        for slot in statistics where perMicroShardStatistics.contains(Self.split(slot.name).layer) {
            let (layer, variable) = Self.split(slot.name)
            guard let value = step.stateUpdate.value(of: variable, inLayer: layer) else {
                throw TrainingError.missingGradients(layer: layer)
            }
            try write(value, scaledBy: Float(rowCount), to: &values, at: slot)
        }
        values[lossIndex] = step.loss * Float(rowCount)
        return values
    }

    /// The reduced means as gradients for the optimizer.
    func gradients(from means: [Float]) throws -> Gradients {
        Gradients(named: try gradients.map { slot in
            NamedVariable(name: slot.name, value: try Tensor(shape: slot.shape, scalars: Array(means[slot.range])), isTrainable: true)
        })
    }

    /// The reduced means of the moving statistics as a state update for the model.
    func stateUpdate(from means: [Float], model: Sequential) throws -> ModelStateUpdate {
        try stateUpdate(from: means, layers: nil)
    }

    /// ``stateUpdate(from:model:)`` for the moving statistics of `layers` only (nil: all).
    func stateUpdate(from means: [Float], layers: Set<String>?) throws -> ModelStateUpdate {
        var update = ModelStateUpdate()
        for slot in statistics where layers?.contains(Self.split(slot.name).layer) ?? true {
            let (layer, variable) = Self.split(slot.name)
            update.layers[layer, default: LayerStateUpdate()].variables[variable] =
                try Tensor(shape: slot.shape, scalars: Array(means[slot.range]))
        }
        return update
    }

    private func write(_ tensor: Tensor<Float>, scaledBy scale: Float, to values: inout [Float], at slot: Slot) throws {
        guard tensor.scalarCount == slot.range.count else {
            throw DistributedError.shapeMismatch(operation: "data-parallel step: \(slot.name)", expected: slot.range.count,
                                                 actual: tensor.scalarCount)
        }
        // Through raw buffers: the indexed loop's bounds and uniqueness checks cost a measurable
        // share of a step for the 270k values of the benchmark's model.
        values.withUnsafeMutableBufferPointer { target in
            tensor.withUnsafeBufferPointer { source in
                guard let from = source.baseAddress, let to = target.baseAddress?.advanced(by: slot.range.lowerBound) else { return }
                if scale == 1 {
                    to.update(from: from, count: slot.range.count)
                } else {
                    for index in 0..<slot.range.count { to[index] = from[index] * scale }
                }
            }
        }
    }

    /// `"<layer>/<variable>"` split at the last slash.
    static func split(_ name: String) -> (layer: String, variable: String) {
        guard let slash = name.lastIndex(of: "/") else { return ("", name) }
        return (String(name[..<slash]), String(name[name.index(after: slash)...]))
    }
}

/// Vectors kept between steps, one per segment. The statistics' slots of a synchronized step's
/// vector are never written, so they stay zero.
final class ReusableVectors {
    private var vectors: [[Float]] = []

    /// Segment `index`'s vector, moved out (so that the caller holds the only reference and
    /// writes it in place), or `zeros` zeros the first time.
    func take(_ index: Int, zeros count: Int) -> [Float] {
        guard vectors.indices.contains(index), vectors[index].count == count else { return [Float](repeating: 0, count: count) }
        return Self.swapOut(&vectors[index])
    }

    /// Keeps `vector` for segment `index`'s next step.
    func keep(_ vector: [Float], at index: Int) {
        while vectors.count <= index { vectors.append([]) }
        vectors[index] = vector
    }

    private static func swapOut(_ vector: inout [Float]) -> [Float] {
        var taken: [Float] = []
        swap(&taken, &vector)
        return taken
    }
}
