import Testing
import Tensors
@testable import Training

/// `Sequential.setVariable` naming a layer that exists but a variable it lacks, or giving a
/// value of the wrong shape: each is the `TrainingError` case naming `<layer>/<variable>` and
/// the shapes (or the variables there are), and the model keeps its old value. The
/// model-level "no such layer" was pinned before; the layers' own checks had no test, and for
/// a layer without variables the message ended in "the model has " with nothing after it.
@Suite("Setting a variable a layer lacks, or of the wrong shape, names layer/variable")
struct VariableAssignmentErrorTests {
    static func model() throws -> Sequential {
        try Sequential(inputShape: [6, 6, 1], [
            Conv2D(filters: 2, kernelSize: Size2D(3, 3), name: "c"), BatchNormalization(name: "bn"),
            MaxPooling2D(name: "p"), Flatten(name: "f"), Dropout(rate: 0.5, name: "drop"), Dense(units: 1, name: "d"),
        ], seed: 3)
    }

    @Test("a value of the wrong shape names the variable and both shapes; the old value stays")
    func wrongShape() throws {
        var model = try Self.model()
        let before = model.variables
        #expect(throws: TrainingError.shapeMismatch(layer: "d/kernel", expected: [8, 1], found: [8, 2])) {
            try model.setVariable("d/kernel", to: Tensor(repeating: 0, shape: [8, 2]))
        }
        #expect(throws: TrainingError.shapeMismatch(layer: "c/bias", expected: [2], found: [3])) {
            try model.setVariable("c/bias", to: Tensor(repeating: 0, shape: [3]))
        }
        #expect(throws: TrainingError.shapeMismatch(layer: "bn/moving_mean", expected: [2], found: [2, 1])) {
            try model.setVariable("bn/moving_mean", to: Tensor(repeating: 0, shape: [2, 1]))
        }
        #expect(model.variables == before)
        try model.setVariable("c/bias", to: Tensor([0.5, -0.5]))
        #expect(model.variables.first { $0.name == "c/bias" }?.value == Tensor([0.5, -0.5]), "the right shape is set")
    }

    @Test("a variable a layer with weights lacks lists that layer's variables")
    func unknownLocalName() throws {
        var model = try Self.model()
        #expect(throws: TrainingError.unknownVariable(name: "d/gamma", available: ["d/kernel", "d/bias"])) {
            try model.setVariable("d/gamma", to: Tensor([1]))
        }
        #expect(throws: TrainingError.unknownVariable(name: "c/gamma", available: ["c/kernel", "c/bias"])) {
            try model.setVariable("c/gamma", to: Tensor([1]))
        }
    }

    @Test("a layer without variables says so instead of an empty list", arguments: ["p", "f", "drop"])
    func parameterlessLayer(layer: String) throws {
        var model = try Self.model()
        #expect(throws: TrainingError.unknownVariable(name: "\(layer)/kernel", available: [])) {
            try model.setVariable("\(layer)/kernel", to: Tensor([1]))
        }
        #expect(TrainingError.unknownVariable(name: "\(layer)/kernel", available: []).localizedDescription
                == "no variable named '\(layer)/kernel'; there are no variables to set there")
    }
}
