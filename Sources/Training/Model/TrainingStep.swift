import Tensors

/// Everything one training step computes from a model value that does not change while it
/// computes (``Sequential/trainingStep(x:y:loss:mode:reusing:)``): the loss, the outputs,
/// the gradients for an optimizer and the state the forward pass moved on.
///
/// ```swift
/// let step = try model.trainingStep(x: x, y: y, loss: .sparseCategoricalCrossentropy)
/// try model.apply(step.stateUpdate)          // BN moving statistics, Dropout generators
/// try adam.apply(step.gradients, to: &model) // the trainable variables
/// ```
public struct TrainingStep: Sendable {
    /// The batch-mean loss.
    public var loss: Float
    /// The model's outputs (probabilities, not logits).
    public var predictions: Tensor<Float>
    /// The gradient of every trainable variable.
    public var gradients: Gradients
    /// New moving statistics and advanced generator states, for ``Sequential/apply(_:)``.
    public var stateUpdate: ModelStateUpdate
}

/// The state changes of one forward pass through a model, by layer name: what each
/// layer's ``LayerStateUpdate`` says. ``Sequential/apply(_:)`` writes them into the model.
///
/// ```swift
/// let step = try model.trainingStep(x: x, y: y, loss: .binaryCrossentropy)
/// let newMean = step.stateUpdate.layers["batch_normalization"]?.variables["moving_mean"]
/// ```
public struct ModelStateUpdate: Sendable, Equatable {
    /// One layer's update with where the step found the layer.
    struct Entry: Sendable {
        var layerName: String
        /// The layer's position in the model that made the update (nil: set by name only).
        var layerIndex: Int?
        var update: LayerStateUpdate
    }

    /// The updates in the order ``Sequential/apply(_:)`` applies them: model order when a
    /// step made them, by name when set through ``layers``. An array, not a dictionary, so a
    /// step hashes no layer names and ``Sequential/apply(_:)`` finds each layer by position.
    private(set) var entries: [Entry] = []

    /// Each changed layer's update, by layer name.
    public var layers: [String: LayerStateUpdate] {
        get { Dictionary(entries.map { ($0.layerName, $0.update) }, uniquingKeysWith: { _, last in last }) }
        set {
            entries = newValue.sorted(by: { $0.key < $1.key }).map { Entry(layerName: $0.key, layerIndex: nil, update: $0.value) }
        }
    }

    /// An update; empty by default.
    public init(layers: [String: LayerStateUpdate] = [:]) {
        if !layers.isEmpty { self.layers = layers }
    }

    /// Records the update of the layer at `index` of the model, named `name` (replacing an
    /// earlier update of that layer).
    mutating func set(_ update: LayerStateUpdate, layer name: String, index: Int) {
        if let existing = entries.firstIndex(where: { $0.layerName == name }) {
            entries[existing] = Entry(layerName: name, layerIndex: index, update: update)
        } else {
            // Room for a few layers at once: growing one slot at a time reallocated every step.
            if entries.isEmpty { entries.reserveCapacity(4) }
            entries.append(Entry(layerName: name, layerIndex: index, update: update))
        }
    }

    /// The new value of `variable` of the layer named `layer`, if the update holds one:
    /// `layers[layer]?.variables[variable]`, found without building either dictionary (the
    /// data-parallel trainer reads every moving statistic this way each step).
    public func value(of variable: String, inLayer layer: String) -> Tensor<Float>? {
        entries.last(where: { $0.layerName == layer })?.update.value(of: variable)
    }

    /// Whether the pass changed nothing.
    public var isEmpty: Bool { entries.allSatisfy(\.update.isEmpty) }

    /// The same layers' updates, in any order.
    public static func == (lhs: ModelStateUpdate, rhs: ModelStateUpdate) -> Bool { lhs.layers == rhs.layers }
}

/// One layer's forward result with its tape's type erased, so that a model keeps the tapes
/// of different layer types in one list.
struct ErasedLayerOutput {
    var output: Tensor<Float>
    var tape: any Sendable
    var logits: Tensor<Float>?
    var stateUpdate: LayerStateUpdate
}

extension Layer {
    /// ``forward(_:mode:)`` with the tape erased.
    ///
    /// A model reaches this through `any Layer`, so it runs unspecialized: generic layouts of
    /// the layer's output and tape, looked up at run time, cost more than a small layer's
    /// arithmetic. The common layers get specialized copies, chosen by a type check on entry.
    @_specialize(where Self == Dense)
    @_specialize(where Self == BatchNormalization)
    @_specialize(where Self == ActivationLayer)
    func erasedForward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> ErasedLayerOutput {
        // The body lives in a function of its own: here, the unspecialized entry would look up
        // `LayerOutput<Tape>`'s metadata (about 450 instructions) before its type check picked
        // the specialized copy, on every layer and step.
        try forward(erasing: input, mode: mode)
    }

    /// ``erasedForward(_:mode:)``'s body.
    @inline(never)
    private func forward(erasing input: Tensor<Float>, mode: ExecutionMode) throws -> ErasedLayerOutput {
        let pass = try forward(input, mode: mode)
        return ErasedLayerOutput(output: pass.output, tape: pass.tape, logits: pass.logits, stateUpdate: pass.stateUpdate)
    }

    /// The backward pass through a tape this layer's ``erasedForward(_:mode:)`` produced,
    /// from ∂L/∂output or, with `fromLogits`, from ∂L/∂logits (specialized as ``erasedForward(_:mode:)``).
    @_specialize(where Self == Dense)
    @_specialize(where Self == BatchNormalization)
    @_specialize(where Self == ActivationLayer)
    func erasedBackward(_ upstream: Tensor<Float>, tape: any Sendable, fromLogits: Bool,
                        gradients: inout LayerGradients, needsInputGradient: Bool) throws -> Tensor<Float>? {
        // The cast lives in a function of its own: here, the unspecialized entry would look up
        // `Optional<Tape>`'s metadata (about 450 instructions) before its type check picked
        // the specialized copy, on every layer and step.
        try backward(throughErased: upstream, tape: tape, fromLogits: fromLogits, gradients: &gradients,
                     needsInputGradient: needsInputGradient)
    }

    /// ``erasedBackward(_:tape:fromLogits:gradients:needsInputGradient:)``'s body.
    @inline(never)
    private func backward(throughErased upstream: Tensor<Float>, tape: any Sendable, fromLogits: Bool,
                          gradients: inout LayerGradients, needsInputGradient: Bool) throws -> Tensor<Float>? {
        guard let tape = Self.tape(fromErased: tape) else { throw TrainingError.missingGradients(layer: name) }
        if fromLogits {
            return try backward(logitGradient: upstream, tape: tape, gradients: &gradients,
                                needsInputGradient: needsInputGradient)
        }
        return try backward(upstream, tape: tape, gradients: &gradients, needsInputGradient: needsInputGradient)
    }
}
