import Foundation
import Testing
import Tensors
@testable import Training

/// Checks the Swift math against real Keras 3.15 numbers recorded in
/// fixtures/keras/conformance.h5 (see fixtures/keras/README.md for how they were made).
@Suite struct KerasConformanceTests {
    static let models = ["seed_model", "softmax_classifier", "no_affine_bn"]

    /// The Swift twin of each fixture model (architecture from the fixture's README).
    static func makeModel(_ name: String) throws -> Sequential {
        switch name {
        case "seed_model":
            return try Sequential(inputFeatures: 1, [
                BatchNormalization(), Dense(units: 8, activation: .sigmoid),
                BatchNormalization(), Dense(units: 1, activation: .sigmoid),
            ])
        case "softmax_classifier":
            return try Sequential(inputFeatures: 6, [
                Dense(units: 16), BatchNormalization(momentum: 0.9, epsilon: 1e-5),
                ActivationLayer(.relu), Dropout(rate: 0.3), Dense(units: 4, activation: .softmax),
            ])
        default:
            return try Sequential(inputFeatures: 3, [
                BatchNormalization(center: false, scale: false), Dense(units: 2, activation: .softmax),
            ])
        }
    }

    struct Case {
        var model: Sequential
        var fixture: KerasFixture
        var name: String
        var x: Tensor<Float>
        var y: Tensor<Float>
        var loss: Loss
    }

    static func load(_ name: String) throws -> Case {
        let fixture = try KerasFixture.open()
        var model = try makeModel(name)
        #expect(try fixture.layerNames(name) == model.layers.map(\.name))
        for variable in model.variables {
            try model.setVariable(variable.name, to: try fixture.tensor("\(name)/initial/\(variable.name)"))
        }
        #expect(try fixture.variableCount("\(name)/initial") == model.variables.count)
        for (index, layer) in model.layers.enumerated() where layer is Dropout {
            var drop = layer as! Dropout
            drop.forcedMask = try fixture.tensor("\(name)/dropout_mask/\(layer.name)")
            model.layers[index] = drop
        }
        let loss = Loss(Loss.Kind(rawValue: try fixture.string("\(name)@loss"))!)
        return Case(model: model, fixture: fixture, name: name, x: try fixture.tensor("\(name)/inputs"),
                    y: try fixture.tensor("\(name)/targets"), loss: loss)
    }

    /// |a − b| ≤ absolute + relative · max|b| everywhere.
    static func expectClose(_ a: Tensor<Float>, _ b: Tensor<Float>, relative: Float, absolute: Float = 1e-6,
                            _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.shape == b.shape, "\(what): shape", sourceLocation: sourceLocation)
        guard a.shape == b.shape else { return }
        let tolerance = absolute + relative * b.maxAbsolute
        let worst = zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= tolerance, "\(what): max diff \(worst) > \(tolerance)", sourceLocation: sourceLocation)
    }

    @Test(arguments: models)
    func inferenceOutputsMatchKeras(model name: String) throws {
        let c = try Self.load(name)
        Self.expectClose(try c.model(c.x, mode: .inference), try c.fixture.tensor("\(name)/outputs_inference"),
                         relative: 1e-5, "\(name) inference")
    }

    @Test(arguments: models)
    func batchStatisticsOutputsMatchKeras(model name: String) throws {
        let c = try Self.load(name)
        let expected = try c.fixture.tensor("\(name)/outputs_batch_statistics")
        Self.expectClose(try c.model(c.x, mode: .training), expected, relative: 1e-5, "\(name) training-mode forward")
        if !c.model.layers.contains(where: { $0 is Dropout }) {
            // The explicit batch-statistics inference mode gives the same numbers.
            let batch = c.model.withBatchNormStatistics(.batch)
            Self.expectClose(try batch(c.x, mode: .inference), expected, relative: 1e-5, "\(name) .batch inference")
        }
    }

    @Test(arguments: models)
    func lossAndGradientsMatchKeras(model name: String) throws {
        let c = try Self.load(name)
        let step = try c.model.trainingStep(x: c.x, y: c.y, loss: c.loss)
        let loss = step.loss
        let expectedLoss = try c.fixture.tensor("\(name)/loss_training").scalars[0]
        #expect(abs(loss - expectedLoss) <= 1e-6 + 1e-5 * abs(expectedLoss), "\(name) loss \(loss) vs \(expectedLoss)")
        let gradients = step.gradients.named
        #expect(gradients.map(\.name) == c.model.trainableVariableNames)
        #expect(try c.fixture.variableCount("\(name)/gradients") == gradients.count)
        for g in gradients {
            Self.expectClose(g.value, try c.fixture.tensor("\(name)/gradients/\(g.name)"), relative: 1e-4,
                             "\(name) gradient \(g.name)")
        }
    }

    @Test(arguments: models)
    func oneSGDStepMatchesKeras(model name: String) throws {
        var c = try Self.load(name)
        let group = "\(name)/after_sgd"
        var sgd = SGD(learningRate: Float(try c.fixture.number("\(group)@learning_rate")),
                      momentum: try c.fixture.number("\(group)@momentum"),
                      nesterov: try c.fixture.number("\(group)@nesterov") != 0)
        let step = try c.model.trainingStep(x: c.x, y: c.y, loss: c.loss)
        try c.model.apply(step.stateUpdate)
        try sgd.apply(step.gradients, to: &c.model)
        #expect(sgd.iterations == 1)
        for v in c.model.variables {
            Self.expectClose(v.value, try c.fixture.tensor("\(group)/\(v.name)"), relative: 1e-5, "\(name) SGD \(v.name)")
        }
    }

    @Test(arguments: models)
    func oneAdamStepMatchesKeras(model name: String) throws {
        var c = try Self.load(name)
        let group = "\(name)/after_adam"
        var adam = Adam(learningRate: Float(try c.fixture.number("\(group)@learning_rate")),
                        beta1: try c.fixture.number("\(group)@beta_1"), beta2: try c.fixture.number("\(group)@beta_2"),
                        epsilon: try c.fixture.number("\(group)@epsilon"))
        let step = try c.model.trainingStep(x: c.x, y: c.y, loss: c.loss)
        try c.model.apply(step.stateUpdate)
        try adam.apply(step.gradients, to: &c.model)
        for v in c.model.variables {
            let expected = try c.fixture.tensor("\(group)/\(v.name)")
            if name == "softmax_classifier" && v.name == "dense/bias" {
                // Its exact gradient is 0 (the bias feeds a training-mode BN); Adam turns float
                // noise into steps of up to ~lr·0.03, so only the size of the move is pinned.
                let initial = try c.fixture.tensor("\(name)/initial/dense/bias")
                Self.expectClose(v.value, initial, relative: 0, absolute: 5e-4, "\(name) Adam \(v.name) (noise)")
                continue
            }
            Self.expectClose(v.value, expected, relative: 1e-5, "\(name) Adam \(v.name)")
        }
    }
}
