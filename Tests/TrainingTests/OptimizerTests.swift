import Foundation
import Testing
import Tensors
@testable import Training

@Suite struct OptimizerTests {
    static let x = try! Tensor<Float>(shape: [4, 2], scalars: [1, 2, -1, 0.5, 0.3, -2, 2, 1])
    static let y = try! Tensor<Float>(shape: [4, 1], scalars: [1, 0, 0.5, 2])

    static func model() throws -> Sequential {
        try Sequential(inputFeatures: 2, [Dense(units: 3, activation: .tanh), Dense(units: 1)], seed: 8)
    }

    /// Runs `steps` optimizer steps and returns, per step, the gradients used and the
    /// variables after the step (both by name), so a reference can replay them.
    static func run<O: Optimizer>(_ optimizer: inout O, model: inout Sequential, steps: Int)
        throws -> [(gradients: [String: [Float]], after: [String: [Float]])]
    {
        var log: [(gradients: [String: [Float]], after: [String: [Float]])] = []
        for _ in 0..<steps {
            let step = try model.trainingStep(x: x, y: y, loss: .meanSquaredError)
            let g = Dictionary(uniqueKeysWithValues: step.gradients.named.map { ($0.name, $0.value.scalars) })
            try optimizer.apply(step.gradients, to: &model)
            log.append((g, Dictionary(uniqueKeysWithValues: model.trainableVariables.map { ($0.name, $0.value.scalars) })))
        }
        return log
    }

    @Test(arguments: [(0.0, false), (0.9, false), (0.9, true)])
    func sgdFollowsKerasUpdateRule(config: (Double, Bool)) throws {
        let (momentum, nesterov) = config
        var model = try Self.model()
        var w = Dictionary(uniqueKeysWithValues: model.trainableVariables.map { ($0.name, $0.value.scalars.map(Double.init)) })
        var sgd = SGD(learningRate: 0.1, momentum: momentum, nesterov: nesterov)
        var velocity: [String: [Double]] = [:]
        for step in try Self.run(&sgd, model: &model, steps: 3) {
            for (name, g) in step.gradients {
                var v = velocity[name] ?? [Double](repeating: 0, count: g.count)
                for i in g.indices {
                    let gi = Double(g[i])
                    if momentum == 0 { w[name]![i] -= 0.1 * gi; continue }
                    v[i] = momentum * v[i] - 0.1 * gi
                    w[name]![i] += nesterov ? momentum * v[i] - 0.1 * gi : v[i]
                }
                velocity[name] = v
                for (a, b) in zip(step.after[name]!, w[name]!) { #expect(abs(Double(a) - b) < 1e-6) }
            }
        }
        #expect(sgd.iterations == 3)
    }

    @Test func adamAddsEpsilonToTheUncorrectedSquareRoot() throws {
        var model = try Self.model()
        var w = Dictionary(uniqueKeysWithValues: model.trainableVariables.map { ($0.name, $0.value.scalars.map(Double.init)) })
        // A large epsilon makes its placement visible: Keras adds it to sqrt(v), not sqrt(v̂).
        var adam = Adam(learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-2)
        var m: [String: [Double]] = [:], v: [String: [Double]] = [:]
        var textbookGap = 0.0
        for (t, step) in try Self.run(&adam, model: &model, steps: 3).enumerated() {
            let power = Double(t + 1)
            let alpha = 0.01 * (1 - pow(0.999, power)).squareRoot() / (1 - pow(0.9, power))
            for (name, g) in step.gradients {
                var mi = m[name] ?? [Double](repeating: 0, count: g.count)
                var vi = v[name] ?? [Double](repeating: 0, count: g.count)
                for i in g.indices {
                    let gi = Double(g[i])
                    mi[i] += (gi - mi[i]) * 0.1
                    vi[i] += (gi * gi - vi[i]) * (1 - 0.999)
                    let update = alpha * mi[i] / (vi[i].squareRoot() + 1e-2)
                    let textbook = 0.01 * (mi[i] / (1 - pow(0.9, power))) / ((vi[i] / (1 - pow(0.999, power))).squareRoot() + 1e-2)
                    textbookGap = max(textbookGap, abs(update - textbook))
                    w[name]![i] -= update
                }
                m[name] = mi
                v[name] = vi
                for (a, b) in zip(step.after[name]!, w[name]!) { #expect(abs(Double(a) - b) < 1e-6) }
            }
        }
        #expect(textbookGap > 1e-4)   // the two formulas really differ here
        #expect(adam.iterations == 3)
        #expect(adam.state.slots.keys.sorted().first == "dense/bias/momentum")
    }

    @Test func restoredStateContinuesBitForBit() throws {
        var straight = try Self.model()
        var adam = Adam(learningRate: 0.05)
        _ = try Self.run(&adam, model: &straight, steps: 4)

        var resumed = try Self.model()
        var first = Adam(learningRate: 0.05)
        _ = try Self.run(&first, model: &resumed, steps: 2)
        var second = Adam(learningRate: 0.05)
        second.state = first.state
        #expect(second.iterations == 2)
        _ = try Self.run(&second, model: &resumed, steps: 2)
        #expect(resumed.variables == straight.variables)
        #expect(second.state == adam.state)
    }

    @Test func stateForAnotherModelIsATypedError() throws {
        var model = try Self.model()
        var adam = Adam()
        adam.state = OptimizerState(iterations: 1, slots: ["nope/kernel/momentum": Tensor([1])])
        let step = try model.trainingStep(x: Self.x, y: Self.y, loss: .meanSquaredError)
        #expect(throws: TrainingError.optimizerStateMismatch(variable: "nope/kernel/momentum", message: "the model has no such variable")) {
            try adam.apply(step.gradients, to: &model)
        }
    }

    @Test func stepWithoutGradientsIsATypedError() throws {
        var model = try Self.model()
        var sgd = SGD()
        #expect(throws: TrainingError.missingGradients(layer: "dense")) { try sgd.apply(Gradients(), to: &model) }
        // Gradients of another model lack this one's variables.
        let other = try Sequential(inputFeatures: 2, [Dense(units: 1, name: "other")])
        let foreign = try other.trainingStep(x: Self.x, y: Self.y, loss: .meanSquaredError).gradients
        #expect(throws: TrainingError.missingGradients(layer: "dense")) { try sgd.apply(foreign, to: &model) }
        #expect(sgd.iterations == 0)
    }

    @Test func frozenLayersAreNotUpdated() throws {
        var model = try Self.model().withLayer(named: "dense", trainable: false)
        let before = try model.variable("dense/kernel")
        var sgd = SGD(learningRate: 0.5)
        _ = try Self.run(&sgd, model: &model, steps: 1)
        #expect(try model.variable("dense/kernel") == before)
        #expect(model.trainableVariableNames == ["dense_1/kernel", "dense_1/bias"])
    }

    @Test func optimizerReusedOnAnotherModelIsATypedError() throws {
        var model = try Self.model()
        var adam = Adam()
        _ = try Self.run(&adam, model: &model, steps: 1)
        var other = try Sequential(inputFeatures: 2, [Dense(units: 5), Dense(units: 1)])
        let step = try other.trainingStep(x: Self.x, y: Self.y, loss: .meanSquaredError)
        #expect(throws: TrainingError.optimizerStateMismatch(variable: "dense/kernel", message: "this optimizer was built for another model's variables")) {
            try adam.apply(step.gradients, to: &other)
        }
    }
}
