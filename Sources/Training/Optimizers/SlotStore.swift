import Tensors

/// Per-variable slot buffers indexed by trainable-variable position (no dictionary lookups
/// on the hot path), with names kept for ``OptimizerState``. `slots[variable][slot]`, in the
/// order of `slotNames`; optimizer-wide scalars (Nadam's `u_product`) are kept beside them
/// and named without a variable.
struct SlotStore: Sendable, Equatable {
    let slotNames: [String]
    let initialValues: [Float]
    let scalarNames: [String]
    private(set) var variableNames: [String] = []
    /// `slots[variable][slot]`
    var slots: [[Tensor<Float>]] = []
    var scalars: [Float]
    private let initialScalars: [Float]
    private var pending: [String: Tensor<Float>]?

    init(slotNames: [String], initialValues: [Float]? = nil, scalars: [(name: String, initial: Float)] = []) {
        self.slotNames = slotNames
        self.initialValues = initialValues ?? slotNames.map { _ in 0 }
        self.scalarNames = scalars.map(\.name)
        self.initialScalars = scalars.map(\.initial)
        self.scalars = initialScalars
    }

    /// Makes sure slots exist for exactly these variables; restores pending state.
    /// `neighbours[variable]` are the addresses of the variable's weight and gradient, which
    /// ``SlotPlacement`` keeps the new slot buffers away from (restored values are copied in).
    mutating func prepare(names: [String], shapes: [[Int]], neighbours: [[Int]] = []) throws {
        if names == variableNames, pending == nil { return }
        var fresh = try SlotPlacement.buffers(shapes: shapes, initialValues: initialValues, neighbours: neighbours)
        var freshScalars = initialScalars
        if let pending {
            for (v, name) in names.enumerated() {
                for (s, slot) in slotNames.enumerated() {
                    guard let value = pending["\(name)/\(slot)"] else { continue }
                    guard value.shape == shapes[v] else {
                        throw TrainingError.optimizerStateMismatch(
                            variable: name, message: "slot \(slot) has shape \(value.shape), the variable \(shapes[v])")
                    }
                    fresh[v][s].withUnsafeMutableBufferPointer { slot in
                        value.withUnsafeBufferPointer { saved in
                            guard let to = slot.baseAddress, let from = saved.baseAddress else { return }
                            to.update(from: from, count: saved.count)
                        }
                    }
                }
            }
            for (s, scalar) in scalarNames.enumerated() {
                guard let value = pending[scalar] else { continue }
                guard value.scalarCount == 1 else {
                    throw TrainingError.optimizerStateMismatch(
                        variable: scalar, message: "holds \(value.scalarCount) values where the optimizer keeps one")
                }
                freshScalars[s] = value.scalars[0]
            }
            let known = Set(slotNames.flatMap { slot in names.map { "\($0)/\(slot)" } } + scalarNames)
            if let stray = pending.keys.sorted().first(where: { !known.contains($0) }) {
                throw TrainingError.optimizerStateMismatch(variable: stray, message: "the model has no such variable")
            }
        }
        slots = fresh
        scalars = freshScalars
        variableNames = names
        pending = nil
    }

    /// Moves the slot buffers out, leaving nothing until ``put(_:)``, so that they stay
    /// uniquely referenced while a step mutates them (no copy-on-write).
    mutating func take() -> [[Tensor<Float>]] {
        var out: [[Tensor<Float>]] = []
        swap(&out, &slots)
        return out
    }

    /// Whether ``prepare(names:shapes:neighbours:)`` has work to do (first step, or state to restore).
    var needsPreparation: Bool { variableNames.isEmpty || pending != nil }

    mutating func put(_ buffers: [[Tensor<Float>]]) {
        slots = buffers
    }

    var named: [String: Tensor<Float>] {
        if let pending { return pending }
        var out: [String: Tensor<Float>] = [:]
        for (v, name) in variableNames.enumerated() {
            for (s, slot) in slotNames.enumerated() { out["\(name)/\(slot)"] = slots[v][s] }
        }
        if !variableNames.isEmpty {
            for (s, scalar) in scalarNames.enumerated() { out[scalar] = Tensor(scalar: scalars[s]) }
        }
        return out
    }

    mutating func restore(_ named: [String: Tensor<Float>]) {
        pending = named
    }
}
