import Foundation
import Testing
import Tensors
@testable import Training

/// Models that cannot be built as asked, layers used before they are built, and optimizer
/// state that does not fit its variables: each is the `TrainingError` case naming the layer or
/// variable and the value or shape at fault.
@Suite("Impossible models and misfitting optimizer state name the layer or variable")
struct ModelBuildErrorTests {
    @Test("an input width of 0, and two layers of one name")
    func inputsAndNames() throws {
        #expect(throws: TrainingError.invalidArgument(layer: "sequential", message: "input width must be positive, got 0")) {
            try Sequential(inputFeatures: 0, [Dense(units: 2)])
        }
        #expect(throws: TrainingError.invalidArgument(layer: "d", message: "two layers are named 'd'")) {
            try Sequential(inputFeatures: 3, [Dense(units: 2, name: "d"), Dense(units: 1, name: "d")])
        }
        #expect(try Sequential(inputFeatures: 3, [Dense(units: 2, name: "d"), Dense(units: 1, name: "e")]).layers.count == 2)
    }

    @Test("a convolution with no filters, or with both strides and dilation above 1")
    func convolutionOptions() throws {
        #expect(throws: TrainingError.invalidArgument(layer: "c", message: "the number of filters must be positive, got 0")) {
            try Sequential(inputShape: [8, 8, 1], [Conv2D(filters: 0, kernelSize: Size2D(3, 3), name: "c")])
        }
        #expect(throws: TrainingError.invalidArgument(
            layer: "c", message: "strides 2x2 and dilation rate 2x2 cannot both exceed 1 (Keras refuses it too)")) {
            try Sequential(inputShape: [8, 8, 1], [Conv2D(filters: 2, kernelSize: Size2D(3, 3), strides: Size2D(2, 2),
                                                          dilationRate: Size2D(2, 2), name: "c")])
        }
    }

    @Test("a reshape to another number of values names both shapes")
    func reshapeCount() throws {
        #expect(throws: TrainingError.invalidArgument(
            layer: "r", message: "cannot reshape examples of shape [12] (12 values) to [5, -1, 2]; "
                + "the target shape must hold the same number of values, with at most one -1")) {
            try Sequential(inputFeatures: 12, [Reshape(targetShape: [5, -1, 2], name: "r")])
        }
        #expect(try Sequential(inputFeatures: 12, [Reshape(targetShape: [3, -1, 2], name: "r")]).outputShape == [3, 2, 2])
    }

    @Test("Dense on images without a Flatten names the layer and the image shape")
    func denseOnImages() throws {
        #expect(throws: TrainingError.shapeMismatch(layer: "d", expected: [-1, -1], found: [-1, 4, 4, 1])) {
            try Sequential(inputShape: [4, 4, 1], [Dense(units: 2, name: "d")])
        }
        #expect(try Sequential(inputShape: [4, 4, 1], [Flatten(), Dense(units: 2, name: "d")]).outputFeatures == 2)
    }

    @Test("a layer used before it is built says how to build it")
    func unbuiltLayer() throws {
        let x = try Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        #expect(throws: TrainingError.invalidArgument(layer: "d", message: "the layer is not built (give inputSize or use it in a Sequential)")) {
            try Dense(units: 2, name: "d").forward(x, mode: .inference)
        }
        #expect(throws: TrainingError.invalidArgument(layer: "r", message: "the layer is not built (use it in a Sequential)")) {
            try Reshape(targetShape: [3, 1], name: "r").forward(x, mode: .inference)
        }
    }

    @Test("a random state for a layer that draws none names the layer and those that do")
    func randomStateOfDeterministicLayer() throws {
        var model = try Sequential(inputFeatures: 3, [Dense(units: 2, name: "d"), Dropout(rate: 0.5, name: "drop")])
        #expect(throws: TrainingError.unknownVariable(name: "d", available: ["drop"])) { try model.setRandomState(1, forLayer: "d") }
    }

    @Test("restored optimizer slots of the wrong shape, or a scalar slot of many values, name the variable")
    func misfittingSlots() throws {
        var model = try Sequential(inputFeatures: 2, [Dense(units: 3, name: "d")], seed: 1)
        let x = try Tensor<Float>(shape: [2, 2], scalars: [1, 2, 3, 4])
        let y = try Tensor<Float>(shape: [2, 3], scalars: [0, 1, 0, 1, 0, 1])
        let step = try model.trainingStep(x: x, y: y, loss: .meanSquaredError)
        let before = model.variables

        var adam = Adam()
        adam.state = OptimizerState(iterations: 1, slots: ["d/kernel/momentum": try Tensor(shape: [3], scalars: [0, 0, 0])])
        #expect(throws: TrainingError.optimizerStateMismatch(variable: "d/kernel", message: "slot momentum has shape [3], the variable [2, 3]")) {
            try adam.apply(step.gradients, to: &model)
        }
        #expect(model.variables == before, "a refused step leaves the weights as they were")

        let scalarSlot = try #require(Nadam().scalarSlots.first?.name)
        var nadam = Nadam()
        nadam.state = OptimizerState(iterations: 1, slots: [scalarSlot: try Tensor(shape: [2], scalars: [1, 1])])
        #expect(throws: TrainingError.optimizerStateMismatch(variable: scalarSlot, message: "holds 2 values where the optimizer keeps one")) {
            try nadam.apply(step.gradients, to: &model)
        }
        #expect(model.variables == before)
    }
}
