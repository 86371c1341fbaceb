import Foundation
import Testing
@testable import Checkpoints

/// Model configurations that are not one chain Batchwise can build: each is refused as
/// `invalidModelConfig` (or `unsupportedLayer`) naming the file and the JSON path of the value
/// at fault, with a message saying what is wrong there.
@Suite("Keras model graphs that are not a single chain are refused naming the JSON path")
struct KerasGraphErrorTests {
    static let sequential = """
    {"class_name": "Sequential", "config": {"name": "s", "layers": [
      {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 3], "name": "input_1"}},
      {"class_name": "Dense", "config": {"name": "dense", "units": 4}}]}}
    """

    static let functional = """
    {"class_name": "Functional", "config": {"name": "m", "layers": [
      {"class_name": "InputLayer", "name": "input_1", "config": {"batch_input_shape": [null, 3], "name": "input_1"}, "inbound_nodes": []},
      {"class_name": "Dense", "name": "a", "config": {"name": "a", "units": 2}, "inbound_nodes": [[["input_1", 0, 0, {}]]]}],
      "input_layers": [["input_1", 0, 0]], "output_layers": [["a", 0, 0]]}}
    """

    /// One edit of a template, the JSON path the error must name and a part of its message.
    struct Case: CustomTestStringConvertible, Sendable {
        let label: String
        let json: String
        let path: String
        let message: String
        var testDescription: String { label }

        init(_ label: String, _ template: String, _ edits: [(String, String)], path: String, message: String) {
            self.label = label
            json = edits.reduce(template) { text, edit in
                precondition(text.contains(edit.0), "\(label): the template has no \(edit.0)")
                return text.replacingOccurrences(of: edit.0, with: edit.1)
            }
            self.path = path
            self.message = message
        }
    }

    @Test("both templates build (so each refusal below is caused by its edit)")
    func templatesLoad() throws {
        #expect(try KerasModelConfig.model(fromJSON: Self.sequential, file: "t.json").layers.map(\.name) == ["dense"])
        #expect(try KerasModelConfig.model(fromJSON: Self.functional, file: "t.json").layers.map(\.name) == ["a"])
    }

