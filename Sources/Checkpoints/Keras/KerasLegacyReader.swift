import Foundation
import HDF5
import Tensors
import Training

/// Reads tf.keras (Keras 2) HDF5 files: the full-model `.h5` (`model_config` attribute,
/// `/model_weights/<layer>/...`, `/optimizer_weights`) and weights-only files (the same
/// layer groups at the root). Each layer group's `weight_names` attribute gives the
/// variable datasets in the layer's order.
struct KerasLegacyReader {
    let assigner: KerasVariableAssigner
    var file: HDF5File { assigner.file }
    var displayName: String { assigner.displayName }

    init(file: HDF5File, displayName: String) {
        assigner = KerasVariableAssigner(file: file, displayName: displayName)
    }

    /// Where the layer groups live: `/model_weights` in a full-model file, else the root.
    var weightsRoot: String {
        get throws { try file.exists("/model_weights") ? "/model_weights" : "/" }
    }

    func loadWeights(into model: inout Sequential) throws {
        let root = try weightsRoot
        let stored = try assigner.stringList("layer_names", of: root)
        let groups = try groupsByLayer(model, root: root, stored: stored)
        for index in model.layers.indices {
            let layer = model.layers[index]
            let group = groups[layer.name] ?? (root == "/" ? "/\(layer.name)" : "\(root)/\(layer.name)")
            guard groups[layer.name] != nil, try file.exists(group) else {
                if layer.variables.isEmpty { continue }
                throw CheckpointError.missingObject(
                    file: displayName, path: group,
                    message: "no weights for layer '\(layer.name)' (\(layer.typeName)); the file has \(stored.joined(separator: ", "))")
            }
            let names = try assigner.stringList("weight_names", of: group)
            let expected = layer.variables
            if names.count == expected.count {
                for (weightName, variable) in zip(names, expected) where Self.localName(weightName) != variable.name {
                    throw CheckpointError.invalidFile(
                        file: displayName,
                        message: "\(group): weight '\(weightName)' is in the place of '\(variable.name)' of layer '\(layer.name)'")
                }
            }
            try assigner.assign(names.map { "\(group)/\($0)" }, group: group, layerIndex: index, in: &model)
        }
    }

    /// The group holding each model layer's weights: by name, or, when the names differ
    /// (a model built elsewhere), like tf.keras's `load_weights`: the layers that have
    /// weights, in order, paired with the stored layers that have weights.
    private func groupsByLayer(_ model: Sequential, root: String, stored: [String]) throws -> [String: String] {
        func path(_ name: String) -> String { root == "/" ? "/\(name)" : "\(root)/\(name)" }
        let weighted = model.layers.filter { !$0.variables.isEmpty }.map(\.name)
        if Set(weighted).isSubset(of: Set(stored)) {
            return Dictionary(uniqueKeysWithValues: stored.map { ($0, path($0)) })
        }
        let storedWeighted = try stored.filter { try file.exists(path($0)) && !assigner.stringList("weight_names", of: path($0)).isEmpty }
        guard storedWeighted.count == weighted.count else { return Dictionary(uniqueKeysWithValues: stored.map { ($0, path($0)) }) }
        return Dictionary(uniqueKeysWithValues: zip(weighted, storedWeighted.map(path)))
    }

    /// `"dense/kernel:0"` → `"kernel"`.
    static func localName(_ weightName: String) -> String {
        let last = weightName.split(separator: "/").last.map(String.init) ?? weightName
        return last.split(separator: ":").first.map(String.init) ?? last
    }

    /// Optimizer state from `/optimizer_weights`, or nil: tf.keras names a slot
    /// `Adam/m/dense/kernel:0`, Keras 3's legacy writer `adam/dense_kernel_momentum` (the
    /// variable's path with `_` for `/`, then the Keras slot name).
    func optimizerState(for model: Sequential) throws -> OptimizerState? {
        let group = "/optimizer_weights"
        guard try file.exists(group) else { return nil }
        let names = try assigner.stringList("weight_names", of: group)
        let shapes = Dictionary(model.trainableVariables.map { ($0.name, $0.value.shape) }, uniquingKeysWith: { a, _ in a })
        var state = OptimizerState()
        for name in names {
            let path = "\(group)/\(name)"
            let parts = name.split(separator: "/").map(String.init)
            if parts.last?.hasPrefix("iteration") == true {
                state.iterations = try file.read(path, as: Int64.self).values.first ?? 0
                continue
            }
            if parts.count == 2, let (variable, slot) = Self.keras3Slot(parts[1], variables: Array(shapes.keys)) {
                state.slots["\(variable)/\(slot)"] = try checkedSlot(path, variable: variable, slot: slot, shape: shapes[variable]!)
                continue
            }
            guard parts.count >= 4 else { continue }
            let slot: String
            switch parts[1] {
            case "m": slot = "momentum"
            case "v": slot = "velocity"
            default: continue
            }
            let variable = parts[2..<(parts.count - 1)].joined(separator: "/") + "/" + Self.localName(parts[parts.count - 1])
            guard let shape = shapes[variable] else {
                throw CheckpointError.invalidFile(file: displayName, message: "\(path): the model has no trainable variable '\(variable)'")
            }
            state.slots["\(variable)/\(slot)"] = try checkedSlot(path, variable: variable, slot: slot, shape: shape)
        }
        return state
    }

    private func checkedSlot(_ path: String, variable: String, slot: String, shape: [Int]) throws -> Tensor<Float> {
        let value = try assigner.readTensor(path)
        guard value.shape == shape else {
            throw CheckpointError.variableShapeMismatch(file: displayName, path: path, layer: "optimizer",
                                                        variable: "\(variable)/\(slot)", expected: shape, found: value.shape)
        }
        return value
    }

    /// `"conv2d_1_kernel_momentum"` → (`"conv2d_1/kernel"`, `"momentum"`): the longest variable
    /// path (with `_` for `/`) that prefixes the name, so `conv2d_1_kernel` is not read as
    /// `conv2d` + `1_kernel`; nil when no variable does.
    static func keras3Slot(_ name: String, variables: [String]) -> (variable: String, slot: String)? {
        let matches = variables.filter { name.hasPrefix($0.replacingOccurrences(of: "/", with: "_") + "_") }
        guard let variable = matches.max(by: { $0.count < $1.count }) else { return nil }
        let slot = String(name.dropFirst(variable.count + 1))
        return slot.isEmpty ? nil : (variable, slot)
    }
}
