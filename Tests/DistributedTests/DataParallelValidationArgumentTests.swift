import Datasets
import Distributed
import Tensors
import Testing
import Training

/// Validation data `DataParallelTrainer.fit` cannot score, in a world of one: refused before the
/// first step (the weights unchanged) with the error a single process's `Trainer.fit` throws for
/// the same rows, or the trainer's own for a pipeline it cannot cut.
struct DataParallelValidationArgumentTests {
    typealias Fixture = DataParallelTrainerArgumentErrorTests

    /// `Trainer.fit`'s error for `validation` (1 epoch, the validation rows batched at 4, the
    /// trainer's global batch size), as text.
    static func singleProcessError(_ validation: (Tensor<Float>, Tensor<Float>)) throws -> String {
        var alone = Trainer(model: try Sequential(inputFeatures: 2, [Dense(units: 1)], seed: 1), optimizer: SGD(learningRate: 0.1),
                            loss: .meanSquaredError)
        do {
            try alone.fit(try Fixture.rows().batch(4), epochs: 1, validationData: try Slices(validation.0, validation.1).batch(4),
                          progress: .quiet)
        } catch {
            return "\(error)"
        }
        return "no error"
    }

    @Test func validationRowsOfAnotherShapeThrowTheSingleProcessErrorBeforeTraining() throws {
        let wide = (try Tensor(shape: [6, 3], scalars: (0..<18).map { Float($0) / 18 }), Tensor<Float>(zeros: [6, 1]))
        let twoTargets = (try Tensor(shape: [6, 2], scalars: (0..<12).map { Float($0) / 12 }), Tensor<Float>(zeros: [6, 2]))
        for validation in [wide, twoTargets] {
            var trainer = try Fixture.trainer()
            let before = trainer.model.variables.map(\.value)
            let expected = try Self.singleProcessError(validation)
            #expect(expected != "no error")
            do {
                try trainer.fit(try Fixture.rows(), epochs: 1, validationData: try Slices(validation.0, validation.1))
                Issue.record("fit accepted validation rows \(validation.0.shape), \(validation.1.shape)")
            } catch {
                #expect("\(error)" == expected)
            }
            #expect(trainer.model.variables.map(\.value) == before, "trained before refusing")
        }
    }

    @Test func noRowsOrABatchedPipelineIsRefusedBeforeTraining() throws {
        var trainer = try Fixture.trainer()
        let before = trainer.model.variables.map(\.value)
        #expect(throws: TrainingError.emptyDataset(argument: "validationData")) {
            try trainer.fit(try Fixture.rows(), epochs: 1, validationData: try Fixture.rows(0))
        }
        #expect(throws: DataParallelError.unsupportedData(
            reason: "the pipeline has a 'batch' stage; the trainer cuts the global batch into ranks' rows itself")) {
            try trainer.fit(try Fixture.rows(), epochs: 1, validationData: try Fixture.rows().batch(2))
        }
        #expect(trainer.model.variables.map(\.value) == before)
        // The same trainer with scoreable rows records the validation loss, and no accuracy for
        // mean squared error (Trainer.defaultMetrics).
        let history = try trainer.fit(try Fixture.rows(), epochs: 2, validationData: try Fixture.rows(5))
        #expect(history["val_loss"]?.count == 2 && history["val_accuracy"] == nil && history.names == ["loss", "val_loss"])
    }
}
