import Foundation
import Training

/// Turns one Keras layer entry into a Batchwise layer, refusing every option that would
/// make the Batchwise layer compute something different from the Keras one. Options that
/// cannot change outputs or training (initializers, constraints, `synchronized`) are ignored.
struct KerasLayerDecoder {
    let file: String
    /// The layer types by Keras class name: the built-in ones, replaced or extended by the caller's.
    private let layerTypes: [String: any Layer.Type]

    init(file: String, customLayers: [any Layer.Type] = []) {
        self.file = file
        var types: [String: any Layer.Type] = [:]
        for type in KerasLayerTypes.all + customLayers {
            if let className = type.kerasClassName { types[className] = type }
        }
        layerTypes = types
    }

    /// Type errors deep in a layer's config are prefixed with the layer's name and class.
    func layer(for entry: KerasModelGraph.Entry) throws -> any Layer {
        do {
            return try decode(entry)
        } catch let CheckpointError.invalidModelConfig(file, path, message) where !message.hasPrefix("layer '") {
            throw CheckpointError.invalidModelConfig(file: file, path: path,
                                                     message: "layer '\(entry.name)' (\(entry.className)): \(message)")
        }
    }

    /// The options every layer has are checked here; the layer type reads its own.
    private func decode(_ entry: KerasModelGraph.Entry) throws -> any Layer {
        let c = entry.config
        do {
            try checkDType(entry)
            try c.refuseNonNull(["activity_regularizer"])
            guard let layerType = layerTypes[entry.className] else {
                throw CheckpointError.unsupportedLayer(file: file, layer: entry.name, className: entry.className,
                                                       option: nil, value: nil)
            }
            var layer: any Layer = try layerType.decodeKerasConfig(c, name: entry.name)
            if let trainable = c["trainable"], try !trainable.bool() { layer.isTrainable = false }
            return layer
        } catch let KerasConfigProblem.unsupportedOption(option, value) {
            throw CheckpointError.unsupportedLayer(file: file, layer: entry.name, className: entry.className,
                                                   option: option, value: value)
        } catch let KerasConfigProblem.invalidOption(option, message) {
            throw CheckpointError.invalidModelConfig(
                file: file, path: c.path + "." + option,
                message: "layer '\(entry.name)' (\(entry.className)): \(option) \(message)")
        }
    }

    /// Only float32 computation is supported (a mixed-precision policy changes outputs).
    private func checkDType(_ entry: KerasModelGraph.Entry) throws {
        guard let dtype = entry.config["dtype"] else { return }
        let name = (dtype.value as? String) ?? (try? dtype["config"]?["name"]?.string()) ?? nil
        guard name == "float32" else { throw KerasConfigProblem.unsupportedOption("dtype", value: name ?? dtype.text) }
    }
}

/// Layers read their options through ``KerasJSON``'s typed getters, so type errors name the JSON path.
extension KerasJSON: KerasConfigReading {
    var maximumWidth: Int { KerasModelGraph.maximumWidth }
}
