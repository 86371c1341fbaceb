import Foundation
import HDF5
import Tensors
import Training
import Checkpoints

/// Access to fixtures/keras-models (files written by real Keras 3 and tf_keras).
package enum KerasFixtures {
    package static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/keras-models")

    package static let models = ["seed_model", "softmax_classifier", "no_affine_bn", "activations_mix", "sequential_mlp"]

    package static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    package struct Reference {
        package let inputs: Tensor<Float>
        package let inference: Tensor<Float>
        package let batchStatistics: Tensor<Float>
        package let modelJSON: String
        package let layerNames: [String]
        package let loss: String
    }

    package static func reference(_ model: String) throws -> Reference {
        let file = try HDF5File.open(at: url("\(model).io.h5"))
        defer { try? file.close() }
        func tensor(_ path: String) throws -> Tensor<Float> {
            let array = try file.read(path, as: Float.self)
            return try Tensor(shape: array.shape, scalars: array.values)
        }
        return Reference(inputs: try tensor("/inputs"), inference: try tensor("/outputs_inference"),
                         batchStatistics: try tensor("/outputs_batch_statistics"),
                         modelJSON: try file.readAttribute("model_json", as: String.self),
                         layerNames: try file.readAttribute("layer_names", as: [String].self),
                         loss: try file.readAttribute("loss", as: String.self))
    }

    package static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("batchwise-keras-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// The largest |a − b| / (1e-5 + 1e-5·|b|); ≤ 1 means within 1e-5 absolute plus relative.
package func scaledError(_ a: Tensor<Float>, _ b: Tensor<Float>) -> Float {
    guard a.shape == b.shape else { return .infinity }
    return zip(a.scalars, b.scalars).map { abs($0 - $1) / (1e-5 + 1e-5 * abs($1)) }.max() ?? 0
}

