import Foundation
import HDF5
import Testing
import Training
@testable import Checkpoints
import CheckpointsTestSupport

/// Hostile model configurations — wrong types, absurd sizes, deep nesting, oversized text —
/// are refused with `CheckpointError.invalidModelConfig` naming the layer or JSON key, before
/// anything is allocated.
@Suite struct ConfigLimitsTests {
    private func refusal(_ json: String, file: String = "t.json") -> (path: String, message: String)? {
        let error = #expect(throws: CheckpointError.self) { try KerasModelConfig.model(fromJSON: json, file: file) }
        guard case let .invalidModelConfig(foundFile, path, message) = error else {
            Issue.record("expected invalidModelConfig, got \(String(describing: error))"); return nil
        }
        #expect(foundFile == file)
        return (path, message)
    }

    private func sequential(input: String = "[null, 3]", _ layers: String) -> String {
        """
        {"class_name": "Sequential", "config": {"name": "s", "layers": [
          {"class_name": "InputLayer", "config": {"batch_input_shape": \(input), "name": "input_1"}}, \(layers)]}}
        """
    }

    @Test("wrong JSON types are refused naming the layer and key, booleans and numbers included",
          arguments: [
            (#"{"class_name": "Dense", "config": {"name": "d", "units": "4"}}"#, "$.config.layers[1].config.units", "expected a number"),
            (#"{"class_name": "Dense", "config": {"name": "d", "units": true}}"#, "$.config.layers[1].config.units", "expected a number, found true"),
            (#"{"class_name": "Dense", "config": {"name": "d", "units": 2.5}}"#, "$.config.layers[1].config.units", "expected an integer"),
            (#"{"class_name": "Dense", "config": {"name": "d", "units": 4, "use_bias": 1}}"#, "$.config.layers[1].config.use_bias", "expected true or false, found 1"),
            (#"{"class_name": "Dropout", "config": {"name": "d", "rate": [0.5]}}"#, "$.config.layers[1].config.rate", "expected a number"),
          ])
    func wrongTypes(layer: String, path: String, message: String) throws {
        let found = refusal(sequential(layer))
        #expect(found?.path == path)
        #expect(found?.message.hasPrefix("layer 'd' (") == true && found?.message.contains(message) == true,
                "\(found?.message ?? "")")
    }

    @Test("absurd sizes are refused before allocation, naming the layer",
          arguments: [
            ("[null, 3]", #"{"class_name": "Dense", "config": {"name": "d", "units": 1000000000000}}"#, "$.config.layers[1].config.units"),
            ("[null, 3]", #"{"class_name": "Dense", "config": {"name": "d", "units": -5}}"#, "$.config.layers[1].config.units"),
            ("[null, -4]", #"{"class_name": "Dense", "config": {"name": "d", "units": 2}}"#, "$.config.layers[0].config.batch_input_shape"),
            ("[null, 1000000000000]", #"{"class_name": "BatchNormalization", "config": {"name": "d"}}"#, "$.config.layers[0].config.batch_input_shape"),
            ("[null, 100000]", #"{"class_name": "Dense", "config": {"name": "d", "units": 100000}}"#, "$.config.layers[1].config"),
            ("[null, 100000000]", #"{"class_name": "BatchNormalization", "config": {"name": "d"}}"#, "$.config.layers[1].config"),
          ])
    func absurdSizes(input: String, layer: String, path: String) throws {
        let found = refusal(sequential(input: input, layer))
        #expect(found?.path == path, "\(found?.message ?? "")")
    }

    @Test func theParameterCapNamesTheLayerThatCrossesIt() throws {
        // 3 → 10,000 ×4: 40,000, then 100,010,000 per layer: 200,060,000 after d3, 300,070,000 after d4 (> 250 M).
        let wide = (1...4).map { #"{"class_name": "Dense", "config": {"name": "d\#($0)", "units": 10000}}"# }.joined(separator: ", ")
        let found = refusal(sequential(wide))
        #expect(found?.path == "$.config.layers[4].config")
        #expect(found?.message.contains("layer 'd4' (Dense) on 10000 inputs needs 100010000 parameters, 300070000 in all") == true, "\(found?.message ?? "")")
        #expect(found?.message.contains("limit is \(JSONLimits.maximumParameters)") == true)
        // Just under the cap loads (so the cap, not something else, refused the model above).
        let model = try KerasModelConfig.model(fromJSON: sequential(#"{"class_name": "Dense", "config": {"name": "d", "units": 1000}}"#), file: "t.json")
        #expect(model.outputFeatures == 1000)
    }

    @Test("deep nesting is refused by the pre-scan, before the JSON parser runs", arguments: [65, 100_000])
    func deepNesting(depth: Int) throws {
        let nested = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let found = refusal(sequential(#"{"class_name": "Dense", "config": {"name": "d", "units": 2, "x": \#(nested)}}"#))
        #expect(found?.path == "$" && found?.message.contains("nest deeper than \(JSONLimits.maximumDepth) levels") == true)
        // Brackets inside strings do not count.
        let quoted = "\"" + String(repeating: "[", count: depth) + "\""
        #expect(throws: Never.self) {
            try KerasModelConfig.model(fromJSON: sequential(#"{"class_name": "Dense", "config": {"name": "d", "units": 2, "x": \#(quoted)}}"#), file: "t.json")
        }
    }

    @Test func nestingAtTheLimitParses() throws {
        let depth = JSONLimits.maximumDepth - 5   // root, config, layers, the layer and its config
        #expect(refusal(sequential(#"{"class_name": "Dense", "config": {"name": "d", "units": 2, "x": [\#(String(repeating: "[", count: depth) + String(repeating: "]", count: depth))]}}"#)) != nil)
        let nested = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let model = try KerasModelConfig.model(fromJSON: sequential(#"{"class_name": "Dense", "config": {"name": "d", "units": 2, "x": \#(nested)}}"#), file: "t.json")
        #expect(model.outputFeatures == 2)
    }

    @Test func tooManyLayersAreRefused() throws {
        let layers = (0...JSONLimits.maximumLayers).map { #"{"class_name": "ReLU", "config": {"name": "r\#($0)"}}"# }.joined(separator: ", ")
        let found = refusal(sequential(layers))
        #expect(found?.message.contains("10001 layers; the limit is 10000") == true)
    }

    @Test func invalidJSONSaysWhy() throws {
        let found = refusal(#"{"class_name": "Sequential", "config": "#)
        #expect(found?.path == "$" && found?.message.hasPrefix("not valid JSON: ") == true)
    }

    @Test("a deeply nested model_config in a legacy .h5 is refused naming the file")
    func legacyModelConfigNesting() throws {
        let folder = try NativeFixtures.folder()
        let url = folder.appendingPathComponent("legacy.h5")
        let nested = String(repeating: "{\"a\":", count: 100_000) + "1" + String(repeating: "}", count: 100_000)
        try HDF5File.atomicWrite(to: url) { file in
            try file.setAttribute("model_config", nested)
            try file.createGroup("/model_weights")
        }
        let error = #expect(throws: CheckpointError.self) { try KerasModelFile.load(url) }
        guard case let .invalidModelConfig(file, _, message) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(file == url.path + "@model_config" && message.contains("nest deeper"))
    }

    @Test("a native checkpoint whose architecture asks for 10^10 parameters is refused before allocation")
    func nativeArchitectureParameterCap() throws {
        let folder = try NativeFixtures.folder()
        let url = folder.appendingPathComponent("run.h5")
        let start = TrainingSnapshot(model: try NativeFixtures.model(seed: 3), optimizerState: OptimizerState(),
                                     iteratorState: nil, epoch: 0, stepInEpoch: 0, globalStep: 0, history: History())
        try NativeCheckpoint.save(start, optimizer: .sgd(learningRate: 0.1, momentum: 0, nesterov: false), to: url,
                                  loss: .binaryCrossentropy)
        #expect(throws: Never.self) { try NativeCheckpoint.load(from: url) }
        let file = try HDF5File.open(at: url, mode: .readWrite)
        try file.setAttribute("model_config", sequential(input: "[null, 100000]",
                                                         #"{"class_name": "Dense", "config": {"name": "huge", "units": 100000}}"#))
        try file.close()
        let error = #expect(throws: CheckpointError.self) { try NativeCheckpoint.load(from: url) }
        guard case let .invalidModelConfig(name, path, message) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(name == url.path && path == "$.config.layers[1].config" && message.contains("layer 'huge' (Dense)"))
    }
}
