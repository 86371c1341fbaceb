import Tensors

/// A stack of layers applied in order to batches of examples: `[batch, features]`, or any
/// rank the layers take (``inputShape`` is the shape of one example).
///
/// Building fixes every layer's input shape, draws initial weights from seeds derived from
/// `seed` (for layers without their own) and names layers like Keras (`dense`, `dense_1`,
/// `batch_normalization`, ...). The mode of every forward call is explicit; inference
/// variants are data (``withBatchNormStatistics(_:)`` returns a modified copy).
///
/// A model value never changes while it computes: ``trainingStep(x:y:loss:mode:reusing:)``
/// returns the loss, the ``Gradients`` and the ``ModelStateUpdate`` of a step, so one value
/// can serve inference on several threads while a trainer holds another.
///
/// ```swift
/// var model = try Sequential(inputFeatures: 1, [
///     BatchNormalization(), Dense(units: 8, activation: .sigmoid),
///     BatchNormalization(), Dense(units: 1, activation: .sigmoid),
/// ], seed: 18)
/// let step = try model.trainingStep(x: x, y: y, loss: .binaryCrossentropy)
/// var adam = Adam()
/// try model.apply(step.stateUpdate)
/// try adam.apply(step.gradients, to: &model)
/// let p = try model(xTest, mode: .inference)
/// print(step.loss, model.summary())
/// ```
public struct Sequential: Sendable {
    /// The model's name in ``summary()``.
    public var name: String
    /// The shape of one input example (`[features]` for `[batch, features]` inputs).
    public let inputShape: [Int]
    /// The shape of one output example.
    public let outputShape: [Int]
    /// The layers, built and named.
    public internal(set) var layers: [any Layer]
    /// The most scalars of one example at any point of the model (the input, every layer's
    /// output), fixed when built: how a step tells small activations from large ones without
    /// asking every layer for its shape (``takesTypedStep(rows:)``). Layers are only ever
    /// removed (BatchNormalization folding) or replaced by layers of the same shapes, so it
    /// stays an upper bound.
    let widestExample: Int

    /// The number of values in one input example: the input width of a `[batch, features]` model.
    public var inputFeatures: Int { inputShape.reduce(1, *) }
    /// The number of values in one output example: the output width of a `[batch, features]` model.
    public var outputFeatures: Int { outputShape.reduce(1, *) }

    /// Builds the layers in order for `[batch, inputFeatures]` inputs.
    /// - Parameters:
    ///   - inputFeatures: the width of every input row; fixes the first layer's input size.
    ///   - layers: the layers, unbuilt or built; their names must be unique once assigned.
    ///   - seed: derives initializer and dropout seeds for layers not given their own.
    ///   - name: the model's name in ``summary()`` and in saved Keras configs.
    /// - Throws: ``TrainingError`` when a layer cannot take the previous layer's width or
    ///   two layers share a name.
    public init(inputFeatures: Int, _ layers: [any Layer], seed: UInt64 = 0, name: String = "sequential") throws {
        guard inputFeatures > 0 else {
            throw TrainingError.invalidArgument(layer: name, message: "input width must be positive, got \(inputFeatures)")
        }
        try self.init(inputShape: [inputFeatures], layers, seed: seed, name: name)
    }

    /// Builds the layers in order for inputs whose examples are shaped `inputShape`
    /// (`[height, width, channels]` for images).
    /// - Parameters:
    ///   - inputShape: the shape of one example, without the batch axis; every size positive.
    ///   - layers: the layers, unbuilt or built; their names must be unique once assigned.
    ///   - seed: derives initializer and dropout seeds for layers not given their own.
    ///   - name: the model's name in ``summary()`` and in saved Keras configs.
    /// - Throws: ``TrainingError`` when a layer cannot take the previous layer's output
    ///   shape or two layers share a name.
    public init(inputShape: [Int], _ layers: [any Layer], seed: UInt64 = 0, name: String = "sequential") throws {
        guard !inputShape.isEmpty, inputShape.allSatisfy({ $0 > 0 }) else {
            throw TrainingError.invalidArgument(layer: name, message: "input shape must be non-empty and positive, got \(inputShape)")
        }
        guard !layers.isEmpty else {
            throw TrainingError.invalidArgument(layer: name, message: "a Sequential model needs at least one layer")
        }
        self.name = name
        self.inputShape = inputShape
        var built: [any Layer] = []
        var used = Set(layers.map(\.name).filter { !$0.isEmpty })
        var counters: [String: Int] = [:]
        var shape = inputShape
        var widest = inputShape.reduce(1, *)
        for (index, original) in layers.enumerated() {
            var layer = original
            if layer.name.isEmpty {
                let prefix = type(of: layer).namePrefix
                var count = counters[prefix, default: 0]
                var candidate = count == 0 ? prefix : "\(prefix)_\(count)"
                while used.contains(candidate) {
                    count += 1
                    candidate = "\(prefix)_\(count)"
                }
                counters[prefix] = count + 1
                used.insert(candidate)
                layer.name = candidate
            }
            guard !built.contains(where: { $0.name == layer.name }) else {
                throw TrainingError.invalidArgument(layer: layer.name, message: "two layers are named '\(layer.name)'")
            }
            shape = try layer.build(inputShape: shape, seed: SplitMix64.derivedSeed(seed, UInt64(index)))
            widest = max(widest, shape.reduce(1, *))
            built.append(layer)
        }
        self.layers = built
        self.widestExample = widest
        self.outputShape = shape
    }

