import Tensors

/// What one update tells an optimizer's per-variable rule.
public struct OptimizerStep: Sendable, Equatable {
    /// Keras's `optimizer.iterations` before this update: completed updates (with gradient
    /// accumulation, completed accumulation cycles). Adam's bias correction uses `iterations + 1`.
    public var iterations: Int64
    /// The learning rate of this update (a schedule evaluated at the micro-step counter).
    public var learningRate: Float

    /// A step description; the optimizer builds these, tests may too.
    public init(iterations: Int64, learningRate: Float) {
        self.iterations = iterations
        self.learningRate = learningRate
    }
}

/// An optimizer that describes itself the way a ``Layer`` does, so that checkpoints and Keras
/// files never ask for a concrete optimizer type: its Keras class name, its slots (Keras names,
/// in the order Keras creates them), its own hyper-parameters as a Keras config, and its update
/// as a pure per-variable rule. Everything Keras 3's base optimizer adds — learning-rate
/// schedules, weight decay, clipping, gradient accumulation, EMA — is ``OptimizerOptions``,
/// applied around the rule by ``OptimizerCore`` in Keras's order.
///
/// A new optimizer is one file: a struct with `options`, `core` and its hyper-parameters,
/// ``update(_:gradient:slots:scalars:step:)`` and its Keras config; ``KerasOptimizerTypes``
/// lists it by itself.
///
/// ```swift
/// var optimizer: any Optimizer = RMSprop(options: OptimizerOptions(learningRate: 1e-3), momentum: 0.9)
/// let step = try model.trainingStep(x: x, y: y, loss: .meanSquaredError)
/// try optimizer.apply(step.gradients, to: &model)
/// ```
public protocol KerasOptimizer: Optimizer {
    /// The Keras class name (`"Adam"`); also what files and checkpoints call the optimizer.
    static var kerasClassName: String { get }
    /// The options every Keras optimizer has (learning rate, weight decay, clipping, ...).
    var options: OptimizerOptions { get set }
    /// The step counter and all slot buffers, kept by the shared update loop.
    var core: OptimizerCore { get set }
    /// The slots kept per trainable variable, grouped as Keras creates them: each group is one
    /// `add_optimizer_variables` call, so Keras stores `[variable][slot]` within a group and
    /// groups one after another (`[["momentum", "velocity"]]` for Adam; `[["velocity"],
    /// ["momentum"]]` for RMSprop with momentum).
    var slotGroups: [[String]] { get }
    /// The value a slot starts at (Adagrad's `initial_accumulator_value`); 0 by default.
    func initialValue(ofSlot slot: String) -> Float
    /// Optimizer-wide scalars Keras keeps after the slots (Nadam's `u_product`) and their initial values.
    var scalarSlots: [(name: String, initial: Float)] { get }
    /// Updates the optimizer-wide scalars once per update, before the variables.
    func updateScalars(_ scalars: inout [Float], step: OptimizerStep)
    /// The update of one variable: `slots` holds its slot buffers in `slotGroups.joined()`
    /// order first (entries after those belong to the shared loop; leave them alone) and
    /// `scalars` the optimizer-wide scalars. Pure: depends only on its arguments.
    func update(_ value: inout Tensor<Float>, gradient: Tensor<Float>, slots: inout [Tensor<Float>],
                scalars: [Float], step: OptimizerStep)
    /// Writes the optimizer's own hyper-parameters (not the ``OptimizerOptions``, not `name`).
    func encodeKerasConfig<Config: KerasConfigWriting>(to config: inout Config)
    /// The optimizer a Keras config describes, refusing (``KerasConfigProblem``) every option
    /// that would make it compute differently from Keras.
    static func decodeKerasConfig<Config: KerasConfigReading>(_ config: Config, options: OptimizerOptions) throws -> Self
}

extension KerasOptimizer {
    /// Keras's lower-case name (`"adam"`), used for the optimizer's `name` and checkpoint `kind`.
    public static var kerasName: String { kerasClassName.lowercased() }
    public func initialValue(ofSlot slot: String) -> Float { 0 }
    public var scalarSlots: [(name: String, initial: Float)] { [] }
    public func updateScalars(_ scalars: inout [Float], step: OptimizerStep) {}

    /// The learning rate of the next update; setting it replaces a schedule by a constant.
    public var learningRate: Float {
        get { options.learningRate.value(atStep: core.iterations) }
        set { options.learningRate = .constant(newValue) }
    }

    /// Completed calls of ``apply(_:to:)`` (Keras's `_iterations`, counting accumulation micro-steps).
    public var iterations: Int64 { core.iterations }

    public var state: OptimizerState {
        get { core.state(layout: slotLayout) }
        set { core.restore(newValue) }
    }

    /// The kind and every result-changing setting: the hyper-parameters, the options set and
    /// the schedule (not a constant learning rate).
    public var identity: OptimizerIdentity {
        var writer = IdentityConfigWriter()
        encodeKerasConfig(to: &writer)
        return OptimizerIdentity(kind: Self.kerasName,
                                 hyperParameters: writer.entries.merging(options.identityEntries) { own, _ in own })
    }

