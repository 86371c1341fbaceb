import Foundation
import Testing
import Tensors
@testable import Training

/// A model value does not change while it computes: training steps are values returned to
/// the caller, and one model can serve several threads at once.
@Suite struct TrainingStepTests {
    static func model() throws -> Sequential {
        try Sequential(inputFeatures: 4, [
            Dense(units: 8, activation: .relu), BatchNormalization(), Dropout(rate: 0.3),
            Dense(units: 3, activation: .softmax),
        ], seed: 21)
    }

    static let x = Tensor<Float>(converting: randomTensor([16, 4], seed: 5))
    static let y = Tensor<Float>((0..<16).map { Float($0 % 3) })

    @Test func aStepComputedTwiceFromOneModelIsBitwiseIdenticalAndLeavesTheModelAlone() throws {
        let model = try Self.model()
        let variables = model.variables, randomStates = model.randomStates
        let first = try model.trainingStep(x: Self.x, y: Self.y, loss: .sparseCategoricalCrossentropy)
        let second = try model.trainingStep(x: Self.x, y: Self.y, loss: .sparseCategoricalCrossentropy)
        #expect(first.gradients == second.gradients && first.loss == second.loss)
        #expect(first.predictions == second.predictions && first.stateUpdate == second.stateUpdate)
        #expect(model.variables == variables && model.randomStates == randomStates)
        #expect(first.gradients.named.map(\.name) == model.trainableVariableNames)
        // The step does move state on: BN's moving statistics and Dropout's generator.
        #expect(first.stateUpdate.layers.keys.sorted() == ["batch_normalization", "dropout"])
    }

    @Test func reusedGradientStorageGivesTheSameGradients() throws {
        var model = try Self.model()
        var sgd = SGD(learningRate: 0.1)
        var spare: Gradients?
        for _ in 0..<3 {
            let step = try model.trainingStep(x: Self.x, y: Self.y, loss: .sparseCategoricalCrossentropy,
                                              reusing: spare.take())
            let fresh = try model.trainingStep(x: Self.x, y: Self.y, loss: .sparseCategoricalCrossentropy)
            #expect(step.gradients == fresh.gradients)
            try model.apply(step.stateUpdate)
            try sgd.apply(step.gradients, to: &model)
            spare = step.gradients
        }
    }

    @Test(arguments: [ExecutionMode.inference, .training])
    func oneModelServesSeveralThreadsAsOneThreadWould(mode: ExecutionMode) throws {
        let model = try Self.model()
        let batches = (0..<16).map { Tensor<Float>(converting: randomTensor([8, 4], seed: UInt64(100 + $0))) }
        let sequential = try batches.map { try model($0, mode: mode) }
        let results = Results(count: batches.count)
        DispatchQueue.concurrentPerform(iterations: batches.count) { index in
            results.set(index, Result { try model(batches[index], mode: mode) })
        }
        for (index, result) in results.all.enumerated() {
            #expect(try result?.get() == sequential[index], "batch \(index)")
        }
    }

