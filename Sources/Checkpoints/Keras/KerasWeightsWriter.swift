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
        let group = "/optimizer/vars"
        try file.createGroup(group)
        let (name, slotNames) = try KerasCompileConfig.kerasIdentity(of: optimizer)
        try file.setAttribute("name", name, on: group)
        let state = optimizer.state
        try file.writeUnretained([state.iterations], shape: [], to: "\(group)/0")
        try file.writeUnretained([optimizer.learningRate], shape: [], to: "\(group)/1")
        var position = 2
        for variable in model.trainableVariables {
            for slot in slotNames {
                // An optimizer that has not stepped yet has no slots; Keras expects zeros.
                let value = state.slots["\(variable.name)/\(slot)"] ?? Tensor(zeros: variable.value.shape)
                try file.writeUnretained(value.scalars, shape: value.shape, to: "\(group)/\(position)")
                position += 1
            }
        }
    }
}
