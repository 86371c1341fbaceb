import Foundation
import Training

/// Turns one Keras layer entry into a Batchwise layer, refusing every option that would
/// make the Batchwise layer compute something different from the Keras one. Options that
/// cannot change outputs or training (initializers, constraints, `synchronized`) are ignored.
struct KerasLayerDecoder {
    let file: String

    static let supportedClasses = ["Dense", "BatchNormalization", "Dropout", "Activation", "ReLU", "Softmax", "Flatten"]

    /// Type errors deep in a layer's config are prefixed with the layer's name and class.
    func layer(for entry: KerasModelGraph.Entry) throws -> any Layer {
        do {
            return try decode(entry)
        } catch let CheckpointError.invalidModelConfig(file, path, message) where !message.hasPrefix("layer '") {
            throw CheckpointError.invalidModelConfig(file: file, path: path,
                                                     message: "layer '\(entry.name)' (\(entry.className)): \(message)")
        }
    }

    private func decode(_ entry: KerasModelGraph.Entry) throws -> any Layer {
        let c = entry.config
        try checkDType(entry)
        try refuseNonNull(entry, ["activity_regularizer"])
        var layer: any Layer
        switch entry.className {
        case "Dense":
            let units = try c.required("units").integer()
            guard (1...KerasModelGraph.maximumWidth).contains(units) else {
                throw CheckpointError.invalidModelConfig(
                    file: file, path: c.path + ".units",
                    message: "layer '\(entry.name)' (Dense): units \(units) is outside 1...\(KerasModelGraph.maximumWidth)")
            }
            try refuseNonNull(entry, ["kernel_regularizer", "bias_regularizer", "quantization_config"])
            if let rank = c["lora_rank"], (try? rank.integer()) != 0 { throw refusal(entry, "lora_rank", rank.text) }
            let useBias = try c["use_bias"]?.bool() ?? true
            layer = Dense(units: units, activation: try activation(entry), useBias: useBias, name: entry.name)
        case "BatchNormalization":
            if let axis = c["axis"] {
                let values = (axis.value as? [Any]).map { _ in (try? axis.array().map { try $0.integer() }) ?? [] }
                    ?? [(try? axis.integer()) ?? 0]
                guard values == [-1] || values == [1] else { throw refusal(entry, "axis", axis.text) }
            }
            if let renorm = c["renorm"], try renorm.bool() { throw refusal(entry, "renorm", "true") }
            try refuseNonNull(entry, ["virtual_batch_size", "adjustment", "beta_regularizer", "gamma_regularizer"])
            let momentum = try c["momentum"]?.number() ?? 0.99
            let epsilon = try c["epsilon"]?.number() ?? 0.001
            guard (0...1).contains(momentum) else { throw invalid(entry, "momentum", "\(momentum) is outside [0, 1]") }
            guard epsilon >= 0, epsilon.isFinite else { throw invalid(entry, "epsilon", "\(epsilon) must be ≥ 0") }
            layer = BatchNormalization(momentum: momentum, epsilon: epsilon,
                                       center: try c["center"]?.bool() ?? true, scale: try c["scale"]?.bool() ?? true,
                                       name: entry.name)
        case "Dropout":
            let rate = try c.required("rate").number()
            guard rate >= 0, rate < 1 else { throw invalid(entry, "rate", "\(rate) is outside [0, 1)") }
            try refuseNonNull(entry, ["noise_shape"])
            let seed = (try? c["seed"]?.integer()).flatMap { $0 }.flatMap { $0 >= 0 ? UInt64($0) : nil }
            layer = Dropout(rate: rate, seed: seed, name: entry.name)
        case "Activation":
            layer = ActivationLayer(try activation(entry), name: entry.name)
        case "ReLU":
            try refuseNonNull(entry, ["max_value"])
            for option in ["negative_slope", "threshold"] {
                if let value = c[option], try value.number() != 0 { throw refusal(entry, option, value.text) }
            }
            layer = ReLU(name: entry.name)
        case "Softmax":
            if let axis = c["axis"] {
                let value = (try? axis.integer()) ?? (try? axis.array().map { try $0.integer() }).flatMap { $0.count == 1 ? $0[0] : nil }
                guard value == -1 || value == 1 else { throw refusal(entry, "axis", axis.text) }
            }
            layer = Softmax(name: entry.name)
        case "Flatten":
            layer = Flatten(name: entry.name)
        default:
            throw CheckpointError.unsupportedLayer(file: file, layer: entry.name, className: entry.className, option: nil, value: nil)
        }
        if let trainable = c["trainable"], try !trainable.bool() { layer.isTrainable = false }
        return layer
    }

    private func activation(_ entry: KerasModelGraph.Entry) throws -> Activation {
        guard let value = entry.config["activation"] else { return .linear }
        guard let name = value.value as? String, let activation = Activation(rawValue: name) else {
            throw refusal(entry, "activation", value.text)
        }
        return activation
    }

    /// Only float32 computation is supported (a mixed-precision policy changes outputs).
    private func checkDType(_ entry: KerasModelGraph.Entry) throws {
        guard let dtype = entry.config["dtype"] else { return }
        let name = (dtype.value as? String) ?? (try? dtype["config"]?["name"]?.string()) ?? nil
        guard name == "float32" else { throw refusal(entry, "dtype", name ?? dtype.text) }
    }

    private func refuseNonNull(_ entry: KerasModelGraph.Entry, _ options: [String]) throws {
        for option in options {
            if let value = entry.config[option] { throw refusal(entry, option, value.text) }
        }
    }

    private func refusal(_ entry: KerasModelGraph.Entry, _ option: String, _ value: String) -> CheckpointError {
        .unsupportedLayer(file: file, layer: entry.name, className: entry.className, option: option, value: value)
    }

    private func invalid(_ entry: KerasModelGraph.Entry, _ option: String, _ message: String) -> CheckpointError {
        .invalidModelConfig(file: file, path: entry.config.path + "." + option,
                            message: "layer '\(entry.name)' (\(entry.className)): \(option) \(message)")
    }
}