    /// Thread-safe slots for the concurrent results.
    final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [Result<Tensor<Float>, any Error>?]
        init(count: Int) { values = Array(repeating: nil, count: count) }
        func set(_ index: Int, _ value: Result<Tensor<Float>, any Error>) { lock.withLock { values[index] = value } }
        var all: [Result<Tensor<Float>, any Error>?] { lock.withLock { values } }
    }

    @Test func applyingTheStateUpdateIsWhatMovesTheModelOn() throws {
        var model = try Self.model()
        let step = try model.trainingStep(x: Self.x, y: Self.y, loss: .sparseCategoricalCrossentropy)
        try model.apply(step.stateUpdate)
        let bn = try #require(step.stateUpdate.layers["batch_normalization"])
        #expect(try model.variable("batch_normalization/moving_mean") == bn.variables["moving_mean"])
        #expect(model.randomStates["dropout"] == step.stateUpdate.layers["dropout"]?.randomState)
        // The next step draws another Dropout mask.
        let next = try model.trainingStep(x: Self.x, y: Self.y, loss: .sparseCategoricalCrossentropy)
        #expect(next.predictions != step.predictions)
        #expect(throws: TrainingError.unknownVariable(name: "nope", available: model.layers.map(\.name))) {
            try model.apply(ModelStateUpdate(layers: ["nope": LayerStateUpdate(randomState: 1)]))
        }
    }

    @Test func examplesOfAnyRankFlowThroughFlattenIntoDense() throws {
        var model = try Sequential(inputShape: [2, 3], [Flatten(), Dense(units: 2, seed: 4)], seed: 1)
        #expect(model.outputShape == [2] && model.inputFeatures == 6)
        #expect(model.summary().contains("(None, 6)"))
        let images = Tensor<Float>(converting: randomTensor([5, 2, 3], seed: 9))
        let flat = try images.reshaped(to: [5, 6])
        let direct = try Sequential(inputFeatures: 6, [Dense(units: 2, seed: 4)], seed: 1)
        #expect(try model(images, mode: .inference) == (try direct(flat, mode: .inference)))
        let y = Tensor<Float>(repeating: 0.5, shape: [5, 2])
        let step = try model.trainingStep(x: images, y: y, loss: .meanSquaredError)
        #expect(step.gradients.named == (try direct.trainingStep(x: flat, y: y, loss: .meanSquaredError)).gradients.named)
        var sgd = SGD()
        try sgd.apply(step.gradients, to: &model)
        // A batch of the wrong example shape names the model and both shapes.
        #expect(throws: TrainingError.shapeMismatch(layer: "sequential", expected: [-1, 2, 3], found: [5, 6])) {
            try model(flat, mode: .inference)
        }
        // Dense takes feature vectors only (for now): a clear error, naming the layer.
        #expect(throws: TrainingError.shapeMismatch(layer: "dense", expected: [-1, -1], found: [-1, 2, 3])) {
            try Sequential(inputShape: [2, 3], [Dense(units: 2)])
        }
    }
}

/// The step's bookkeeping is kept in arrays in model order (no dictionaries per step); these
/// check that the public, dictionary-shaped views of it mean what they meant before.
@Suite struct StepBookkeepingTests {
    static func bnModel() throws -> Sequential {
        try Sequential(inputFeatures: 1, [
            BatchNormalization(), Dense(units: 8, activation: .sigmoid),
            BatchNormalization(), Dense(units: 1, activation: .sigmoid),
        ], seed: 0)
    }

    static let x = Tensor<Float>(converting: randomTensor([32, 1], seed: 8))
    static let y = x.map { $0 > 0 ? 1 : 0 }

