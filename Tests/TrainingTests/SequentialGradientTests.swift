import Testing
import Tensors
@testable import Training

/// End-to-end gradient checks of `Sequential.trainingStep` (Float, fused losses included)
/// against central differences of the pure loss, evaluated in Double from Float weights.
@Suite struct SequentialGradientTests {
    static func check(_ model: Sequential, x: Tensor<Float>, y: Tensor<Float>, loss: Loss, mode: ExecutionMode,
                      sourceLocation: SourceLocation = #_sourceLocation) throws {
        let gradients = try model.trainingStep(x: x, y: y, loss: loss, mode: mode).gradients.named
        #expect(gradients.map(\.name) == model.trainableVariableNames, sourceLocation: sourceLocation)
        let step: Float = 1e-2
        for g in gradients {
            let value = try model.variable(g.name)
            for i in 0..<value.scalarCount {
                func lossAt(_ delta: Float) throws -> Double {
                    var probe = model
                    var v = value
                    v.withUnsafeMutableBufferPointer { $0[i] += delta }
                    try probe.setVariable(g.name, to: v)
                    return Double(try probe.loss(x: x, y: y, loss: loss, mode: mode).loss)
                }
                let numeric = (try lossAt(step) - lossAt(-step)) / Double(2 * step)
                let analytic = Double(g.value.scalars[i])
                #expect(abs(numeric - analytic) < 2e-3 + 2e-2 * abs(numeric),
                        "\(g.name)[\(i)]: analytic \(analytic), numeric \(numeric)", sourceLocation: sourceLocation)
            }
        }
    }

    static func data(rows: Int, features: Int, seed: UInt64) -> Tensor<Float> {
        Tensor(converting: randomTensor([rows, features], seed: seed))
    }

    @Test(arguments: [ExecutionMode.training, .inference])
    func seedModelWithFusedSigmoidCrossentropy(mode: ExecutionMode) throws {
        let model = try seedModel(seed: 3)
        let x = Self.data(rows: 12, features: 1, seed: 1)
        let y = Tensor<Float>(converting: try Tensor<Double>(shape: [12, 1], scalars: x.scalars.map { $0 > 0 ? 1 : 0 }))
        try Self.check(model, x: x, y: y, loss: .binaryCrossentropy, mode: mode)
    }

    @Test func softmaxClassifierWithDropoutAndSparseLabels() throws {
        var model = try Sequential(inputFeatures: 4, [
            Dense(units: 6), BatchNormalization(momentum: 0.9), ReLU(), Dropout(rate: 0.3, seed: 2),
            Dense(units: 3, activation: .softmax),
        ], seed: 5)
        // Pin the mask so the loss (finite differences) and the training step's pass agree.
        var drop = model.layers[3] as! Dropout
        drop.forcedMask = try Tensor(shape: [10, 6], scalars: (0..<60).map { $0 % 3 == 0 ? 0 : Float(1 / 0.7) })
        model.layers[3] = drop
        let x = Self.data(rows: 10, features: 4, seed: 7)
        let y = Tensor<Float>((0..<10).map { Float($0 % 3) })
        try Self.check(model, x: x, y: y, loss: .sparseCategoricalCrossentropy, mode: .training)
    }

    @Test(arguments: [Loss.meanSquaredError, .categoricalCrossentropy, .binaryCrossentropy(fromLogits: true)])
    func unfusedLossesThroughTanhAndLinearOutputs(loss: Loss) throws {
        let output: Activation = loss.kind == .categoricalCrossentropy ? .softmax : .linear
        let model = try Sequential(inputFeatures: 3, [
            Dense(units: 5, activation: .tanh), BatchNormalization(center: false),
            Dense(units: 2, activation: output, useBias: false),
        ], seed: 11)
        let x = Self.data(rows: 8, features: 3, seed: 2)
        let y = try Tensor<Float>(shape: [8, 2], scalars: (0..<16).map { $0 % 2 == 0 ? 1 : 0 })
        try Self.check(model, x: x, y: y, loss: loss, mode: .training)
    }

    @Test func fusedLossStaysFiniteWhenOutputsSaturate() throws {
        // Keras: logits [-30, 30, 2] with y [0, 0, 1] → 10.04231 (the clipped formula gives 5.356).
        var model = try Sequential(inputFeatures: 1, [Dense(units: 1, activation: .sigmoid, useBias: false)])
        try model.setVariable("dense/kernel", to: Tensor<Float>([1]).reshapedRow())
        let x = try Tensor<Float>(shape: [3, 1], scalars: [-30, 30, 2])
        let y = try Tensor<Float>(shape: [3, 1], scalars: [0, 0, 1])
        let step = try model.trainingStep(x: x, y: y, loss: .binaryCrossentropy)
        let (loss, predictions) = (step.loss, step.predictions)
        #expect(abs(loss - 10.04231) < 1e-4)
        #expect(abs(try model.loss(x: x, y: y, loss: .binaryCrossentropy).loss - 10.04231) < 1e-4)
        #expect(predictions.scalars[1] == 1)
        // d/dk of mean(softplus-form) = mean((σ(z) − y)·x) = (σ(−30)·(−30) + 1·30 + (σ(2) − 1)·2) / 3
        let sigma2 = 1 / (1 + Double.exponential(-2))
        let expected = ((1 / (1 + Double.exponential(30))) * -30 + 30 + (sigma2 - 1) * 2) / 3
        #expect(abs(Double(step.gradients.named[0].value.scalars[0]) - expected) < 1e-5)
    }

    @Test func trainingModeLossAndGradientsUpdatesMovingStatisticsOnce() throws {
        var model = try seedModel()
        let x = Self.data(rows: 16, features: 1, seed: 4)
        let y = Tensor<Float>(repeating: 1, shape: [16, 1])
        let batchMean = try x.meanAlongBatch().scalars[0]
        try model.apply(try model.trainingStep(x: x, y: y, loss: .binaryCrossentropy).stateUpdate)
        let moving = try model.variable("batch_normalization/moving_mean").scalars[0]
        #expect(abs(moving - Float(1 - 0.99) * batchMean) < 1e-7)
        try model.apply(try model.trainingStep(x: x, y: y, loss: .binaryCrossentropy, mode: .inference).stateUpdate)
        #expect(try model.variable("batch_normalization/moving_mean").scalars[0] == moving)
    }
}
