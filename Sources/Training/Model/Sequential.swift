import Tensors

/// A stack of layers applied in order to `[batch, features]` inputs.
///
/// Building fixes every layer's input width, draws initial weights from seeds derived from
/// `seed` (for layers without their own) and names layers like Keras (`dense`, `dense_1`,
/// `batch_normalization`, ...). The mode of every forward call is explicit; inference
/// variants are data (``withBatchNormStatistics(_:)`` returns a modified copy).
///
/// ```swift
/// var model = try Sequential(inputFeatures: 1, [
///     BatchNormalization(), Dense(units: 8, activation: .sigmoid),
///     BatchNormalization(), Dense(units: 1, activation: .sigmoid),
/// ], seed: 18)
/// let (loss, _) = try model.lossAndGradients(x: x, y: y, loss: .binaryCrossentropy)
/// var adam = Adam()
/// try adam.apply(to: &model)
/// let p = try model(xTest, mode: .inference)
/// print(model.summary())
/// ```
public struct Sequential: Sendable {
    /// The model's name in ``summary()``.
    public var name: String
    /// The input width.
    public let inputFeatures: Int
    /// The output width.
    public let outputFeatures: Int
    /// The layers, built and named.
    public internal(set) var layers: [any Layer]

    /// Builds the layers in order.
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
        guard !layers.isEmpty else {
            throw TrainingError.invalidArgument(layer: name, message: "a Sequential model needs at least one layer")
        }
        self.name = name
        self.inputFeatures = inputFeatures
        var built: [any Layer] = []
        var used = Set(layers.map(\.name).filter { !$0.isEmpty })
        var counters: [String: Int] = [:]
        var width = inputFeatures
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
            width = try layer.build(inputFeatures: width, seed: SplitMix64.derivedSeed(seed, UInt64(index)))
            built.append(layer)
        }
        self.layers = built
        self.outputFeatures = width
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

    /// The gradients of the last ``lossAndGradients(x:y:loss:mode:)``, named like ``variables``.
    public var gradients: [NamedVariable] {
        layers.flatMap { layer in
            layer.gradients.map { NamedVariable(name: "\(layer.name)/\($0.name)", value: $0.value, isTrainable: true) }
        }
    }

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
    /// The layer must keep its name and input width.
    public mutating func updateLayer<L: Layer>(named layerName: String, as type: L.Type, _ body: (inout L) throws -> Void) throws {
        guard let index = layers.firstIndex(where: { $0.name == layerName }) else {
            throw TrainingError.unknownVariable(name: layerName, available: layers.map(\.name))
        }
        guard var layer = layers[index] as? L else {
            throw TrainingError.invalidArgument(layer: layerName, message: "is a \(layers[index].typeName), not a \(L.self)")
        }
        let inputWidth = layer.inputFeatures
        try body(&layer)
        guard layer.name == layerName, layer.inputFeatures == inputWidth else {
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

    func checkInput(_ x: Tensor<Float>) throws {
        guard x.rank == 2, x.shape[1] == inputFeatures else {
            throw TrainingError.shapeMismatch(layer: name, expected: [-1, inputFeatures], found: x.shape)
        }
    }
}