    /// A pure forward pass in `mode`: no moving-statistics update, no state change.
    public func callAsFunction(_ x: Tensor<Float>, mode: ExecutionMode) throws -> Tensor<Float> {
        try checkInput(x)
        var h = x
        for layer in layers { h = try layer(h, mode: mode) }
        return h
    }

    /// Every variable, named `"<layer>/<variable>"`, in layer order and Keras order within a layer.
    public var variables: [NamedVariable] {
        layers.flatMap { layer in
            layer.variables.map { NamedVariable(name: "\(layer.name)/\($0.name)", value: $0.value, role: $0.role) }
        }
    }

    /// The variables optimizers update.
    public var trainableVariables: [NamedVariable] { variables.filter(\.isTrainable) }
    /// Moving statistics and frozen layers' variables.
    public var nonTrainableVariables: [NamedVariable] { variables.filter { !$0.isTrainable } }

    /// The value of one variable by its full name.
    public func variable(_ name: String) throws -> Tensor<Float> {
        guard let found = variables.first(where: { $0.name == name }) else {
            throw TrainingError.unknownVariable(name: name, available: variables.map(\.name))
        }
        return found.value
    }

    /// Replaces one variable (`"dense_1/kernel"`), checking its shape.
    public mutating func setVariable(_ name: String, to value: Tensor<Float>) throws {
        guard let slash = name.lastIndex(of: "/"),
              let index = layers.firstIndex(where: { $0.name == name[..<slash] }) else {
            throw TrainingError.unknownVariable(name: name, available: variables.map(\.name))
        }
        try layers[index].setVariable(String(name[name.index(after: slash)...]), to: value)
    }

    /// Parameter counts as Keras's summary reports them.
    public var parameterCounts: (total: Int, trainable: Int, nonTrainable: Int) {
        var trainable = 0, frozen = 0
        for v in variables {
            if v.isTrainable { trainable += v.value.scalarCount } else { frozen += v.value.scalarCount }
        }
        return (trainable + frozen, trainable, frozen)
    }

    /// A copy whose BatchNormalization layers all use `statistics`.
    public func withBatchNormStatistics(_ statistics: BatchNormStatistics) -> Sequential {
        var copy = self
        for i in copy.layers.indices { copy.layers[i].normalizationStatistics = statistics }
        return copy
    }

    /// A copy with the named layer frozen (`trainable: false`) or unfrozen.
    public func withLayer(named layerName: String, trainable: Bool) throws -> Sequential {
        guard let index = layers.firstIndex(where: { $0.name == layerName }) else {
            throw TrainingError.unknownVariable(name: layerName, available: layers.map(\.name))
        }
        var copy = self
        copy.layers[index].isTrainable = trainable
        return copy
    }

    /// Edits one layer in place, for example to reset a BatchNormalization's statistics:
    /// `try model.updateLayer(named: "batch_normalization", as: BatchNormalization.self) { $0.statistics = .batch }`.
    /// The layer must keep its name and input shape.
    public mutating func updateLayer<L: Layer>(named layerName: String, as type: L.Type, _ body: (inout L) throws -> Void) throws {
        guard let index = layers.firstIndex(where: { $0.name == layerName }) else {
            throw TrainingError.unknownVariable(name: layerName, available: layers.map(\.name))
        }
        guard var layer = layers[index] as? L else {
            throw TrainingError.invalidArgument(layer: layerName, message: "is a \(layers[index].typeName), not a \(L.self)")
        }
        let builtShape = layer.inputShape
        try body(&layer)
        guard layer.name == layerName, layer.inputShape == builtShape else {
            throw TrainingError.invalidArgument(layer: layerName, message: "an update may not rename or rebuild the layer")
        }
        layers[index] = layer
    }

    /// Random generator states (Dropout's) by layer name (for checkpoints).
    public var randomStates: [String: UInt64] {
        var out: [String: UInt64] = [:]
        for layer in layers { if let state = layer.randomState { out[layer.name] = state } }
        return out
    }

    /// Restores a layer's random generator state (a Dropout layer's).
    public mutating func setRandomState(_ state: UInt64, forLayer layerName: String) throws {
        guard let index = layers.firstIndex(where: { $0.name == layerName }), layers[index].randomState != nil else {
            throw TrainingError.unknownVariable(name: layerName, available: Array(randomStates.keys).sorted())
        }
        try layers[index].setRandomState(state)
    }

    /// Checks that `x` is a batch of examples shaped ``inputShape``.
    func checkInput(_ x: Tensor<Float>) throws {
        // Images that differ only in their channels: say so, naming the first layer.
        if x.rank == 4, inputShape.count == 3, x.shape[1..<3].elementsEqual(inputShape[0..<2]), x.shape[3] != inputShape[2],
           let first = layers.first {
            throw TrainingError.invalidArgument(layer: first.name, message:
                "the input images have \(x.shape[3]) channels (shape \(x.shape)) but model '\(name)' takes \(inputShape[2]) "
                + "(examples \(inputShape)); feed images with \(inputShape[2]) channels or build the model with inputShape "
                + "\(Array(inputShape[0..<2]) + [x.shape[3]])")
        }
        guard x.rank == inputShape.count + 1, x.shape.dropFirst().elementsEqual(inputShape) else {
            throw TrainingError.shapeMismatch(layer: name, expected: [-1] + inputShape, found: x.shape)
        }
    }
}
