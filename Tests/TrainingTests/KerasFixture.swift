import Foundation
import HDF5
import Tensors

/// Read access to fixtures/keras/conformance.h5 through the HDF5 module.
/// Attributes are addressed `"<object path>@<attribute>"`.
struct KerasFixture {
    let file: HDF5File

    static var url: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures/keras/conformance.h5")
    }

    static func open() throws -> KerasFixture {
        KerasFixture(file: try HDF5File.open(at: url))
    }

    /// A float32 dataset, or an integer one (labels) converted to Float.
    func tensor(_ path: String) throws -> Tensor<Float> {
        if let values = try? file.read(path, as: Float.self) {
            return try Tensor(shape: values.shape, scalars: values.values)
        }
        let labels = try file.read(path, as: Int64.self)
        return Tensor(converting: try Tensor(shape: labels.shape, scalars: labels.values))
    }

    /// The number of datasets in the `<group>/<layer>/<variable>` tree below `group`.
    func variableCount(_ group: String) throws -> Int {
        try file.children(of: group).reduce(0) { total, layer in
            total + (try file.children(of: "\(group)/\(layer.name)").count)
        }
    }

    func layerNames(_ model: String) throws -> [String] {
        try file.readAttribute("layer_names", of: "/\(model)", as: [String].self)
    }

    func string(_ key: String) throws -> String {
        let (path, name) = split(key)
        return try file.readAttribute(name, of: path, as: String.self)
    }

    func number(_ key: String) throws -> Double {
        let (path, name) = split(key)
        if let value = try? file.readAttribute(name, of: path, as: Double.self) { return value }
        return Double(try file.readAttribute(name, of: path, as: Int64.self))
    }

    private func split(_ key: String) -> (path: String, name: String) {
        let parts = key.split(separator: "@", maxSplits: 1).map(String.init)
        return ("/" + parts[0], parts[1])
    }
}
