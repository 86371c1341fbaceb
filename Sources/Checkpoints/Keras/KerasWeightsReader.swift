import Foundation
import HDF5
import Tensors
import Training

/// Reads Keras 3 weights (`model.save_weights("x.weights.h5")`, and the `model.weights.h5`
/// inside `.keras`): `/layers/<layer>/vars/<i>` with `i` indexing the layer's weights, and
/// `/optimizer/vars/<i>` (0 iteration, 1 learning rate, then each trainable variable's slots).
struct KerasWeightsReader {
    let assigner: KerasVariableAssigner
    var file: HDF5File { assigner.file }
    var displayName: String { assigner.displayName }

    init(file: HDF5File, displayName: String) {
        assigner = KerasVariableAssigner(file: file, displayName: displayName)
    }

    func loadWeights(into model: inout Sequential) throws {
        guard try file.exists("/layers"), try file.kind(of: "/layers") == .group else {
            throw CheckpointError.missingObject(file: displayName, path: "/layers",
                                                message: "not a Keras 3 weights file (no /layers group)")
        }
        let names = Set(model.layers.map(\.name))
        for child in try file.children(of: "/layers") where !names.contains(child.name) {
            let vars = "/layers/\(child.name)/vars"
            if try file.exists(vars), try !file.children(of: vars).isEmpty {
                throw CheckpointError.invalidFile(
                    file: displayName,
                    message: "/layers/\(child.name) holds variables but the model has no layer '\(child.name)' (layers: \(model.layers.map(\.name).joined(separator: ", ")))")
            }
        }
        for index in model.layers.indices {
            let layer = model.layers[index]
            let group = "/layers/\(layer.name)/vars"
            guard try file.exists(group) else {
                if layer.variables.isEmpty { continue }
                throw CheckpointError.missingObject(file: displayName, path: group,
                                                    message: "no variables for layer '\(layer.name)' (\(layer.typeName))")
            }
            try assigner.assign(try assigner.numberedDatasets(in: group), group: group, layerIndex: index, in: &model)
        }
    }

    /// The optimizer's state, or nil when the file has no `/optimizer/vars`.
    /// - Returns: the optimizer's name attribute (`adam`, `sgd`), learning rate and state.
    func optimizerState(for model: Sequential) throws -> (name: String, learningRate: Float, state: OptimizerState)? {
        let group = "/optimizer/vars"
        guard try file.exists(group) else { return nil }
        let name = (try? file.readAttribute("name", of: group, as: String.self)) ?? ""
        let paths = try assigner.numberedDatasets(in: group)
        guard paths.count >= 2 else {
            throw CheckpointError.missingObject(file: displayName, path: group, message: "expected iteration and learning_rate")
        }
        let iterations = try file.read(paths[0], as: Int64.self).values.first ?? 0
        let learningRate = try assigner.readTensor(paths[1]).scalars.first ?? 0
        let trainable = model.trainableVariables
        let slotCount = paths.count - 2
        let slotNames: [String]
        switch (name.lowercased(), trainable.isEmpty ? 0 : slotCount / trainable.count) {
        case ("adam", 2): slotNames = ["momentum", "velocity"]
        case ("sgd", 1): slotNames = ["momentum"]
        case ("sgd", 0) where slotCount == 0: slotNames = []
        case (_, _) where slotCount == 0: slotNames = []
        default:
            throw CheckpointError.invalidFile(
                file: displayName,
                message: "\(group) holds \(slotCount) slot variables for optimizer '\(name)' and \(trainable.count) trainable variables; cannot map them")
        }
        guard slotCount == slotNames.count * trainable.count else {
            throw CheckpointError.variableCountMismatch(file: displayName, path: group, layer: "optimizer",
                                                        expected: 2 + slotNames.count * trainable.count, found: paths.count)
        }
        var slots: [String: Tensor<Float>] = [:]
        var position = 2
        for variable in trainable {
            for slot in slotNames {
                let value = try assigner.readTensor(paths[position])
                guard value.shape == variable.value.shape else {
                    throw CheckpointError.variableShapeMismatch(file: displayName, path: paths[position], layer: "optimizer",
                                                                variable: "\(variable.name)/\(slot)",
                                                                expected: variable.value.shape, found: value.shape)
                }
                slots["\(variable.name)/\(slot)"] = value
                position += 1
            }
        }
        return (name, learningRate, OptimizerState(iterations: iterations, slots: slots))
    }
}
