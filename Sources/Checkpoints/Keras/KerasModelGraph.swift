import Foundation

/// The layer chain described by a Keras model configuration, in either spelling: Keras 3
/// (`config.json`, `model.to_json()`) or legacy tf.keras `model_config`, each as
/// `Sequential` or as a functional model that is a single chain.
struct KerasModelGraph {
    /// One non-input layer entry: its class, name and `config` object.
    struct Entry {
        let className: String
        let name: String
        let config: KerasJSON
    }

    let modelName: String
    /// The shape of one input example (`[features]`, or `[height, width, channels]` for images).
    let inputShape: [Int]
    let inputName: String?
    let entries: [Entry]

    static let maximumWidth = 100_000_000

    init(_ root: KerasJSON) throws {
        let className = try root.required("class_name").string()
        let config = try root.required("config")
        modelName = (try? config["name"]?.string()) ?? "sequential"
        switch className {
        case "Sequential":
            (inputShape, inputName, entries) = try Self.sequential(root: root, config: config)
        case "Functional", "Model":
            (inputShape, inputName, entries) = try Self.functional(config: config)
        default:
            throw root.fail("model class \"\(className)\" is not supported (only Sequential and single-chain functional models)")
        }
        guard !entries.isEmpty else { throw config.fail("the model has no layers besides its input") }
    }

    // MARK: Sequential

    private static func sequential(root: KerasJSON, config: KerasJSON) throws -> ([Int], String?, [Entry]) {
        var layers = try config.required("layers").array()
        var width: [Int]?
        var inputName: String?
        if let first = layers.first, (try? first.required("class_name").string()) == "InputLayer" {
            let inputConfig = try first.required("config")
            width = try exampleShape(inputShape(inputConfig) ?? { throw inputConfig.fail("InputLayer without batch_shape") }())
            inputName = try inputConfig["name"]?.string()
            layers.removeFirst()
        }
        if width == nil, let shape = config["build_input_shape"] { width = try exampleShape(shape) }
        if width == nil, let shape = root["build_config"]?["input_shape"] { width = try exampleShape(shape) }
        if width == nil, let firstConfig = layers.first?["config"], let shape = inputShape(firstConfig) {
            width = try exampleShape(shape)
        }
        guard let width else { throw config.fail("cannot tell the input width (no InputLayer, build_input_shape or batch_input_shape)") }
        let entries = try layers.map { layer -> Entry in
            let layerConfig = try layer.required("config")
            let name = try layer["name"]?.string() ?? layerConfig.required("name").string()
            return Entry(className: try layer.required("class_name").string(), name: name, config: layerConfig)
        }
        if let input = entries.first(where: { $0.className == "InputLayer" }) {
            throw config.fail("InputLayer '\(input.name)' is not the first layer")
        }
        return (width, inputName, entries)
    }

    // MARK: Functional

    private static func functional(config: KerasJSON) throws -> ([Int], String?, [Entry]) {
        let layers = try config.required("layers").array()
        let inputs = try endpointNames(config.required("input_layers"))
        let outputs = try endpointNames(config.required("output_layers"))
        guard inputs.count == 1 else { throw config.fail("the model has \(inputs.count) inputs; only single-chain models are supported") }
        guard outputs.count == 1 else { throw config.fail("the model has \(outputs.count) outputs; only single-chain models are supported") }
        guard let first = layers.first, try first.required("class_name").string() == "InputLayer" else {
            throw config.fail("the first layer is not an InputLayer")
        }
        let inputConfig = try first.required("config")
        let inputName = try first["name"]?.string() ?? inputConfig.required("name").string()
        guard inputName == inputs[0] else {
            throw config.fail("input_layers names '\(inputs[0])' but the first layer is '\(inputName)'")
        }
        guard let shape = inputShape(inputConfig) else { throw inputConfig.fail("InputLayer without batch_shape") }
        let width = try exampleShape(shape)
        var previous = inputName
        var entries: [Entry] = []
        for layer in layers.dropFirst() {
            let layerConfig = try layer.required("config")
            let name = try layer["name"]?.string() ?? layerConfig.required("name").string()
            let className = try layer.required("class_name").string()
            let sources = try inboundNames(layer.required("inbound_nodes"))
            guard sources == [previous] else {
                let described = sources.isEmpty ? "no input" : sources.map { "'\($0)'" }.joined(separator: ", ")
                throw layer.fail("layer '\(name)' (\(className)) takes \(described), not just the previous layer '\(previous)': "
                                 + "only single-chain models are supported")
            }
            entries.append(Entry(className: className, name: name, config: layerConfig))
            previous = name
        }
        guard previous == outputs[0] else {
            throw config.fail("output_layers names '\(outputs[0])' but the chain ends at '\(previous)': only single-chain models are supported")
        }
        return (width, inputName, entries)
    }

    /// `["input_layer", 0, 0]` (Keras 3) or `[["input_1", 0, 0]]` (both spellings allowed).
    private static func endpointNames(_ value: KerasJSON) throws -> [String] {
        let items = try value.array()
        if items.first?.value is String { return [try items[0].string()] }
        return try items.map { item in
            guard let name = try item.array().first else { throw item.fail("empty endpoint") }
            return try name.string()
        }
    }

    /// The layer names feeding each call of a layer. Keras 3:
    /// `[{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": [name, 0, 0]}}], ...}]`;
    /// legacy: `[[["input_1", 0, 0, {}]]]`.
    private static func inboundNames(_ nodes: KerasJSON) throws -> [String] {
        var names: [String] = []
        for node in try nodes.array() {
            if node.isObject {
                for argument in try node["args"]?.array() ?? [] { names += try tensorHistories(argument) }
            } else {
                for tensor in try node.array() {
                    names.append(try tensor.array().first?.string() ?? { throw tensor.fail("empty inbound tensor") }())
                }
            }
        }
        return names
    }

    private static func tensorHistories(_ value: KerasJSON) throws -> [String] {
        if value.isObject {
            if let history = value["config"]?["keras_history"] {
                return [try history.array().first?.string() ?? { throw history.fail("empty keras_history") }()]
            }
            return []
        }
        if let items = value.value as? [Any], !items.isEmpty {
            return try value.array().flatMap { try tensorHistories($0) }
        }
        return []
    }

    private static func inputShape(_ config: KerasJSON) -> KerasJSON? {
        config["batch_shape"] ?? config["batch_input_shape"]
    }

    /// `[null, d1, d2, ...]` → `[d1, d2, ...]`: the shape of one example, each size in
    /// 1...``maximumWidth`` and at most ``maximumWidth`` values in all.
    static func exampleShape(_ shape: KerasJSON) throws -> [Int] {
        let dims = try shape.array()
        guard dims.count >= 2, dims[0].isNull || (try? dims[0].integer()) != nil else {
            throw shape.fail("input shape \(shape.text) is not [batch, ...] with at least one dimension per example")
        }
        var example: [Int] = []
        for dim in dims.dropFirst() {
            guard let size = try? dim.integer() else {
                throw shape.fail("input shape \(shape.text) has a dimension that is not a number; only fixed shapes are supported")
            }
            guard (1...maximumWidth).contains(size) else {
                throw shape.fail("input size \(size) is outside 1...\(maximumWidth)")
            }
            example.append(size)
        }
        var values = 1
        for size in example {
            values *= size
            guard values <= maximumWidth else {
                throw shape.fail("input shape \(shape.text) holds more than \(maximumWidth) values per example")
            }
        }
        return example
    }
}
