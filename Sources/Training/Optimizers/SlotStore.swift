import Tensors

/// Per-variable slot buffers indexed by trainable-variable position (no dictionary lookups
/// on the hot path), with names kept for ``OptimizerState``.
struct SlotStore: Sendable, Equatable {
    let slotNames: [String]
    private(set) var variableNames: [String] = []
    /// `slots[slot][variable]`
    var slots: [[Tensor<Float>]]
    private var pending: [String: Tensor<Float>]?

    init(slotNames: [String]) {
        self.slotNames = slotNames
        self.slots = slotNames.map { _ in [] }
    }

    /// Makes sure slots exist for exactly `model`'s trainable variables; restores pending state.
    mutating func prepare(for model: Sequential) throws {
        if !variableNames.isEmpty, pending == nil { return }
        let names = model.trainableVariableNames
        let shapes = model.trainableVariables.map(\.value.shape)
        if names == variableNames, pending == nil { return }
        var fresh: [[Tensor<Float>]] = slotNames.map { _ in shapes.map { Tensor(zeros: $0) } }
        if let pending {
            for (s, slot) in slotNames.enumerated() {
                for (v, name) in names.enumerated() {
                    guard let value = pending["\(name)/\(slot)"] else { continue }
                    guard value.shape == shapes[v] else {
                        throw TrainingError.optimizerStateMismatch(
                            variable: name, message: "slot \(slot) has shape \(value.shape), the variable \(shapes[v])")
                    }
                    fresh[s][v] = value
                }
            }
            let known = Set(slotNames.flatMap { slot in names.map { "\($0)/\(slot)" } })
            if let stray = pending.keys.sorted().first(where: { !known.contains($0) }) {
                throw TrainingError.optimizerStateMismatch(variable: stray, message: "the model has no such variable")
            }
        }
        slots = fresh
        variableNames = names
        pending = nil
    }

    /// Moves one slot's buffers out, leaving an empty list until ``put(_:slot:)``.
    mutating func take(slot: Int) -> [Tensor<Float>] {
        var out: [Tensor<Float>] = []
        swap(&out, &slots[slot])
        return out
    }

    mutating func put(_ buffers: [Tensor<Float>], slot: Int) {
        slots[slot] = buffers
    }

    var named: [String: Tensor<Float>] {
        if let pending { return pending }
        var out: [String: Tensor<Float>] = [:]
        for (s, slot) in slotNames.enumerated() {
            for (v, name) in variableNames.enumerated() { out["\(name)/\(slot)"] = slots[s][v] }
        }
        return out
    }

    mutating func restore(_ named: [String: Tensor<Float>]) {
        pending = named
    }
}
