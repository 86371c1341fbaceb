import Tensors

/// What one forward pass of one layer produces: its output, the layer's tape for the
/// backward pass, its pre-activation values when a loss may fuse with its activation, and
/// the change the pass makes to the layer's state.
///
/// ```swift
/// let pass = try Dropout(rate: 0.5, seed: 3).forward(Tensor(repeating: 1, shape: [2, 4]), mode: .training)
/// print(pass.stateUpdate.randomState != nil)   // true: the generator moved on
/// ```
public struct LayerOutput<Tape: Sendable>: Sendable {
    /// The layer's output.
    public var output: Tensor<Float>
    /// What ``Layer/backward(_:tape:gradients:needsInputGradient:)`` needs from this pass.
    public var tape: Tape
    /// The values before ``Layer/outputActivation`` (a fused crossentropy starts from them);
    /// nil for a layer without such an activation.
    public var logits: Tensor<Float>?
    /// New moving statistics and the advanced generator state; empty when the pass changes nothing.
    public var stateUpdate: LayerStateUpdate

    /// A forward result; `logits` and `stateUpdate` default to none.
    public init(output: Tensor<Float>, tape: Tape, logits: Tensor<Float>? = nil,
                stateUpdate: LayerStateUpdate = LayerStateUpdate()) {
        self.output = output
        self.tape = tape
        self.logits = logits
        self.stateUpdate = stateUpdate
    }
}

extension LayerOutput where Tape == Void {
    /// The result of a layer whose backward pass needs nothing from the forward pass.
    public init(output: Tensor<Float>) {
        self.init(output: output, tape: ())
    }
}

/// How one forward pass changes a layer's state, to be applied by the caller
/// (``Sequential/apply(_:)``) rather than by the pass itself: new values of variables the
/// pass updates (BatchNormalization's `moving_mean` and `moving_variance`, by local name)
/// and the random generator state after the pass (Dropout's).
///
/// ```swift
/// var update = LayerStateUpdate()
/// update.variables["moving_mean"] = Tensor([0.5])
/// print(update.isEmpty)   // false
/// ```
public struct LayerStateUpdate: Sendable, Equatable {
    /// New variable values by local name, applied with ``Layer/setVariable(_:to:)``.
    public var variables: [String: Tensor<Float>]
    /// The generator state after the pass, applied with ``Layer/setRandomState(_:)``.
    public var randomState: UInt64?

    /// An update; empty by default.
    public init(variables: [String: Tensor<Float>] = [:], randomState: UInt64? = nil) {
        self.variables = variables
        self.randomState = randomState
    }

    /// Whether the pass changes nothing.
    public var isEmpty: Bool { variables.isEmpty && randomState == nil }
}