    static let cases: [Case] = [
        Case("a subclassed model", sequential, [(#""class_name": "Sequential""#, #""class_name": "MyModel""#)],
             path: "$", message: #"model class "MyModel" is not supported (only Sequential and single-chain functional models)"#),
        Case("a JSON array as the root", "[1, 2]", [], path: "$", message: "expected a JSON object"),
        Case("a class name that is a number", sequential, [(#""class_name": "Sequential""#, #""class_name": 3"#)],
             path: "$.class_name", message: "expected a string, found 3"),
        Case("config that is an array", sequential, [(#""config": {"name": "s", "layers": ["#, #""config": [{"layers": ["#),
                                                      ("\"units\": 4}}]}}", "\"units\": 4}}]}]}")],
             path: "$.config", message: "expected an object"),
        Case("layers that is an object", sequential, [(#""layers": ["#, #""layers": {"x": ["#), ("4}}]}}", "4}}]}}}")],
             path: "$.config.layers", message: "expected an array"),
        Case("only an InputLayer", sequential, [(",\n  {\"class_name\": \"Dense\", \"config\": {\"name\": \"dense\", \"units\": 4}}", "")],
             path: "$.config", message: "the model has no layers besides its input"),
        Case("an InputLayer without a shape", sequential, [(#""batch_input_shape": [null, 3], "#, "")],
             path: "$.config.layers[0].config", message: "InputLayer without batch_shape"),
        Case("no input width anywhere", sequential,
             [("{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 3], \"name\": \"input_1\"}},\n", "")],
             path: "$.config", message: "cannot tell the input width (no InputLayer, build_input_shape or batch_input_shape)"),
        Case("an InputLayer after a layer", sequential,
             [("{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 3], \"name\": \"input_1\"}},\n", ""),
              (#""units": 4}}]"#, #""units": 4, "batch_input_shape": [null, 3]}}, {"class_name": "InputLayer", "config": {"name": "late"}}]"#)],
             path: "$.config", message: "InputLayer 'late' is not the first layer"),
        Case("an input width of 0", sequential, [("[null, 3]", "[null, 0]")],
             path: "$.config.layers[0].config.batch_input_shape", message: "input size 0 is outside 1...100000000"),
        Case("an input shape without example dimensions", sequential, [("[null, 3]", "[null]")],
             path: "$.config.layers[0].config.batch_input_shape",
             message: "input shape [null] is not [batch, ...] with at least one dimension per example"),
        Case("an input shape with a free dimension", sequential, [("[null, 3]", "[null, null, 3]")],
             path: "$.config.layers[0].config.batch_input_shape",
             message: "input shape [null,null,3] has a dimension that is not a number; only fixed shapes are supported"),
        Case("an input shape of too many values", sequential, [("[null, 3]", "[null, 20000, 20000]")],
             path: "$.config.layers[0].config.batch_input_shape",
             message: "input shape [null,20000,20000] holds more than 100000000 values per example"),
        Case("a fractional unit count", sequential, [(#""units": 4"#, #""units": 2.5"#)],
             path: "$.config.layers[1].config.units", message: "layer 'dense' (Dense): expected an integer, found 2.5"),
        Case("two outputs", functional, [(#""output_layers": [["a", 0, 0]]"#, #""output_layers": [["a", 0, 0], ["input_1", 0, 0]]"#)],
             path: "$.config", message: "the model has 2 outputs; only single-chain models are supported"),
        Case("a functional model not starting with its InputLayer", functional,
             [(#"{"class_name": "InputLayer", "name": "input_1""#, #"{"class_name": "Dense", "name": "input_1""#)],
             path: "$.config", message: "the first layer is not an InputLayer"),
        Case("input_layers naming another layer", functional, [(#""input_layers": [["input_1", 0, 0]]"#, #""input_layers": [["x", 0, 0]]"#)],
             path: "$.config", message: "input_layers names 'x' but the first layer is 'input_1'"),
        Case("a functional InputLayer without a shape", functional, [(#""batch_input_shape": [null, 3], "#, "")],
             path: "$.config.layers[0].config", message: "InputLayer without batch_shape"),
        Case("output_layers naming another layer", functional, [(#""output_layers": [["a", 0, 0]]"#, #""output_layers": [["b", 0, 0]]"#)],
             path: "$.config", message: "output_layers names 'b' but the chain ends at 'a': only single-chain models are supported"),
        Case("an empty input endpoint", functional, [(#""input_layers": [["input_1", 0, 0]]"#, #""input_layers": [[]]"#)],
             path: "$.config.input_layers[0]", message: "empty endpoint"),
        Case("an empty legacy inbound tensor", functional, [(#"[[["input_1", 0, 0, {}]]]"#, "[[[]]]")],
             path: "$.config.layers[1].inbound_nodes[0][0]", message: "empty inbound tensor"),
        Case("an empty Keras 3 keras_history", functional,
             [(#"[[["input_1", 0, 0, {}]]]"#, #"[{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": []}}]}]"#)],
             path: "$.config.layers[1].inbound_nodes[0].args[0].config.keras_history", message: "empty keras_history"),
        Case("a layer with no input", functional, [(#"[[["input_1", 0, 0, {}]]]"#, "[]")],
             path: "$.config.layers[1]",
             message: "layer 'a' (Dense) takes no input, not just the previous layer 'input_1': only single-chain models are supported"),
    ]

    @Test("a config that is not one chain names its JSON path", arguments: cases)
    func refused(_ item: Case) throws {
        let error = #expect(throws: CheckpointError.self) { try KerasModelConfig.model(fromJSON: item.json, file: "g.json") }
        #expect(error == .invalidModelConfig(file: "g.json", path: item.path, message: item.message),
                "\(item.label): got \(String(describing: error))")
        #expect(error?.localizedDescription == "g.json: model config \(item.path): \(item.message)")
    }

    /// Images put channels last; `axis: [1]` on them would normalize rows, not channels.
    @Test("a BatchNormalization axis that is not the last axis of image inputs names the input shape")
    func axisOfImages() throws {
        let json = Self.sequential.replacingOccurrences(of: "[null, 3]", with: "[null, 4, 4, 2]")
            .replacingOccurrences(of: #"{"class_name": "Dense", "config": {"name": "dense", "units": 4}}"#,
                                  with: #"{"class_name": "BatchNormalization", "config": {"name": "bn", "axis": [1]}}"#)
        let error = #expect(throws: CheckpointError.self) { try KerasModelConfig.model(fromJSON: json, file: "g.json") }
        guard case let .unsupportedLayer(file, layer, className, option, value) = error else {
            Issue.record("got \(String(describing: error))"); return
        }
        #expect(file == "g.json" && layer == "bn" && className == "BatchNormalization" && option == "axis")
        #expect(value == "[1] (its input is [batch, 4, 4, 2]: only the last axis, -1 or 3, is supported)")
        // The same axis written as the last one loads.
        #expect(throws: Never.self) { try KerasModelConfig.model(fromJSON: json.replacingOccurrences(of: "[1]", with: "[3]"), file: "g.json") }
    }

    @Test("a configuration text over the size limit is refused before parsing, naming its size")
    func oversizedText() throws {
        let text = "{}" + String(repeating: " ", count: JSONLimits.maximumBytes)
        let error = #expect(throws: CheckpointError.self) { try KerasModelConfig.model(fromJSON: text, file: "big.json") }
        #expect(error == .invalidModelConfig(file: "big.json", path: "$",
                                             message: "the configuration is \(text.utf8.count) bytes; the limit is \(JSONLimits.maximumBytes)"))
    }
}
