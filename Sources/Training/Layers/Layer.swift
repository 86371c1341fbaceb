import Tensors

/// A network layer: a value type holding its variables, the caches of its last stateful
/// forward pass and the gradients of its last backward pass.
///
/// Layers are composed by ``Sequential``, which builds them (fixing input widths and
/// drawing initial weights), names them Keras-style and drives forward and backward.
/// Inputs are rank 2, `[batch, features]`.
///
/// ```swift
/// var dense = Dense(units: 2, activation: .relu, inputSize: 3, seed: 7)
/// let y = try dense(x, mode: .inference)                 // pure
/// let y2 = try dense.forward(x, mode: .training)         // caches for backward
/// let dx = try dense.backward(dy, needsInputGradient: true)
/// dense.gradients                                        // [kernel, bias]
/// ```
public protocol Layer: Sendable {
    /// The layer's name; empty until ``Sequential`` assigns a Keras-style one.
    var name: String { get set }
    /// The prefix of automatic names (`"dense"` gives `dense`, `dense_1`, ...).
    static var namePrefix: String { get }
    /// Whether optimizers may change this layer's variables. A frozen BatchNormalization
    /// also runs in inference mode, as in Keras.
    var isTrainable: Bool { get set }
    /// The input width once built.
    var inputFeatures: Int? { get }
    /// The output width for a given input width.
    func outputFeatures(forInput inputFeatures: Int) -> Int

    /// Fixes the input width and creates variables. `seed` is a model-derived seed the
    /// layer uses only when it was not given its own.
    /// - Returns: the output width.
    mutating func build(inputFeatures: Int, seed: UInt64) throws -> Int

    /// A pure forward pass: no caches, no moving-statistics update, no RNG advance.
    func callAsFunction(_ input: Tensor<Float>, mode: ExecutionMode) throws -> Tensor<Float>

    /// The stateful forward pass used for training: caches what ``backward(_:needsInputGradient:)``
    /// needs, updates BN moving statistics in training mode and advances Dropout's RNG.
    mutating func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> Tensor<Float>

    /// Back-propagates ∂L/∂output through the last stateful forward pass, stores the
    /// gradients of trainable variables and returns ∂L/∂input (nil when not needed).
    mutating func backward(_ upstream: Tensor<Float>, needsInputGradient: Bool) throws -> Tensor<Float>?

    /// Every variable with its local name (`kernel`, `moving_mean`, ...) in Keras order.
    var variables: [NamedVariable] { get }
    /// Gradients of the trainable variables from the last backward pass, local names.
    var gradients: [NamedVariable] { get }
    /// Replaces a variable by local name, checking its shape.
    mutating func setVariable(_ localName: String, to value: Tensor<Float>) throws

    /// Calls `update` with each trainable variable (in ``variables`` order) and its gradient.
    mutating func updateTrainableVariables(
        _ update: (_ value: inout Tensor<Float>, _ gradient: Tensor<Float>) throws -> Void
    ) throws

    /// The activation producing this layer's output, if it is one a crossentropy can fuse
    /// with (sigmoid, softmax); `nil` for other layers.
    var outputActivation: Activation? { get }
    /// The pre-activation values of the last stateful forward pass (for fused losses).
    var lastLogits: Tensor<Float>? { get }
    /// Like ``backward(_:needsInputGradient:)`` but starting from ∂L/∂logits.
    mutating func backward(logitGradient: Tensor<Float>, needsInputGradient: Bool) throws -> Tensor<Float>?
    /// The same function computed from the logits in a pure pass (for fused losses).
    func logits(_ input: Tensor<Float>, mode: ExecutionMode) throws -> Tensor<Float>?

    // MARK: Self-description, so files, optimizers and summaries never ask for a concrete type

    /// How many values ``build(inputFeatures:seed:)`` will allocate for `inputFeatures`
    /// inputs, known before allocating (model configs from files are checked against a limit).
    func parameterCount(forInput inputFeatures: Int) -> Int
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
    public var outputActivation: Activation? { nil }
    public var lastLogits: Tensor<Float>? { nil }
    public mutating func backward(
        logitGradient: Tensor<Float>, needsInputGradient: Bool
    ) throws -> Tensor<Float>? {
        try backward(logitGradient, needsInputGradient: needsInputGradient)
    }
    public func logits(_ input: Tensor<Float>, mode: ExecutionMode) throws -> Tensor<Float>? { nil }

    /// The type's name as shown by ``Sequential/summary()``.
    public var typeName: String { String(describing: type(of: self)) }

    /// Local names of the trainable variables, in order.
    public var trainableVariableNames: [String] {
        variables.filter(\.isTrainable).map(\.name)
    }

    public func parameterCount(forInput inputFeatures: Int) -> Int { 0 }
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

    /// Checks a rank-2 input of the built width.
    func checkInput(_ input: Tensor<Float>) throws {
        let expected = inputFeatures ?? -1
        guard input.rank == 2, expected < 0 || input.shape[1] == expected else {
            throw TrainingError.shapeMismatch(layer: name, expected: [-1, expected], found: input.shape)
        }
    }
}
