import Foundation
import HDF5
import Training

/// Converts between a ``/Training/Sequential`` model and Keras 3's model configuration JSON (the
/// `config.json` of a `.keras` archive). Native checkpoints store the architecture in the
/// same format, so a reader who knows Keras knows Batchwise's files.
///
/// Reading accepts Keras 3 `config.json` / `model.to_json()` and legacy tf.keras
/// `model_config`, as `Sequential` or as a functional model that is one chain of
/// InputLayer, Dense, BatchNormalization, Dropout, Activation, ReLU, Softmax and Flatten.
/// Anything that would compute differently is refused with the layer, class and option.
///
/// ```swift
/// let json = try KerasModelConfig.json(for: model)
/// let twin = try KerasModelConfig.model(fromJSON: json, file: "config.json")
/// // twin has model's architecture and layer names, with fresh weights
/// ```
public enum KerasModelConfig {
    /// The Keras 3 `config.json` object (as a JSON string) describing `model`.
    public static func json(for model: Sequential) throws -> String {
        try serialize(object(for: model, compileConfig: nil))
    }

    /// Builds a model (with freshly initialized variables) from a Keras 3 `config.json` or
    /// legacy `model_config` JSON string. `file` names the source in errors.
    ///
    /// `customLayers` are layer types of your own that the config may name by their
    /// ``/Training/Layer/kerasClassName`` (Keras's `custom_objects`); they take precedence
    /// over the built-in layers of the same class name.
    ///
    /// `seed` draws the initial weights (as ``/Training/Sequential/init(inputShape:_:seed:name:)``
    /// does): Glorot-uniform Dense kernels, zero biases, BatchNormalization's ones and zeros.
    public static func model(fromJSON json: String, file: String,
                             customLayers: [any Layer.Type] = [], seed: UInt64 = 0) throws -> Sequential {
        try model(from: KerasJSON.parse(json, file: file), file: file, customLayers: customLayers, seed: seed)
    }

    // MARK: Internals shared with the file loaders

    static func model(from root: KerasJSON, file: String, customLayers: [any Layer.Type] = [],
                      seed: UInt64 = 0) throws -> Sequential {
        guard root.isObject else { throw root.fail("expected a JSON object") }
        let graph = try KerasModelGraph(root)
        guard graph.entries.count <= JSONLimits.maximumLayers else {
            throw root.fail("the model has \(graph.entries.count) layers; the limit is \(JSONLimits.maximumLayers)")
        }
        let decoder = KerasLayerDecoder(file: file, customLayers: customLayers)
        let layers = try graph.entries.map { try decoder.layer(for: $0) }
        try checkParameterCount(layers, entries: graph.entries, inputShape: graph.inputShape, file: file,
                                customLayers: customLayers)
        do {
            return try Sequential(inputShape: graph.inputShape, layers, seed: seed, name: graph.modelName)
        } catch let error as TrainingError {
            throw CheckpointError.invalidModelConfig(file: file, path: "$.config.layers", message: error.localizedDescription)
        }
    }

    /// Counts the variables the layers will allocate, from the widths alone, and refuses the
    /// model at the first layer that takes the total past ``JSONLimits/maximumParameters``.
    /// On the way it checks each built-in layer's positive `axis` against its input (``checkAxis(_:inputShape:file:)``).
    private static func checkParameterCount(_ layers: [any Layer], entries: [KerasModelGraph.Entry],
                                            inputShape: [Int], file: String, customLayers: [any Layer.Type]) throws {
        var shape = inputShape
        var total = 0
        for (layer, entry) in zip(layers, entries) {
            if !customLayers.contains(where: { ObjectIdentifier($0) == ObjectIdentifier(type(of: layer)) }) {
                try checkAxis(entry, inputShape: shape, file: file)
            }
            let next: [Int]
            do {
                next = try layer.outputShape(forInput: shape)
            } catch let error as TrainingError {
                throw CheckpointError.invalidModelConfig(file: file, path: entry.config.path, message: error.localizedDescription)
            }
            let count = layer.parameterCount(forInput: shape)   // widths ≤ 1e8: no overflow
            total += count
            guard total <= JSONLimits.maximumParameters else {
                throw CheckpointError.invalidModelConfig(
                    file: file, path: entry.config.path,
                    message: "layer '\(entry.name)' (\(entry.className)) on \(shape.reduce(1, *)) inputs needs \(count) parameters, "
                        + "\(total) in all; the limit is \(JSONLimits.maximumParameters)")
            }
            shape = next
        }
    }

    /// Batchwise's layers with an `axis` option (BatchNormalization, Softmax, the other
    /// normalizations) work on the last axis. A config may name it by its positive index
    /// (tf.keras writes `[3]` for the channels of NHWC images); only the layer's input shape
    /// tells whether that index is the last axis, so `axis: [1]` on images (channels first) is
    /// refused here instead of normalizing the wrong axis.
    private static func checkAxis(_ entry: KerasModelGraph.Entry, inputShape: [Int], file: String) throws {
        guard let axis = entry.config["axis"], let value = KerasJSON.singleAxis(axis), value >= 0,
              value != inputShape.count else { return }
        throw CheckpointError.unsupportedLayer(
            file: file, layer: entry.name, className: entry.className, option: "axis",
            value: "\(axis.text) (its input is [batch, \(inputShape.map(String.init).joined(separator: ", "))]: "
                + "only the last axis, -1 or \(inputShape.count), is supported)")
    }

    /// The `config.json` object; `compileConfig` is added when the model is saved compiled.
    static func object(for model: Sequential, compileConfig: [String: Any]?) throws -> [String: Any] {
        var layers: [[String: Any]] = [KerasLayerEncoder.inputLayer(shape: model.inputShape)]
        var shape = model.inputShape
        for layer in model.layers {
            layers.append(try KerasLayerEncoder.entry(for: layer, inputShape: shape))
            shape = try layer.outputShape(forInput: shape)
        }
        let batchShape: [Any] = [NSNull()] + model.inputShape
        var root: [String: Any] = [
            "module": "keras", "class_name": "Sequential", "registered_name": NSNull(),
            "config": ["name": model.name, "trainable": true, "dtype": KerasLayerEncoder.dtypePolicy(),
                       "layers": layers, "build_input_shape": batchShape] as [String: Any],
            "build_config": ["input_shape": batchShape],
        ]
        if let compileConfig { root["compile_config"] = compileConfig }
        return root
    }

    static func serialize(_ object: [String: Any]) throws -> String {
        do {
            return try JSONText.serialize(object)
        } catch let error as JSONText.UnsupportedValue {
            throw CheckpointError.invalidModelConfig(file: "", path: error.path, message: error.description)
        }
    }
}
