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
    /// The names of the new variable values, sorted when set through ``variables``; parallel
    /// to ``variableValues``. Kept as two small arrays rather than a dictionary because a
    /// training step makes one of these per layer per step (hashing its names cost more than
    /// the statistics themselves on small models).
    private(set) var variableNames: [String] = []
    /// The new variable values, parallel to ``variableNames``.
    private(set) var variableValues: [Tensor<Float>] = []

    /// New variable values by local name, applied with ``Layer/setVariable(_:to:)``.
    public var variables: [String: Tensor<Float>] {
        get { Dictionary(zip(variableNames, variableValues), uniquingKeysWith: { _, last in last }) }
        set {
            variableNames.removeAll()
            variableValues.removeAll()
            for (name, value) in newValue.sorted(by: { $0.key < $1.key }) {
                variableNames.append(name)
                variableValues.append(value)
            }
        }
    }
    /// The new value of the variable named `name`, if this update holds one: ``variables``'s
    /// entry, found without building the dictionary.
    public func value(of name: String) -> Tensor<Float>? {
        variableNames.lastIndex(of: name).map { variableValues[$0] }
    }

    /// The generator state after the pass, applied with ``Layer/setRandomState(_:)``.
    public var randomState: UInt64?

    /// An update; empty by default.
    public init(variables: [String: Tensor<Float>] = [:], randomState: UInt64? = nil) {
        if !variables.isEmpty { self.variables = variables }
        self.randomState = randomState
    }

    /// An update of the variables `names` to `values` (parallel arrays, names distinct): a
    /// layer passes a constant list of names, so a step allocates only the list of values.
    init(variableNames names: [String], values: [Tensor<Float>]) {
        precondition(names.count == values.count, "\(names.count) names for \(values.count) values")
        variableNames = names
        variableValues = values
    }

    /// Sets one variable's new value (replacing an earlier one of the same name) without
    /// going through a dictionary: what layers use on the per-step path.
    mutating func setVariable(_ localName: String, to value: Tensor<Float>) {
        if let index = variableNames.firstIndex(of: localName) {
            variableValues[index] = value
        } else {
            variableNames.append(localName)
            variableValues.append(value)
        }
    }

    /// Whether the pass changes nothing.
    public var isEmpty: Bool { variableNames.isEmpty && randomState == nil }

    /// The same variables (in any order) with equal values, and the same generator state.
    public static func == (lhs: LayerStateUpdate, rhs: LayerStateUpdate) -> Bool {
        lhs.randomState == rhs.randomState && lhs.variableNames.count == rhs.variableNames.count
            && zip(lhs.variableNames, lhs.variableValues).allSatisfy { name, value in
                rhs.variableNames.firstIndex(of: name).map { rhs.variableValues[$0] == value } ?? false
            }
    }
}
