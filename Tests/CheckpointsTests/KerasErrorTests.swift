import Foundation
import HDF5
import Tensors
import Testing
import Training
@testable import Checkpoints
import CheckpointsTestSupport

@Suite("Keras files Batchwise cannot represent exactly are refused with typed errors")
struct KerasErrorTests {
    @Test("an unsupported layer class is refused naming the layer and class")
    func unsupportedLayer() throws {
        let url = KerasFixtures.url("unsupported_layer.keras")
        let error = #expect(throws: CheckpointError.self) { try KerasModelFile.load(url) }
        guard case let .unsupportedLayer(file, layer, className, option, _) = error else {
            Issue.record("unexpected \(String(describing: error))"); return
        }
        #expect(file.hasSuffix("unsupported_layer.keras/config.json"))
        #expect(layer == "unit_normalization" && className == "UnitNormalization" && option == nil)
        #expect(error?.localizedDescription.contains("unit_normalization") == true)
    }

    @Test("an unsupported activation is refused naming layer, option and value")
    func unsupportedActivation() throws {
        let error = #expect(throws: CheckpointError.self) {
            try KerasModelFile.load(KerasFixtures.url("unsupported_activation.keras"))
        }
        #expect(error.map { if case .unsupportedLayer(_, "dense", "Dense", "activation", "gelu") = $0 { true } else { false } } == true,
                "got \(String(describing: error))")
    }

    static let legacyTemplate = """
    {"class_name": "Sequential", "config": {"name": "s", "layers": [
      {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 3], "name": "input_1"}},
      {"class_name": "Dense", "config": {"name": "dense", "units": UNITS, "activation": "relu", "kernel_regularizer": REG}},
      {"class_name": "BatchNormalization", "config": {"name": "bn", "axis": AXIS, "renorm": RENORM}}]}}
    """

    static func legacy(units: String = "4", regularizer: String = "null", axis: String = "[1]", renorm: String = "false") -> String {
        legacyTemplate.replacingOccurrences(of: "UNITS", with: units).replacingOccurrences(of: "REG", with: regularizer)
            .replacingOccurrences(of: "AXIS", with: axis).replacingOccurrences(of: "RENORM", with: renorm)
    }

    @Test("the legacy template itself loads (so the refusals below are caused by the edits)")
    func templateLoads() throws {
        let model = try KerasModelConfig.model(fromJSON: Self.legacy(), file: "t.json")
        #expect(model.layers.map(\.name) == ["dense", "bn"])
        #expect(model.inputFeatures == 3 && model.outputFeatures == 4)
        // Old tf.keras Sequential configs put batch_input_shape on the first real layer.
        let noInputLayer = """
        {"class_name": "Sequential", "config": {"name": "s", "layers": [
          {"class_name": "Dense", "config": {"name": "d", "units": 2, "batch_input_shape": [null, 6], "dtype": "float32"}}]}}
        """
        let old = try KerasModelConfig.model(fromJSON: noInputLayer, file: "t.json")
        #expect(old.inputFeatures == 6 && old.layers.map(\.name) == ["d"])
        let rank3 = noInputLayer.replacingOccurrences(of: "[null, 6]", with: "[null, 2, 3]")
        #expect(throws: CheckpointError.self) { try KerasModelConfig.model(fromJSON: rank3, file: "t.json") }
        let half = noInputLayer.replacingOccurrences(of: #""dtype": "float32""#, with: #""dtype": "float16""#)
        #expect(throws: CheckpointError.unsupportedLayer(file: "t.json", layer: "d", className: "Dense", option: "dtype", value: "float16")) {
            try KerasModelConfig.model(fromJSON: half, file: "t.json")
        }
    }

    @Test("absurd unit counts are invalid configs naming the JSON path", arguments: ["0", "-3", "1000000000"])
    func absurdUnits(units: String) throws {
        let error = #expect(throws: CheckpointError.self) {
            try KerasModelConfig.model(fromJSON: Self.legacy(units: units), file: "t.json")
        }
        guard case let .invalidModelConfig(file, path, message) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(file == "t.json" && path == "$.config.layers[1].config.units" && message.contains("dense"))
    }

    @Test("options that change outputs or training are refused naming the option")
    func refusedOptions() throws {
        let cases: [(String, String, String)] = [
            (Self.legacy(regularizer: #"{"class_name": "L2", "config": {"l2": 0.01}}"#), "dense", "kernel_regularizer"),
            (Self.legacy(axis: "[0]"), "bn", "axis"),
            (Self.legacy(axis: "2"), "bn", "axis"),
            (Self.legacy(renorm: "true"), "bn", "renorm"),
        ]
        for (json, layer, option) in cases {
            let error = #expect(throws: CheckpointError.self) { try KerasModelConfig.model(fromJSON: json, file: "t.json") }
            guard case let .unsupportedLayer(_, foundLayer, _, foundOption, _) = error else {
                Issue.record("\(option): got \(String(describing: error))"); continue
            }
            #expect(foundLayer == layer && foundOption == option)
        }
    }

    @Test("a functional graph that is not one chain is refused")
    func branchingGraph() throws {
        let json = """
        {"class_name": "Functional", "config": {"name": "m", "layers": [
          {"class_name": "InputLayer", "name": "input_1", "config": {"batch_input_shape": [null, 3], "name": "input_1"}, "inbound_nodes": []},
          {"class_name": "Dense", "name": "a", "config": {"name": "a", "units": 2}, "inbound_nodes": [[["input_1", 0, 0, {}]]]},
          {"class_name": "Dense", "name": "b", "config": {"name": "b", "units": 2}, "inbound_nodes": [[["input_1", 0, 0, {}]]]}],
          "input_layers": [["input_1", 0, 0]], "output_layers": [["b", 0, 0]]}}
        """
        let error = #expect(throws: CheckpointError.self) { try KerasModelConfig.model(fromJSON: json, file: "g.json") }
        #expect(error?.localizedDescription.contains("single-chain") == true, "got \(String(describing: error))")
        let twoInputs = json.replacingOccurrences(of: #""input_layers": [["input_1", 0, 0]]"#,
                                                  with: #""input_layers": [["input_1", 0, 0], ["a", 0, 0]]"#)
        #expect(throws: CheckpointError.self) { try KerasModelConfig.model(fromJSON: twoInputs, file: "g.json") }
    }

    @Test("corrupted config.json in a .keras is an invalid config naming the archive member")
    func corruptedJSON() throws {
        let directory = try KerasFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("broken.keras")
        let weights = KerasFixtures.url("seed_model.weights.h5")
        try KerasArchive.write(to: url, config: #"{"class_name": "Sequential", "config": {"#, metadata: "{}") {
            try FileManager.default.copyItem(at: weights, to: $0)
        }
        let error = #expect(throws: CheckpointError.self) { try KerasModelFile.load(url) }
        #expect(error == .invalidModelConfig(file: url.path + "/config.json", path: "$",
                                             message: "not valid JSON: Unexpected end of file during JSON parse."))
    }

    /// A writable copy of a fixture in a fresh temporary directory.
    func editableCopy(_ name: String) throws -> URL {
        let directory = try KerasFixtures.temporaryDirectory()
        let url = directory.appendingPathComponent(name)
        try FileManager.default.copyItem(at: KerasFixtures.url(name), to: url)
        return url
    }

    @Test("a missing variable dataset is a count mismatch naming file, group and layer; the model is untouched")
    func missingVariable() throws {
        let url = try editableCopy("seed_model.weights.h5")
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        let file = try HDF5File.open(at: url, mode: .readWrite)
        try file.remove("/layers/dense/vars/1")
        try file.close()
        let reference = try KerasFixtures.reference("seed_model")
        var model = try KerasModelConfig.model(fromJSON: reference.modelJSON, file: "json")
        let before = model.variables
        let error = #expect(throws: CheckpointError.self) { try KerasModelFile.loadWeights(url, into: &model) }
        #expect(error == .variableCountMismatch(file: url.path, path: "/layers/dense/vars", layer: "dense", expected: 2, found: 1))
        #expect(model.variables == before)
    }

    @Test("a wrongly shaped variable names file, dataset, layer, variable and both shapes")
    func wrongShape() throws {
        let url = try editableCopy("seed_model.weights.h5")
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        let file = try HDF5File.open(at: url, mode: .readWrite)
        try file.write([Float](repeating: 0, count: 3), shape: [3, 1], to: "/layers/dense_1/vars/0")
        try file.close()
        var model = try KerasModelConfig.model(fromJSON: try KerasFixtures.reference("seed_model").modelJSON, file: "json")
        let error = #expect(throws: CheckpointError.self) { try KerasModelFile.loadWeights(url, into: &model) }
        #expect(error == .variableShapeMismatch(file: url.path, path: "/layers/dense_1/vars/0", layer: "dense_1",
                                                variable: "kernel", expected: [8, 1], found: [3, 1]))
    }

    @Test("legacy weights with a missing layer group name the group")
    func legacyMissingLayer() throws {
        let url = try editableCopy("seed_model.legacy-weights.h5")
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        let file = try HDF5File.open(at: url, mode: .readWrite)
        try file.remove("/batch_normalization_1")
        try file.close()
        var model = try KerasModelConfig.model(fromJSON: try KerasFixtures.reference("seed_model").modelJSON, file: "json")
        let error = #expect(throws: CheckpointError.self) { try KerasModelFile.loadWeights(url, into: &model) }
        guard case let .missingObject(file: f, path: path, _) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(f == url.path && path == "/batch_normalization_1")
    }

    @Test("non-Keras files are refused by content")
    func notAKerasFile() throws {
        let directory = try KerasFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let text = directory.appendingPathComponent("model.keras")
        try Data("hello".utf8).write(to: text)
        // A text file, an HDF5 file that is not a Keras file (the io reference data), no file:
        // each error names the file.
        for url in [text, KerasFixtures.url("seed_model.io.h5"), directory.appendingPathComponent("absent.keras")] {
            let error = #expect(throws: CheckpointError.self) { try KerasModelFile.load(url) }
            #expect(error?.localizedDescription.contains(url.path) == true, "\(String(describing: error?.localizedDescription))")
        }
    }
}

@Suite("Legacy weights into differently named models")
struct KerasLegacyPositionalTests {
    @Test("legacy weights-only files load by layer order when the names differ, as tf.keras's load_weights does")
    func positionalLegacyWeights() throws {
        let reference = try KerasFixtures.reference("seed_model")
        let keras = try KerasModelConfig.model(fromJSON: reference.modelJSON, file: "json")
        var renamed = try Sequential(inputFeatures: 1, [
            BatchNormalization(name: "bn_a"), Dense(units: 8, activation: .sigmoid, name: "hidden"),
            BatchNormalization(name: "bn_b"), Dense(units: 1, activation: .sigmoid, name: "out"),
        ])
        #expect(renamed.layers.map(\.name) != keras.layers.map(\.name))
        try KerasModelFile.loadWeights(KerasFixtures.url("seed_model.legacy-weights.h5"), into: &renamed)
        try expectPredictions(renamed, reference, "renamed model")
    }
}
