import Tensors

/// A network layer: a value type holding its configuration and variables — never the
/// state of a training step.
///
/// A layer has one forward computation, ``forward(_:mode:)``, which returns its output
/// together with everything a training step needs besides it (a ``LayerOutput``): the
/// layer's ``Tape`` for ``backward(_:tape:gradients:needsInputGradient:)``, the
/// pre-activation values a fused loss starts from, and the ``LayerStateUpdate`` the pass
/// produces (BatchNormalization's new moving statistics, Dropout's advanced generator).
/// The layer itself does not change, so a model value can be shared by threads for
/// inference; as in equinox, the layer holds parameters and the state is a value passed
/// through.
///
/// Layers are composed by ``Sequential``, which builds them (fixing per-example input
/// shapes and drawing initial weights), names them Keras-style and drives forward and
/// backward. Shapes are per example, without the batch axis: `[features]` for a
/// `[batch, features]` input, `[height, width, channels]` for images.
///
/// ```swift
/// var dense = Dense(units: 2, activation: .relu, seed: 7)
/// _ = try dense.build(inputShape: [3], seed: 0)
/// let x = Tensor<Float>(repeating: 1, shape: [4, 3])
/// let y = try dense(x, mode: .inference)                 // the output only
/// let pass = try dense.forward(x, mode: .training)        // output, tape, state update
/// var gradients = LayerGradients()
/// let dx = try dense.backward(Tensor(repeating: 1, shape: [4, 2]), tape: pass.tape,
///                             gradients: &gradients, needsInputGradient: true)
/// print(gradients.names, y == pass.output, dx?.shape ?? [])   // ["kernel", "bias"] true [4, 3]
/// ```
public protocol Layer: Sendable {
    /// What one forward pass keeps for the backward pass through it (the input, the mask
    /// drawn, the statistics used); `Void` for a layer whose backward needs nothing.
    associatedtype Tape: Sendable = Void

    /// The layer's name; empty until ``Sequential`` assigns a Keras-style one.
    var name: String { get set }
    /// The prefix of automatic names (`"dense"` gives `dense`, `dense_1`, ...).
    static var namePrefix: String { get }
    /// Whether optimizers may change this layer's variables. A frozen BatchNormalization
    /// also runs in inference mode, as in Keras.
    var isTrainable: Bool { get set }

    /// The shape of one input example (without the batch axis) once built.
    var inputShape: [Int]? { get }
    /// The shape of one output example for one input example shaped `inputShape`.
    /// - Throws: ``TrainingError/shapeMismatch(layer:expected:found:)`` when the layer
    ///   cannot take inputs of that shape (a ``Dense`` needs a rank-1 example).
    func outputShape(forInput inputShape: [Int]) throws -> [Int]
    /// Fixes the per-example input shape and creates variables. `seed` is a model-derived
    /// seed the layer uses only when it was not given its own.
    /// - Returns: the per-example output shape.
    mutating func build(inputShape: [Int], seed: UInt64) throws -> [Int]

    /// The layer's one forward computation, in `mode`. It never changes the layer: what a
    /// training step needs besides the output is in the returned value.
    func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> LayerOutput<Tape>

    /// Back-propagates ∂L/∂output through the forward pass that produced `tape`, stores the
    /// gradients of trainable variables in `gradients` by local name (none when the layer
    /// is frozen) and returns ∂L/∂input (nil when not needed).
    ///
    /// `gradients` starts empty; ``LayerGradients/reusableBuffer(_:)`` hands out the
    /// previous step's storage of a gradient, so a layer can write into it instead of
    /// allocating.
    func backward(_ upstream: Tensor<Float>, tape: Tape, gradients: inout LayerGradients,
                  needsInputGradient: Bool) throws -> Tensor<Float>?

    /// The activation producing this layer's output, if it is one a crossentropy can fuse
    /// with (sigmoid, softmax); `nil` for other layers. Such a layer reports its
    /// pre-activation values in ``LayerOutput/logits``.
    var outputActivation: Activation? { get }
    /// Like ``backward(_:tape:gradients:needsInputGradient:)`` but starting from ∂L/∂logits.
    func backward(logitGradient: Tensor<Float>, tape: Tape, gradients: inout LayerGradients,
                  needsInputGradient: Bool) throws -> Tensor<Float>?

    /// Every variable with its local name (`kernel`, `moving_mean`, ...) in Keras order.
    var variables: [NamedVariable] { get }
    /// Replaces a variable by local name, checking its shape.
    mutating func setVariable(_ localName: String, to value: Tensor<Float>) throws
    /// Calls `update` with each trainable variable (the trainable ones of ``variables``, in
    /// that order) by local name, in place. The default reads ``variables`` and writes back
    /// with ``setVariable(_:to:)``, which copies each variable once; layers with large
    /// variables implement it on their storage.
    mutating func updateTrainableVariables(
        _ update: (_ localName: String, _ value: inout Tensor<Float>) throws -> Void
    ) throws

    // MARK: Self-description, so files, optimizers and summaries never ask for a concrete type