    /// Every slot name per variable: the rule's (Keras group order) then the shared loop's.
    var slotLayout: OptimizerCore.Layout {
        let own = slotGroups.flatMap { $0 }
        return OptimizerCore.Layout(ruleSlots: own, initialValues: own.map(initialValue(ofSlot:)),
                                    scalars: scalarSlots, options: options)
    }

    /// With ``OptimizerOptions/useEMA``, overwrites each trainable variable of `model` with its
    /// EMA (Keras's `finalize_variable_values`); a variable without an average yet (no step
    /// taken) keeps its value.
    public func finalizeVariableValues(of model: inout Sequential) throws {
        guard options.useEMA else { return }
        let slots = state.slots
        for name in model.trainableVariableNames {
            if let average = slots["\(name)/\(OptimizerCore.averageSlot)"] { try model.setVariable(name, to: average) }
        }
    }

    /// One update of every trainable variable of `model` from its gradient in `gradients`.
    public mutating func apply(_ gradients: Gradients, to model: inout Sequential) throws {
        var core = OptimizerCore()
        swap(&core, &self.core)
        defer { swap(&core, &self.core) }
        try core.apply(self, gradients: gradients, to: &model)
    }

    /// One update of `values` (the trainable variables, always in the same order) by
    /// `gradients`, for callers that hold gradients as values rather than in a model's layers;
    /// `names` are the variables' names, used for the state's keys and in errors.
    public mutating func apply(gradients: [Tensor<Float>], to values: inout [Tensor<Float>], names: [String]) throws {
        guard gradients.count == values.count, names.count == values.count else {
            throw TrainingError.invalidArgument(
                layer: "optimizer", message: "\(gradients.count) gradients and \(names.count) names for \(values.count) variables")
        }
        for (value, gradient) in zip(values, gradients) where value.shape != gradient.shape {
            throw TrainingError.shapeMismatch(layer: "gradient", expected: value.shape, found: gradient.shape)
        }
        var core = OptimizerCore()
        swap(&core, &self.core)
        defer { swap(&core, &self.core) }
        try core.apply(self, gradients: gradients, to: &values, names: { names })
    }

    /// The names under which Keras stores this optimizer's variables for `variables`, in its
    /// order (after `iteration` and, for a constant rate, `learning_rate`): EMA averages,
    /// gradient accumulators, each slot group, then the scalars. Each entry is a key of
    /// ``OptimizerState/slots``.
    public func kerasVariableOrder(for variables: [String]) -> [String] {
        var order: [String] = []
        if options.useEMA { order += variables.map { "\($0)/\(OptimizerCore.averageSlot)" } }
        if options.gradientAccumulationSteps != nil {
            order += variables.map { "\($0)/\(OptimizerCore.accumulatorSlot)" }
        }
        for group in slotGroups {
            for variable in variables { order += group.map { "\(variable)/\($0)" } }
        }
        return order + scalarSlots.map(\.name)
    }

    /// The value a state entry of ``kerasVariableOrder(for:)`` has before the first step:
    /// the slot's initial value over its variable's shape (from `shapes`), or a scalar's.
    public func initialStateValue(forKey key: String, shapes: [String: [Int]]) -> Tensor<Float> {
        if let scalar = scalarSlots.first(where: { $0.name == key }) { return Tensor(scalar: scalar.initial) }
        let parts = key.split(separator: "/")
        let variable = parts.dropLast().joined(separator: "/")
        let slot = String(parts.last ?? "")
        let own = slotGroups.contains { $0.contains(slot) }
        return Tensor(repeating: own ? initialValue(ofSlot: slot) : 0, shape: shapes[variable] ?? [])
    }
}

/// Records a config as `name → printed value` for ``OptimizerIdentity``; nulls are left out.
struct IdentityConfigWriter: KerasConfigWriting {
    var entries: [String: String] = [:]
    mutating func set(_ key: String, _ value: Int) { entries[key] = "\(value)" }
    mutating func set(_ key: String, _ value: Double) { entries[key] = "\(value)" }
    mutating func set(_ key: String, _ value: Bool) { entries[key] = "\(value)" }
    mutating func set(_ key: String, _ value: String) { entries[key] = value }
    mutating func set(_ key: String, _ value: [Int]) { entries[key] = "\(value)" }
    mutating func set(_ key: String, _ value: [[Int]]) { entries[key] = "\(value)" }
    mutating func setNull(_ key: String) {}
    mutating func setInitializer(_ key: String, className: String, seeded: Bool) { entries[key] = className }
}

/// The optimizer types a Keras config or a checkpoint can name, found by
/// ``KerasOptimizer/kerasClassName``. Its `all` is generated at build time
/// (Plugins/TypeRegistryPlugin): every type of this module that conforms to ``KerasOptimizer``,
/// so a new optimizer is its own file and nothing else.
public enum KerasOptimizerTypes {
    /// The type Keras calls `name` (`"Adam"`, `"adam"`, `"Custom>Adam"`); nil when Batchwise has none.
    public static func type(named name: String) -> (any KerasOptimizer.Type)? {
        let bare = name.split(separator: ">").last.map(String.init)?.lowercased() ?? ""
        return all.first { $0.kerasName == bare }
    }
}
