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
        var options: OptimizerOptions

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
    /// The last call's layout, reused while the optimizer describes the same slots.
    private var layoutCache = LayoutCache()
    /// Whether an optimizer with Adam's rule takes the fused pass (``AdamKernel/Extras``)
    /// rather than one pass per stage; both give the same bits (tests compare them).
    var fusesAdam = true

    /// An empty state: no steps taken, slots created on the first update.
    public init() {}

    func state(layout: Layout) -> OptimizerState {
        OptimizerState(iterations: iterations, slots: store?.named ?? pendingSlots)
    }

    mutating func restore(_ state: OptimizerState) {
        iterations = state.iterations
        if store != nil { store!.restore(state.slots) } else { pendingSlots = state.slots }
    }

    /// ``makeStore(_:)`` when the store may not be laid out for `layout`: not when the cache
    /// answered with the layout the store was made for (comparing the slot names built them).
    private mutating func prepareStore(_ layout: Layout, cached: Bool) {
        let key = LayoutCache.StoreKey(useEMA: layout.options.useEMA,
                                       accumulates: layout.options.gradientAccumulationSteps != nil)
        if cached, hasStore, layoutCache.storeKey == key { return }
        makeStore(layout)
        layoutCache.storeKey = key
    }

    /// Whether the store exists, asked without copying it: `store != nil` passed the whole
    /// store to the comparison, a retain and a release of each of its arrays on every step.
    private var hasStore: Bool {
        switch store {
        case .some: true
        case .none: false
        }
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

    /// One update of `model`'s trainable variables from their gradients in `stepGradients`:
    /// a read-only pass collects the gradients (accumulation and clipping need all of them),
    /// then each variable is updated in place where the model holds it.
    ///
    /// Specialized for the common optimizers: callers outside this module (and `any Optimizer`)
    /// reach this through generic code, whose metadata look-ups and witness calls cost more
    /// than Adam's arithmetic on a small model's variables.
    @_specialize(where O == Adam)
    @_specialize(where O == AdamW)
    @_specialize(where O == SGD)
    mutating func apply<O: KerasOptimizer>(_ optimizer: O, gradients stepGradients: Gradients,
                                           to model: inout Sequential) throws {
        let (layout, cached) = layoutCache.layout(for: optimizer)
        prepareStore(layout, cached: cached)
        var gradients: [Tensor<Float>] = []
        gradients.reserveCapacity(stepGradients.valueCount)
        // New slot buffers need the shapes and where the weights and gradients are (SlotPlacement);
        // existing ones are checked against the shapes in this pass (no list of shapes per step).
        let placing = store!.needsPreparation
        var shapes: [[Int]] = []
        var neighbours: [[Int]] = []
        let slots = placing ? [] : store!.slots
        var mismatch: Int?
        try model.updateTrainableVariables(handingOver: stepGradients) { index, value, gradient in
            guard value.shape == gradient.shape else {
                throw TrainingError.shapeMismatch(layer: "gradient", expected: value.shape, found: gradient.shape)
            }
            if placing {
                shapes.append(value.shape)
                neighbours.append([SlotPlacement.address(of: value), SlotPlacement.address(of: gradient)])
            } else if mismatch == nil, index >= slots.count || (!slots[index].isEmpty && slots[index][0].shape != value.shape) {
                mismatch = index
            }
            gradients.append(gradient)   // handed over: its last use
        }
        if !placing { try Self.checkSlots(count: slots.count, variables: gradients.count, mismatch: mismatch,
                                          names: { model.trainableVariableNames }) }
        try withPlan(optimizer, layout: layout, gradients: gradients, shapes: placing ? shapes : nil,
                     names: { model.trainableVariableNames }, neighbours: neighbours) { plan, slots in
            // The first pass found every gradient (the plan holds them): this one only visits the values.
            try model.updateTrainableVariablesInOrder { index, value in
                Self.update(&value, index: index, plan: plan, optimizer: optimizer, slots: &slots[index])
            }
        }
    }

    /// One update of `values` (the trainable variables, in a fixed order) by `gradients`;
    /// `names` is asked only when slots are created or restored.
    mutating func apply<O: KerasOptimizer>(
        _ optimizer: O, gradients: [Tensor<Float>], to values: inout [Tensor<Float>], names: () -> [String]
    ) throws {
        let (layout, cached) = layoutCache.layout(for: optimizer)
        prepareStore(layout, cached: cached)
        let neighbours = store!.needsPreparation
            ? zip(values, gradients).map { [SlotPlacement.address(of: $0), SlotPlacement.address(of: $1)] } : []
        try withPlan(optimizer, layout: layout, gradients: gradients, shapes: values.map(\.shape), names: names,
                     neighbours: neighbours) { plan, slots in
            for index in values.indices {
                Self.update(&values[index], index: index, plan: plan, optimizer: optimizer, slots: &slots[index])
            }
        }
    }

    /// What one call does, decided before any variable changes: Keras 3's
    /// `BaseOptimizer._backend_apply_gradients` split into the part over all gradients
    /// (accumulation, clipping, optimizer-wide scalars) and the part per variable (``update``).
    struct Plan {
        /// Whether the rule runs (false on an accumulation micro-step).
        let updates: Bool
        /// The gradients the rule sees: accumulated mean, clipped (but for ``fusedAdam``'s scale).
        let gradients: [Tensor<Float>]
        /// Adam's rule with global-norm clipping's factor still to apply to `gradients`: the
        /// stages are one pass per variable (nil: one pass per stage).
        let fusedAdam: FusedAdam?
        let step: OptimizerStep
        let scalars: [Float]
        let weightDecay: Float?
        let averageIndex: Int?
        let emaMomentum: Float
        let overwritesWithAverage: Bool
    }

    /// Prepares the slots of the store laid out for `layout` (``prepareStore(_:cached:)``),
    /// plans the call, runs `body` with the plan and the slot buffers (moved out of the store
    /// so that they stay uniquely referenced), and counts the call. `shapes` are the
    /// variables' shapes (nil: the caller checked them against the existing slots);
    /// `neighbours` their weight and gradient addresses (empty when not needed).
    private mutating func withPlan<O: KerasOptimizer>(
        _ optimizer: O, layout: Layout, gradients: [Tensor<Float>], shapes: [[Int]]?, names: () -> [String],
        neighbours: [[Int]], _ body: (Plan, inout [[Tensor<Float>]]) throws -> Void
    ) throws {
        if let shapes {
            if store!.needsPreparation {
                try store!.prepare(names: names(), shapes: shapes, neighbours: neighbours)
            } else {
                try checkSlots(for: shapes, names: names)
            }
        }
        var slots = store!.take()
        defer { store!.put(slots) }
        let plan = Self.plan(optimizer, layout: layout, iterations: iterations, gradients: gradients, slots: &slots,
                             scalars: &store!.scalars, fusing: fusesAdam)
        try body(plan, &slots)
        iterations += 1
    }

    /// Catches an optimizer reused on a model with other variables (slots are by position).
    private func checkSlots(for shapes: [[Int]], names: () -> [String]) throws {
        let slots = store!.slots
        let mismatch = shapes.indices.first { index in
            slots.indices.contains(index) && (slots[index].first.map { $0.shape != shapes[index] } ?? false)
        }
        try Self.checkSlots(count: slots.count, variables: shapes.count, mismatch: mismatch, names: names)
    }

    /// The error for `count` slot lists against `variables` variables, or for the first
    /// variable (`mismatch`) whose shape is not its slots'.
    private static func checkSlots(count: Int, variables: Int, mismatch: Int?, names: () -> [String]) throws {
        guard count == variables else {
            throw TrainingError.optimizerStateMismatch(
                variable: names().first ?? "#0", message: "this optimizer was built for another model's variables")
        }
        if let index = mismatch {
            let all = names()
            throw TrainingError.optimizerStateMismatch(
                variable: index < all.count ? all[index] : "#\(index)",
                message: "this optimizer was built for another model's variables")
        }
    }

    /// Accumulation and clipping over all gradients, and the optimizer-wide scalars.
    static func plan<O: KerasOptimizer>(
        _ optimizer: O, layout: Layout, iterations raw: Int64, gradients: [Tensor<Float>],
        slots: inout [[Tensor<Float>]], scalars: inout [Float], fusing: Bool = false
    ) -> Plan {
        let options = layout.options
        let accumulationSteps = options.gradientAccumulationSteps.map(Int64.init)
        // Keras: rules and the EMA see `iterations` (whole accumulation cycles), the schedule `_iterations`.
        let iterations = accumulationSteps.map { raw / $0 } ?? raw
        let step = OptimizerStep(iterations: iterations, learningRate: options.learningRate.value(atStep: raw))
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
        var fused: FusedAdam?
        if updates {
            fused = fusing ? FusedAdam(optimizer, options: options, gradients: grads, step: step) : nil
            if fused == nil { GradientTransforms.clip(&grads, options: options) }
            optimizer.updateScalars(&scalars, step: step)
        }
        return Plan(updates: updates, gradients: updates ? grads : [], fusedAdam: fused, step: step, scalars: scalars,
                    weightDecay: options.weightDecay.map { Float($0) }, averageIndex: layout.averageIndex,
                    emaMomentum: iterations != 0 ? Float(options.emaMomentum) : 0,
                    overwritesWithAverage: options.emaOverwriteFrequency.map { (iterations + 1) % Int64($0) == 0 } ?? false)
    }

    /// One variable's part of the call, as Keras orders it: weight decay, the rule, the EMA
    /// (and its overwrite). Keras runs each stage over all variables before the next; no stage
    /// reads another variable, so doing them variable by variable gives the same values.
    static func update<O: KerasOptimizer>(_ value: inout Tensor<Float>, index: Int, plan: Plan, optimizer: O,
                                          slots: inout [Tensor<Float>]) {
        if plan.updates, let fused = plan.fusedAdam {
            fused.update(&value, gradient: plan.gradients[index], plan: plan, slots: &slots)
            if let slot = plan.averageIndex, plan.overwritesWithAverage { value = slots[slot] }
            return
        }
        if plan.updates {
            if let decay = plan.weightDecay {
                GradientTransforms.decay(&value, rate: decay, learningRate: plan.step.learningRate)
            }
            optimizer.update(&value, gradient: plan.gradients[index], slots: &slots, scalars: plan.scalars, step: plan.step)
        }
        if let slot = plan.averageIndex {
            GradientTransforms.average(value, into: &slots[slot], momentum: plan.emaMomentum)
            if plan.overwritesWithAverage { value = slots[slot] }
        }
    }
}