    /// How many values ``build(inputShape:seed:)`` will allocate for examples shaped
    /// `inputShape`, known before allocating (model configs from files are checked against a limit).
    func parameterCount(forInput inputShape: [Int]) -> Int
    /// The state of the layer's random generator (Dropout's masks), saved in checkpoints;
    /// nil for a layer that draws nothing.
    var randomState: UInt64? { get }
    /// Restores the generator state that ``randomState`` reported.
    mutating func setRandomState(_ state: UInt64) throws
    /// Which statistics a normalizing layer (BatchNormalization) uses; nil for other layers,
    /// which ignore setting it.
    var normalizationStatistics: BatchNormStatistics? { get set }
    /// Extra attributes of the layer's group in a native checkpoint, in writing order (the
    /// checkpoint writer adds `rng_state` from ``randomState`` itself).
    var checkpointAttributes: [(name: String, value: LayerAttribute)] { get }

    /// The layer's Keras class name (`"Dense"`); nil when Keras has no equivalent.
    static var kerasClassName: String? { get }
    /// Whether a Keras config records the layer's input shape (`build_config`); Keras does
    /// for layers with a build step.
    static var kerasRecordsBuildShape: Bool { get }
    /// Writes the layer's own Keras config options (not `name`, `trainable`, `dtype`).
    func encodeKerasConfig<Config: KerasConfigWriting>(to config: inout Config)
    /// The layer a Keras config describes, refusing (``KerasConfigProblem``) every option
    /// that would make it compute differently from Keras.
    static func decodeKerasConfig<Config: KerasConfigReading>(_ config: Config, name: String) throws -> Self
}

extension Layer {
    /// The output of ``forward(_:mode:)`` alone: for inference, or wherever only the value
    /// matters. In training mode Dropout draws from its current state without advancing it.
    public func callAsFunction(_ input: Tensor<Float>, mode: ExecutionMode) throws -> Tensor<Float> {
        try forward(input, mode: mode).output
    }

    public var outputActivation: Activation? { nil }
    public func backward(logitGradient: Tensor<Float>, tape: Tape, gradients: inout LayerGradients,
                         needsInputGradient: Bool) throws -> Tensor<Float>? {
        try backward(logitGradient, tape: tape, gradients: &gradients, needsInputGradient: needsInputGradient)
    }

    public mutating func updateTrainableVariables(
        _ update: (_ localName: String, _ value: inout Tensor<Float>) throws -> Void
    ) throws {
        for variable in variables where variable.isTrainable {
            var value = variable.value
            try update(variable.name, &value)
            try setVariable(variable.name, to: value)
        }
    }

    /// The type's name as shown by ``Sequential/summary()``.
    public var typeName: String { String(describing: type(of: self)) }

    /// Local names of the trainable variables, in order.
    public var trainableVariableNames: [String] {
        variables.filter(\.isTrainable).map(\.name)
    }

    public func parameterCount(forInput inputShape: [Int]) -> Int { 0 }
    public var randomState: UInt64? { nil }
    public mutating func setRandomState(_ state: UInt64) throws {
        throw TrainingError.unknownVariable(name: "\(name)/rng_state", available: [])
    }
    public var normalizationStatistics: BatchNormStatistics? {
        get { nil }
        set {}
    }
    public var checkpointAttributes: [(name: String, value: LayerAttribute)] { [] }
    public static var kerasClassName: String? { nil }
    public static var kerasRecordsBuildShape: Bool { false }
    public func encodeKerasConfig<Config: KerasConfigWriting>(to config: inout Config) {}
    public static func decodeKerasConfig<Config: KerasConfigReading>(_ config: Config, name: String) throws -> Self {
        throw TrainingError.invalidArgument(layer: name, message: "\(Self.self) cannot be read from a Keras config")
    }

    /// Checks that `input` is a batch of examples of the built shape (any rank).
    func checkInput(_ input: Tensor<Float>) throws {
        guard let inputShape else { return }
        guard input.rank == inputShape.count + 1, input.shape.dropFirst().elementsEqual(inputShape) else {
            throw TrainingError.shapeMismatch(layer: name, expected: [-1] + inputShape, found: input.shape)
        }
    }

    /// Checks that an example shape is `[features]` (rank-2 inputs) and returns `features`,
    /// for layers that work on feature vectors only (Dense, BatchNormalization).
    func featureCount(of inputShape: [Int]) throws -> Int {
        guard inputShape.count == 1 else {
            throw TrainingError.shapeMismatch(layer: name, expected: [-1, -1], found: [-1] + inputShape)
        }
        guard inputShape[0] > 0 else {
            throw TrainingError.invalidArgument(layer: name, message: "input width must be positive, got \(inputShape[0])")
        }
        return inputShape[0]
    }

    /// Replaces `variable` by `value` when their shapes agree; the error names `<layer>/<localName>`.
    static func replace(_ variable: inout Tensor<Float>, with value: Tensor<Float>, layer: String,
                        localName: String) throws {
        guard value.shape == variable.shape else {
            throw TrainingError.shapeMismatch(layer: "\(layer)/\(localName)", expected: variable.shape, found: value.shape)
        }
        variable = value
    }

    /// Checks that `inputShape` is the one the layer was built with (when it was).
    func checkRebuild(_ inputShape: [Int]) throws {
        if let built = self.inputShape, built != inputShape {
            throw TrainingError.shapeMismatch(layer: name, expected: [-1] + built, found: [-1] + inputShape)
        }
    }
}
