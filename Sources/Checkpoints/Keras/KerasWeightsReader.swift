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

    /// The state of `optimizer` (which the file's compile config describes), or nil when the
    /// file has no `/optimizer/vars`. The variables are in Keras's order, which the optimizer
    /// describes (``/Training/KerasOptimizer/kerasVariableOrder(for:)``).
    /// - Returns: the stored learning rate (nil under a schedule, which Keras does not store) and the state.
    /// - Throws: ``CheckpointError`` naming the optimizer variable whose count or shape does not
    ///   match the model's trainable variables.
    func optimizerState(for model: Sequential, optimizer: any KerasOptimizer) throws -> (learningRate: Float?, state: OptimizerState)? {
        let group = "/optimizer/vars"
        guard try file.exists(group) else { return nil }
        let paths = try assigner.numberedDatasets(in: group)
        let trainable = model.trainableVariables
        let order = optimizer.kerasVariableOrder(for: trainable.map(\.name))
        let storesRate: Bool
        if case .constant = optimizer.options.learningRate { storesRate = true } else { storesRate = false }
        let fixed = storesRate ? 2 : 1
        guard paths.count == fixed + order.count else {
            let kind = type(of: optimizer).kerasClassName
            let expected = (storesRate ? ["iteration", "learning_rate"] : ["iteration"]) + order
            let first = paths.count < expected.count ? "missing '\(expected[paths.count])'" : "no variable for \(paths[expected.count])"
            throw CheckpointError.invalidFile(
                file: displayName,
                message: "\(group) holds \(paths.count) variables; \(kind) over the model's \(trainable.count) trainable variables keeps \(expected.count) (\(first))")
        }
        let iterations = try file.read(paths[0], as: Int64.self).values.first ?? 0
        let learningRate = storesRate ? try assigner.readTensor(paths[1]).scalars.first : nil
        let shapes = Dictionary(uniqueKeysWithValues: trainable.map { ($0.name, $0.value.shape) })
        var slots: [String: Tensor<Float>] = [:]
        for (offset, key) in order.enumerated() {
            let path = paths[fixed + offset]
            let value = try assigner.readTensor(path)
            let variable = key.split(separator: "/").dropLast().joined(separator: "/")
            let expected = shapes[variable] ?? []
            guard value.shape == expected || (expected.isEmpty && value.scalarCount == 1) else {
                throw CheckpointError.variableShapeMismatch(file: displayName, path: path, layer: "optimizer",
                                                            variable: key, expected: expected, found: value.shape)
            }
            slots[key] = value
        }
        return (learningRate, OptimizerState(iterations: iterations, slots: slots))
    }
}
