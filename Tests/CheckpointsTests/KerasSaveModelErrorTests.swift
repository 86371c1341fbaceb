import Foundation
import Testing
import Tensors
import Training
@testable import Checkpoints
import CheckpointsTestSupport

/// Saving a `.keras` file of a model Keras cannot describe: a layer type of the caller's own
/// without a Keras class, and a layer option JSON cannot hold (an infinite Rescaling scale).
/// Each is refused naming the file being saved (and the layer or JSON path), and nothing is
/// left in the folder. Before stop 21 no test reached these checks, and both errors named
/// no file at all (the config writers do not know it): the message began with ": ".
@Suite("Saving a .keras file of a model Keras cannot describe names the file and leaves nothing")
struct KerasSaveModelErrorTests {
    /// A layer of the caller's own that passes its input through and has no Keras class.
    struct PassThrough: Layer {
        static let namePrefix = "pass_through"
        var name = ""
        var isTrainable = true
        private(set) var inputShape: [Int]?

        func outputShape(forInput inputShape: [Int]) throws -> [Int] { inputShape }
        mutating func build(inputShape: [Int], seed: UInt64) throws -> [Int] {
            self.inputShape = inputShape
            return inputShape
        }
        func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> LayerOutput<Void> {
            LayerOutput(output: input, tape: ())
        }
        func backward(_ upstream: Tensor<Float>, tape: Void, gradients: inout LayerGradients,
                      needsInputGradient: Bool) throws -> Tensor<Float>? { upstream }
        var variables: [NamedVariable] { [] }
        mutating func setVariable(_ localName: String, to value: Tensor<Float>) throws {
            throw TrainingError.unknownVariable(name: "\(name)/\(localName)", available: [])
        }
    }

    static func save(_ model: Sequential, _ label: String = #function) throws -> (folder: URL, url: URL, error: CheckpointError?) {
        let folder = try NativeFixtures.folder(label)
        let url = folder.appendingPathComponent("model.keras")
        let error = #expect(throws: CheckpointError.self) { try KerasModelFile.save(model, to: url) }
        return (folder, url, error)
    }

    @Test("a layer type without a Keras class names the file, the layer and its type")
    func layerWithoutKerasClass() throws {
        let model = try Sequential(inputFeatures: 3, [PassThrough(name: "mine"), Dense(units: 1, name: "d")])
        let (folder, url, error) = try Self.save(model)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(error == .unsupported(file: url.path, what: "layer 'mine' (PassThrough) has no Keras equivalent"),
                "got \(String(describing: error))")
        #expect(error?.localizedDescription.hasPrefix(url.path) == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty, "the refused save left a file")
    }

    @Test("an infinite Rescaling scale names the file and the option's JSON path")
    func infiniteOption() throws {
        let model = try Sequential(inputFeatures: 3, [Rescaling(scale: .infinity, name: "r"), Dense(units: 1, name: "d")])
        let (folder, url, error) = try Self.save(model)
        defer { try? FileManager.default.removeItem(at: folder) }
        guard case let .invalidModelConfig(file, path, message)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(file == url.path && path == "$.config.layers[1].config.scale", "\(file) \(path)")
        #expect(message.hasPrefix("cannot write a non-finite number inf as JSON"), "\(message)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty, "the refused save left a file")
        // A finite scale saves.
        let finite = try Sequential(inputFeatures: 3, [Rescaling(scale: 2, name: "r"), Dense(units: 1, name: "d")])
        try KerasModelFile.save(finite, to: url)
        #expect(FileManager.default.fileExists(atPath: url.path))
    }
}
