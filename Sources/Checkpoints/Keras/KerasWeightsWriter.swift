import Foundation
import HDF5
import Tensors
import Training

/// Writes the Keras 3 weights layout (what `model.save_weights` produces for a Sequential
/// model) into an open HDF5 file; ``KerasModelFile`` publishes the file atomically.
enum KerasWeightsWriter {
    static func write(_ model: Sequential, optimizer: (any Optimizer)?, to file: HDF5File) throws {
        try file.createGroup("/layers")
        for layer in model.layers {
            let group = "/layers/\(layer.name)/vars"
            try file.createGroup(group)
            try file.setAttribute("name", layer.name, on: group)
            for (index, variable) in layer.variables.enumerated() {
                try file.writeUnretained(variable.value.scalars, shape: variable.value.shape, to: "\(group)/\(index)")
            }
        }
        try file.createGroup("/vars")
        try file.setAttribute("name", model.name, on: "/vars")
        guard let optimizer else { return }
        guard let described = optimizer as? any KerasOptimizer else {
            throw CheckpointError.unsupported(file: "", what: "optimizer \(type(of: optimizer)) has no Keras equivalent")
        }
        let group = "/optimizer/vars"
        try file.createGroup(group)
        try file.setAttribute("name", type(of: described).kerasName, on: group)
        let state = described.state
        try file.writeUnretained([state.iterations], shape: [], to: "\(group)/0")
        var position = 1
        // Keras keeps a constant learning rate as a variable; a schedule is only in the config.
        if case .constant(let rate) = described.options.learningRate {
            try file.writeUnretained([rate], shape: [], to: "\(group)/1")
            position = 2
        }
        let shapes = Dictionary(uniqueKeysWithValues: model.trainableVariables.map { ($0.name, $0.value.shape) })
        for key in described.kerasVariableOrder(for: model.trainableVariables.map(\.name)) {
            // An optimizer that has not stepped yet has no slots; Keras expects their initial values.
            let value = state.slots[key] ?? described.initialStateValue(forKey: key, shapes: shapes)
            try file.writeUnretained(value.scalars, shape: value.shape, to: "\(group)/\(position)")
            position += 1
        }
    }
}