    @Test func stateUpdatesCompareAsDictionariesWhateverOrderTheyWereMadeIn() throws {
        let step = try Self.bnModel().trainingStep(x: Self.x, y: Self.y, loss: .binaryCrossentropy)
        let byName = ModelStateUpdate(layers: step.stateUpdate.layers)
        #expect(byName == step.stateUpdate)
        #expect(byName.layers.keys.sorted() == ["batch_normalization", "batch_normalization_1"])
        // The same two layer updates, recorded in the opposite order, with variables set the other way round.
        var reversed = ModelStateUpdate()
        for (index, name) in [(2, "batch_normalization_1"), (0, "batch_normalization")] {
            let own = try #require(step.stateUpdate.layers[name])
            var update = LayerStateUpdate()
            update.setVariable("moving_variance", to: try #require(own.variables["moving_variance"]))
            update.setVariable("moving_mean", to: try #require(own.variables["moving_mean"]))
            reversed.set(update, layer: name, index: index)
        }
        #expect(reversed == step.stateUpdate)
        var changed = reversed
        changed.layers["batch_normalization"]?.variables["moving_mean"] = Tensor([0])
        #expect(changed != step.stateUpdate)
    }

    /// `value(of:inLayer:)` reads what the dictionary views hold, without building them.
    @Test func aStateValueReadByNameIsTheDictionaryViewsEntry() throws {
        let step = try Self.bnModel().trainingStep(x: Self.x, y: Self.y, loss: .binaryCrossentropy)
        for layer in ["batch_normalization", "batch_normalization_1"] {
            for variable in ["moving_mean", "moving_variance"] {
                let viaViews = try #require(step.stateUpdate.layers[layer]?.variables[variable])
                #expect(step.stateUpdate.value(of: variable, inLayer: layer) == viaViews, "\(layer)/\(variable)")
            }
        }
        #expect(step.stateUpdate.value(of: "moving_mean", inLayer: "dense") == nil)
        #expect(step.stateUpdate.value(of: "gamma", inLayer: "batch_normalization") == nil)
        var swapped = step.stateUpdate
        swapped.layers["batch_normalization"]?.variables["moving_mean"] = Tensor([7])
        #expect(swapped.value(of: "moving_mean", inLayer: "batch_normalization") == Tensor([7]))
    }

    @Test func applyingAnUpdateByNameOrByPositionMovesTheModelTheSameWay() throws {
        let model = try Self.bnModel()
        let step = try model.trainingStep(x: Self.x, y: Self.y, loss: .binaryCrossentropy)
        var byPosition = model, byName = model
        try byPosition.apply(step.stateUpdate)
        try byName.apply(ModelStateUpdate(layers: step.stateUpdate.layers))
        #expect(byPosition.variables == byName.variables)
        #expect(byPosition.variables != model.variables)
        // An update made for another model whose layer sits elsewhere is found by its name.
        let shifted = try Sequential(inputFeatures: 1, [
            Dense(units: 1, activation: .linear, name: "head"), BatchNormalization(name: "batch_normalization"),
            Dense(units: 8, activation: .sigmoid), BatchNormalization(name: "batch_normalization_1"),
            Dense(units: 1, activation: .sigmoid),
        ], seed: 0)
        var moved = shifted
        try moved.apply(step.stateUpdate)
        for name in ["batch_normalization/moving_mean", "batch_normalization_1/moving_variance"] {
            #expect(try moved.variable(name) == (try byPosition.variable(name)), "\(name)")
        }
    }

    @Test func optimizersFindGradientsByNameWhenTheyAreNotInModelOrder() throws {
        let model = try Self.bnModel()
        let step = try model.trainingStep(x: Self.x, y: Self.y, loss: .binaryCrossentropy)
        let shuffled = Gradients(named: step.gradients.named.reversed())
        var inOrder = model, outOfOrder = model
        var first = Adam(), second = Adam()
        try first.apply(step.gradients, to: &inOrder)
        try second.apply(shuffled, to: &outOfOrder)
        #expect(inOrder.variables == outOfOrder.variables)
    }

    @Test func reusedBookkeepingGivesBitwiseTheStepsOfFreshBookkeeping() throws {
        var reused = try Self.bnModel(), fresh = reused
        var reusedAdam = Adam(), freshAdam = Adam()
        var spare: Gradients?
        for _ in 0..<5 {
            let step = try reused.trainingStep(x: Self.x, y: Self.y, loss: .binaryCrossentropy, reusing: spare.take())
            let freshStep = try fresh.trainingStep(x: Self.x, y: Self.y, loss: .binaryCrossentropy)
            #expect(step.gradients == freshStep.gradients && step.stateUpdate == freshStep.stateUpdate)
            try reused.apply(step.stateUpdate)
            try reusedAdam.apply(step.gradients, to: &reused)
            try fresh.apply(freshStep.stateUpdate)
            try freshAdam.apply(freshStep.gradients, to: &fresh)
            spare = step.gradients
        }
        #expect(reused.variables == fresh.variables)
    }
}

extension StepBookkeepingTests {
    /// Images through Reshape → BatchNormalization → Flatten, the segmented step (synchronized
    /// BatchNormalization's), and gradients regrouped by name as the data-parallel trainer
    /// hands them to an optimizer: every trainable variable has its gradient.
    @Test func segmentedImageStepsGiveEveryVariableAGradient() throws {
        let model = try Sequential(inputFeatures: 4, [
            Reshape(targetShape: [2, 2, 1]), BatchNormalization(momentum: 0.8), Flatten(),
            Dense(units: 8, activation: .relu), BatchNormalization(momentum: 0.9), Dense(units: 3, activation: .softmax),
        ], seed: 5)
        let x = Tensor<Float>(converting: randomTensor([16, 4], seed: 3))
        let y = Tensor<Float>((0..<16).map { Float($0 % 3) })
        let step = try model.trainingStep(segments: [(x: x.rows(0..<8), y: y.rows(0..<8)), (x: x.rows(8..<16), y: y.rows(8..<16))],
                                          loss: .sparseCategoricalCrossentropy)
        for segment in step.segments {
            let gradients = try #require(segment?.gradients)
            #expect(gradients.named.map(\.name) == model.trainableVariableNames)
            var adam = Adam(), copy = model
            try adam.apply(Gradients(named: gradients.named), to: &copy)
        }
        let whole = try model.trainingStep(x: x, y: y, loss: .sparseCategoricalCrossentropy)
        #expect(whole.gradients.named.map(\.name) == model.trainableVariableNames)
    }
}
