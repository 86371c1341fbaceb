import Datasets
import Testing
import Tensors
@testable import Training

/// Calls to `fit` and to an optimizer that cannot mean anything: a negative epoch count, a
/// step-counted resume from a snapshot that has no pipeline state, gradients that do not pair
/// with the variables. Each is the `TrainingError` case naming the argument and the values,
/// and nothing trains: the model keeps its weights. No test reached these checks before.
@Suite("fit and optimizer calls that cannot mean anything name the argument")
struct TrainerCallErrorTests {
    // The model, optimizer and data of TrainerArgumentErrorTests: 6 rows of 2 features.
    static var x: Tensor<Float> { TrainerArgumentErrorTests.x }
    static var y: Tensor<Float> { TrainerArgumentErrorTests.y }
    static func trainer() throws -> Trainer { try TrainerArgumentErrorTests.trainer() }
    static func batches() throws -> AnyDataset<Trainer.Batch> { try TrainerArgumentErrorTests.batches() }

    @Test("a negative number of epochs names the argument and the value; the model is unchanged")
    func negativeEpochs() throws {
        var trainer = try Self.trainer()
        let before = trainer.model.variables.map(\.value)
        #expect(throws: TrainingError.invalidCount(argument: "epochs", message: "must be >= 0, got -1")) {
            try trainer.fit(Self.batches(), epochs: -1, progress: .quiet)
        }
        #expect(trainer.model.variables.map(\.value) == before)
        #expect(TrainingError.invalidCount(argument: "epochs", message: "must be >= 0, got -1").localizedDescription
                == "epochs: must be >= 0, got -1")
    }

    @Test("a step-counted resume from a snapshot past step 0 without a pipeline state is refused, not restarted")
    func continuousResumeWithoutPipelineState() throws {
        var trainer = try Self.trainer()
        let snapshot = TrainingSnapshot(model: trainer.model, optimizerState: OptimizerState(), iteratorState: nil,
                                        epoch: 1, stepInEpoch: 0, globalStep: 2, history: History())
        let endless = try Slices(Self.x, Self.y).repeat().batch(3).map { ($0.0, $0.1) }.eraseToAnyDataset()
        #expect(throws: TrainingError.incompatibleSnapshot("the snapshot has no pipeline state to continue from")) {
            try trainer.fit(endless, epochs: 2, stepsPerEpoch: 2, progress: .quiet, resumingFrom: snapshot)
        }
        #expect(TrainingError.incompatibleSnapshot("the snapshot has no pipeline state to continue from").localizedDescription
                == "cannot resume: the snapshot has no pipeline state to continue from")
        // At step 0 there is nothing to continue, so the same snapshot starts the data afresh.
        let atStart = TrainingSnapshot(model: trainer.model, optimizerState: OptimizerState(), iteratorState: nil,
                                       epoch: 0, stepInEpoch: 0, globalStep: 0, history: History())
        #expect(try trainer.fit(endless, epochs: 1, stepsPerEpoch: 2, progress: .quiet, resumingFrom: atStart).epochs.count == 1)
    }

    @Test("an optimizer given gradients and names that do not pair with the variables counts all three")
    func unpairedGradients() throws {
        var optimizer = SGD(learningRate: 0.1)
        var values = [Tensor<Float>(repeating: 1, shape: [2]), Tensor<Float>(repeating: 1, shape: [3])]
        #expect(throws: TrainingError.invalidArgument(layer: "optimizer", message: "1 gradients and 2 names for 2 variables")) {
            try optimizer.apply(gradients: [Tensor(repeating: 1, shape: [2])], to: &values, names: ["a", "b"])
        }
        #expect(throws: TrainingError.invalidArgument(layer: "optimizer", message: "2 gradients and 1 names for 2 variables")) {
            try optimizer.apply(gradients: values, to: &values, names: ["a"])
        }
        #expect(values == [Tensor(repeating: 1, shape: [2]), Tensor(repeating: 1, shape: [3])], "nothing was updated")
    }
}
