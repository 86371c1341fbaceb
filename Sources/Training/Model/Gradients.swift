import Tensors

/// The gradients of a training step (``Sequential/trainingStep(x:y:loss:mode:reusing:)``),
/// keyed by layer and variable (`"dense_1/kernel"`), in the order of the model's trainable
/// variables. Optimizers consume it (``Optimizer/apply(_:to:)``); the model does not hold it.
///
/// ```swift
/// let step = try model.trainingStep(x: x, y: y, loss: .meanSquaredError)
/// for gradient in step.gradients.named { print(gradient.name, gradient.value.shape) }
/// let kernel = step.gradients["dense/kernel"]
/// ```
public struct Gradients: Sendable, Equatable {
    /// The layers' names, in model order.
    private(set) var layerNames: [String] = []
    /// Each layer's gradients, parallel to ``layerNames``.
    private(set) var layers: [LayerGradients] = []

    /// No gradients (an optimizer given it refuses to step).
    public init() {}

    /// Gradients from values named `"<layer>/<variable>"`, grouped by layer in the order the
    /// names first appear: what code that combines the gradients of several steps (the
    /// data-parallel trainer's reduction across ranks) hands to an optimizer. A name without
    /// `/` names no layer and is skipped.
    ///
    /// ```swift
    /// let step = try model.trainingStep(x: x, y: y, loss: .meanSquaredError)
    /// let halved = Gradients(named: step.gradients.named.map {
    ///     NamedVariable(name: $0.name, value: $0.value * 0.5, isTrainable: true)
    /// })
    /// ```
    public init(named gradients: [NamedVariable]) {
        for gradient in gradients {
            guard let slash = gradient.name.lastIndex(of: "/") else { continue }
            let layerName = String(gradient.name[..<slash])
            let localName = String(gradient.name[gradient.name.index(after: slash)...])
            if let index = layerNames.firstIndex(of: layerName) {
                layers[index][localName] = gradient.value
            } else {
                var layer = LayerGradients()
                layer[localName] = gradient.value
                layerNames.append(layerName)
                layers.append(layer)
            }
        }
    }

    /// Every gradient, named `"<layer>/<variable>"`, in layer order and the layer's order within it.
    public var named: [NamedVariable] {
        zip(layerNames, layers).flatMap { layerName, gradients in
            gradients.names.map { NamedVariable(name: "\(layerName)/\($0)", value: gradients[$0]!, isTrainable: true) }
        }
    }

    /// The gradient of one variable by full name (`"dense/kernel"`); nil when the step has none.
    public subscript(variableName: String) -> Tensor<Float>? {
        guard let slash = variableName.lastIndex(of: "/") else { return nil }
        return self[layer: String(variableName[..<slash])]?[String(variableName[variableName.index(after: slash)...])]
    }

    /// The gradients of one layer by name; nil when the step has none for it.
    public subscript(layer layerName: String) -> LayerGradients? {
        layerNames.firstIndex(of: layerName).map { layers[$0] }
    }

    /// Whether no gradient is stored.
    public var isEmpty: Bool { layers.allSatisfy(\.isEmpty) }

    /// How many gradients are stored (what an optimizer reserves room for).
    var valueCount: Int { layers.reduce(0) { $0 + $1.names.count } }

    /// The storage of the layer at `index`'s gradients, moved out for that layer's backward
    /// pass to reuse (see ``LayerGradients/reusableBuffer(_:)``).
    mutating func takeReusable(layer index: Int) -> LayerGradients {
        var taken = LayerGradients()
        swap(&taken, &layers[index])
        return LayerGradients(reusing: taken)
    }

    /// An empty value laid out for a model whose layers are `layers`: `spare` itself when it
    /// was laid out for layers of the same names (compared in place, without building a list
    /// of names every step).
    static func laidOut(for layers: [any Layer], reusing spare: consuming Gradients?) -> Gradients {
        // Moved out of the optional, not copied: a copy would keep a second reference to the
        // arrays until the parameter's end and cost a retain and a release of each.
        if let reusable = spare.take(), reusable.isLaidOut(for: layers) { return reusable }
        var fresh = Gradients()
        fresh.layerNames = layers.map(\.name)
        fresh.layers = layers.map { _ in LayerGradients() }
        return fresh
    }

    /// Whether the layers' names are `layers`' names, in order. Compared by index: zipping the
    /// names with the layers copied each `any Layer` out of the array and destroyed the
    /// pair (about 200 instructions a layer on every step).
    private func isLaidOut(for layers: [any Layer]) -> Bool {
        guard layerNames.count == layers.count else { return false }
        for index in layers.indices where layerNames[index] != layers[index].name { return false }
        return true
    }

    /// Where the gradients of the layer at `index` of a model named `layerName` are: at
    /// `index` when this value is laid out for that model (the step's own gradients), else
    /// found by name.
    func position(ofLayerAt index: Int, named layerName: String) -> Int? {
        if index < layerNames.count, layerNames[index] == layerName { return index }
        return layerNames.firstIndex(of: layerName)
    }

    /// The gradient of `localName` in the layer at `position` (from ``position(ofLayerAt:named:)``).
    func value(inLayerAt position: Int, named localName: String) -> Tensor<Float>? {
        layers[position][localName]
    }

    /// Where the gradient named `"<layer>/<variable>"` sits: its layer's position and its place
    /// in that layer's order, for ``setValue(_:at:)`` and ``updateValue(at:_:)``; nil when this
    /// value has none of that name. The data-parallel trainer looks its slots up once per
    /// trainer and writes each step's reduced gradients by position, without hashing or
    /// splitting names every step (docs/distributed.md, "Stop 26").
    package func location(of variableName: String) -> (layer: Int, position: Int)? {
        guard let slash = variableName.lastIndex(of: "/"),
              let layer = layerNames.firstIndex(of: String(variableName[..<slash])),
              let position = layers[layer].names.firstIndex(of: String(variableName[variableName.index(after: slash)...]))
        else { return nil }
        return (layer, position)
    }

    /// Replaces the gradient at `location` (from ``location(of:)``).
    package mutating func setValue(_ value: Tensor<Float>, at location: (layer: Int, position: Int)) {
        layers[location.layer].setValue(value, at: location.position)
    }

    /// Lets `body` change the gradient at `location` in place (copied first only when its
    /// storage is shared).
    package mutating func updateValue(at location: (layer: Int, position: Int), _ body: (inout Tensor<Float>) -> Void) {
        layers[location.layer].updateValue(at: location.position, body)
    }

    /// Stores a layer's gradients after its backward pass, leaving `gradients` empty. In place
    /// and swapped rather than copied: a second reference to its arrays would make dropping
    /// the unused spare buffers allocate new ones.
    mutating func store(_ gradients: inout LayerGradients, layer index: Int) {
        gradients.discardSpareBuffers()
        swap(&layers[index], &gradients)
        gradients = LayerGradients()
    }
}
