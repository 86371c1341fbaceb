import Foundation
import HDF5
import Tensors
import Training

/// Reads one variable dataset and assigns it to a model variable by position, checking the
/// shape, so every mismatch names the file, the dataset path, the layer and the variable.
struct KerasVariableAssigner {
    let file: HDF5File
    let displayName: String

    func readTensor(_ path: String) throws -> Tensor<Float> {
        guard try file.exists(path) else {
            throw CheckpointError.missingObject(file: displayName, path: path, message: "no such dataset")
        }
        guard try file.kind(of: path) == .dataset else {
            throw CheckpointError.missingObject(file: displayName, path: path, message: "expected a dataset, found a group")
        }
        let array = try file.read(path, as: Float.self)
        return try Tensor(shape: array.shape, scalars: array.values)
    }

    /// Assigns the datasets `paths` to `layer`'s variables in order.
    func assign(_ paths: [String], group: String, layerIndex: Int, in model: inout Sequential) throws {
        let layer = model.layers[layerIndex]
        let expected = layer.variables
        guard paths.count == expected.count else {
            throw CheckpointError.variableCountMismatch(file: displayName, path: group, layer: layer.name,
                                                        expected: expected.count, found: paths.count)
        }
        for (path, variable) in zip(paths, expected) {
            let value = try readTensor(path)
            guard value.shape == variable.value.shape else {
                throw CheckpointError.variableShapeMismatch(file: displayName, path: path, layer: layer.name,
                                                            variable: variable.name, expected: variable.value.shape,
                                                            found: value.shape)
            }
            try model.setVariable("\(layer.name)/\(variable.name)", to: value)
        }
    }

    /// A string-array attribute that tf_keras writes as an empty float64 array when empty.
    func stringList(_ name: String, of path: String) throws -> [String] {
        guard try file.hasAttribute(name, of: path) else {
            throw CheckpointError.missingObject(file: displayName, path: "\(path)@\(name)", message: "missing attribute")
        }
        let info = try file.attributeInfo(name, of: path)
        if info.elementType != .string {
            guard info.shape.reduce(1, *) == 0 else {
                throw CheckpointError.invalidFile(file: displayName, message: "\(path)@\(name) is not a list of strings")
            }
            return []
        }
        return try file.readAttribute(name, of: path, as: [String].self)
    }

    /// Datasets of a Keras 3 `vars` group, sorted by their numeric names (0, 1, ..., 10).
    func numberedDatasets(in group: String) throws -> [String] {
        let children = try file.children(of: group)
        var numbered: [(Int, String)] = []
        for child in children {
            guard let index = Int(child.name), index >= 0, child.kind == .dataset else {
                throw CheckpointError.invalidFile(file: displayName, message: "\(group)/\(child.name) is not a numbered variable dataset")
            }
            numbered.append((index, "\(group)/\(child.name)"))
        }
        numbered.sort { $0.0 < $1.0 }
        for (position, entry) in numbered.enumerated() where entry.0 != position {
            throw CheckpointError.missingObject(file: displayName, path: "\(group)/\(position)", message: "variable \(position) is missing")
        }
        return numbered.map(\.1)
    }
}
