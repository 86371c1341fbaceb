import Tensors

/// The state and the update loop every ``KerasOptimizer`` shares: the step counter, the slot
/// buffers, and Keras 3's base-optimizer steps around the optimizer's own rule — gradient
/// accumulation, clipping, weight decay, the rule, then the EMA of the weights — in that order.
///
/// ```swift
/// let fresh = OptimizerCore()     // what a new optimizer starts with: no steps, no slots
/// fresh.iterations                // 0
/// ```
public struct OptimizerCore: Sendable, Equatable {
    /// The slot Keras calls the EMA copy of a variable.
    public static let averageSlot = "average"
    /// The slot Keras calls a variable's gradient accumulator.
    public static let accumulatorSlot = "gradient_accumulator"

    /// What the loop needs from the optimizer to lay out its slots.
    struct Layout {
        let ruleSlots: [String]
        let initialValues: [Float]
        let scalars: [(name: String, initial: Float)]
        let options: OptimizerOptions

        var averageIndex: Int? { options.useEMA ? ruleSlots.count : nil }
        var accumulatorIndex: Int? {
            options.gradientAccumulationSteps == nil ? nil : ruleSlots.count + (options.useEMA ? 1 : 0)
        }
        var slotNames: [String] {
            ruleSlots + (options.useEMA ? [OptimizerCore.averageSlot] : [])
                + (options.gradientAccumulationSteps == nil ? [] : [OptimizerCore.accumulatorSlot])
        }
        var slotInitialValues: [Float] { initialValues + Array(repeating: 0, count: slotNames.count - ruleSlots.count) }
    }

    /// Completed calls of the update (Keras's `_iterations`).
    public internal(set) var iterations: Int64 = 0
    private var store: SlotStore?
    private var pendingSlots: [String: Tensor<Float>] = [:]

    /// An empty state: no steps taken, slots created on the first update.
    public init() {}

    func state(layout: Layout) -> OptimizerState {
        OptimizerState(iterations: iterations, slots: store?.named ?? pendingSlots)
    }

    mutating func restore(_ state: OptimizerState) {
        iterations = state.iterations
        if store != nil { store!.restore(state.slots) } else { pendingSlots = state.slots }
    }

    /// A store laid out for `layout`, carrying over the slots the previous layout shares with it
    /// (options changed between steps) or the state restored before the first step.
    private mutating func makeStore(_ layout: Layout) {
        let names = layout.slotNames
        if let store, store.slotNames == names, store.scalarNames == layout.scalars.map(\.name) { return }
        var fresh = SlotStore(slotNames: names, initialValues: layout.slotInitialValues, scalars: layout.scalars)
        if let store {
            let kept = Set(names)
            fresh.restore(store.named.filter { key, _ in
                kept.contains(String(key.split(separator: "/").last ?? "")) || fresh.scalarNames.contains(key)
            })
        } else {
            fresh.restore(pendingSlots)
            pendingSlots = [:]
        }
        store = fresh
    }

    /// One update of `model`'s trainable variables from their gradients in `stepGradients`.
    mutating func apply<O: KerasOptimizer>(_ optimizer: O, gradients stepGradients: Gradients,
                                           to model: inout Sequential) throws {
        var values: [Tensor<Float>] = []
        var gradients: [Tensor<Float>] = []
        // The values are moved out of the model (not copied) so the update mutates them in
        // place, and moved back however the update ends.
        defer {
            try? model.updateTrainableVariables(using: stepGradients) { index, value, _ in
                if index < values.count { swap(&value, &values[index]) }
            }
        }
        try model.updateTrainableVariables(using: stepGradients) { _, value, gradient in
            guard value.shape == gradient.shape else {
                throw TrainingError.shapeMismatch(layer: "gradient", expected: value.shape, found: gradient.shape)
            }
            var taken = Tensor<Float>(zeros: [0])
            swap(&taken, &value)
            values.append(taken)
            gradients.append(gradient)
        }
        try apply(optimizer, gradients: gradients, to: &values, names: { model.trainableVariableNames })
    }

    /// One update of `values` (the trainable variables, in a fixed order) by `gradients`;
    /// `names` is asked only when slots are created or restored.
    mutating func apply<O: KerasOptimizer>(
        _ optimizer: O, gradients: [Tensor<Float>], to values: inout [Tensor<Float>], names: () -> [String]
    ) throws {
        let layout = optimizer.slotLayout
        makeStore(layout)
        if store!.needsPreparation {
            try store!.prepare(names: names(), shapes: values.map(\.shape))
        } else {
            try checkSlots(for: values, names: names)
        }
        var slots = store!.take()
        defer { store!.put(slots) }
        var scalars = store!.scalars
        defer { store!.scalars = scalars }
        try Self.step(optimizer, layout: layout, iterations: iterations, gradients: gradients, values: &values,
                      slots: &slots, scalars: &scalars)
        iterations += 1
    }

    /// Catches an optimizer reused on a model with other variables (slots are by position).
    private func checkSlots(for values: [Tensor<Float>], names: () -> [String]) throws {
        let slots = store!.slots
        guard slots.count == values.count else {
            throw TrainingError.optimizerStateMismatch(
                variable: names().first ?? "#0", message: "this optimizer was built for another model's variables")
        }
        for (index, value) in values.enumerated() where slots[index].first.map({ $0.shape != value.shape }) ?? false {
            let all = names()
            throw TrainingError.optimizerStateMismatch(
                variable: index < all.count ? all[index] : "#\(index)",
                message: "this optimizer was built for another model's variables")
        }
    }

    /// Keras 3's `BaseOptimizer._backend_apply_gradients` for one call of `apply`.
    static func step<O: KerasOptimizer>(
        _ optimizer: O, layout: Layout, iterations raw: Int64, gradients: [Tensor<Float>],
        values: inout [Tensor<Float>], slots: inout [[Tensor<Float>]], scalars: inout [Float]
    ) throws {
        let options = layout.options
        let accumulationSteps = options.gradientAccumulationSteps.map(Int64.init)
        // Keras: rules and the EMA see `iterations` (whole accumulation cycles), the schedule `_iterations`.
        let iterations = accumulationSteps.map { raw / $0 } ?? raw
        let learningRate = options.learningRate.value(atStep: raw)
        var grads = gradients
        var updates = true
        if let steps = accumulationSteps, let slot = layout.accumulatorIndex {
            if (raw + 1) % steps != 0 {
                for v in grads.indices { GradientTransforms.add(grads[v], into: &slots[v][slot]) }
                updates = false
            } else {
                for v in grads.indices {
                    grads[v] = GradientTransforms.mean(grads[v], accumulated: &slots[v][slot], steps: Float(steps))
                }
            }
        }
        if updates {
            GradientTransforms.clip(&grads, options: options)
            if let decay = options.weightDecay {
                for v in values.indices { GradientTransforms.decay(&values[v], rate: Float(decay), learningRate: learningRate) }
            }
            let step = OptimizerStep(iterations: iterations, learningRate: learningRate)
            optimizer.updateScalars(&scalars, step: step)
            for v in values.indices {
                optimizer.update(&values[v], gradient: grads[v], slots: &slots[v], scalars: scalars, step: step)
            }
        }
        if let slot = layout.averageIndex {
            let momentum: Float = iterations != 0 ? Float(options.emaMomentum) : 0
            let overwrite = options.emaOverwriteFrequency.map { (iterations + 1) % Int64($0) == 0 } ?? false
            for v in values.indices {
                GradientTransforms.average(values[v], into: &slots[v][slot], momentum: momentum)
                if overwrite { values[v] = slots[v][slot] }
            }
        }
    }
}