/// Adam's rule with Keras's stages around it in one pass per variable: the part of a ``OptimizerCore/Plan``
/// that ``AdamKernel`` needs, for an optimizer whose rule is Adam's and whose clipping (if any)
/// is `global_clipnorm`, a factor on every gradient.
struct FusedAdam {
    let beta1: Double, beta2: Double, epsilon: Double
    let gradientScale: Float?
    /// The call's step size (``Adam/stepSize(_:beta1:beta2:)``), computed once for all variables.
    let alpha: Float

    /// Nil when the optimizer's rule is not Adam's or `clipnorm`/`clipvalue` clip element-wise.
    init?<O: KerasOptimizer>(_ optimizer: O, options: OptimizerOptions, gradients: [Tensor<Float>],
                             step: OptimizerStep) {
        // Adam and AdamW are read as themselves: the cast to the protocol boxes the optimizer
        // (an allocation and a conformance look-up on every step).
        let adam: (beta1: Double, beta2: Double, epsilon: Double)
        if let plain = optimizer as? Adam {
            adam = (plain.beta1, plain.beta2, plain.epsilon)
        } else if let decoupled = optimizer as? AdamW {
            adam = (decoupled.beta1, decoupled.beta2, decoupled.epsilon)
        } else if let other = optimizer as? any FusableAdamRule {
            adam = (other.beta1, other.beta2, other.epsilon)
        } else {
            return nil
        }
        // Keras's precedence (GradientTransforms.clip): clipnorm, then global_clipnorm, then clipvalue.
        if let clipnorm = options.clipnorm, clipnorm > 0 { return nil }
        if let global = options.globalClipnorm, global > 0 {
            gradientScale = GradientTransforms.globalClipScale(gradients, limit: Float(global))
        } else if let clipvalue = options.clipvalue, clipvalue > 0 {
            return nil
        } else {
            gradientScale = nil
        }
        beta1 = adam.beta1
        beta2 = adam.beta2
        epsilon = adam.epsilon
        alpha = Adam.stepSize(step, beta1: adam.beta1, beta2: adam.beta2)
    }

    /// Decay, clipping factor, Adam and the EMA of one variable in one pass; the average slot is
    /// moved out (not copied) while the kernel writes it, as Adam does with its own slots.
    func update(_ value: inout Tensor<Float>, gradient: Tensor<Float>, plan: OptimizerCore.Plan,
                slots: inout [Tensor<Float>]) {
        var extras = AdamKernel.Extras(gradientScale: gradientScale,
                                       decay: plan.weightDecay.map { ($0, plan.step.learningRate) })
        guard let slot = plan.averageIndex else {
            Adam.update(&value, gradient: gradient, slots: &slots, alpha: alpha, beta1: beta1, beta2: beta2,
                        epsilon: epsilon, extras: extras)
            return
        }
        var average = Tensor<Float>(zeros: [0])
        swap(&average, &slots[slot])
        defer { swap(&average, &slots[slot]) }
        extras.emaMomentum = plan.emaMomentum
        average.withUnsafeMutableBufferPointer { a in
            extras.average = a.baseAddress
            Adam.update(&value, gradient: gradient, slots: &slots, alpha: alpha, beta1: beta1, beta2: beta2,
                        epsilon: epsilon, extras: extras)
        }
    }
}
