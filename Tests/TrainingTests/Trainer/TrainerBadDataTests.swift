import Datasets
import Testing
import Tensors
@testable import Training

/// What `fit` and `evaluate` do with data that cannot train a model: empty datasets,
/// out-of-range sparse labels and non-finite losses each end in a typed error naming the
/// batch row, never a crash or weights that are silently NaN.
@Suite struct TrainerBadDataTests {
    private func mseTrainer(learningRate: Float = 0.01) throws -> Trainer {
        Trainer(model: try Sequential(inputFeatures: 2, [Dense(units: 1)], seed: 1),
                optimizer: SGD(learningRate: learningRate), loss: .meanSquaredError)
    }

    private func data(x: [Float], y: [Float]) throws -> AnyDataset<Trainer.Batch> {
        try Slices(Tensor<Float>(shape: [x.count / 2, 2], scalars: x), Tensor<Float>(shape: [y.count, 1], scalars: y))
            .batch(2).eraseToAnyDataset()
    }

    @Test func fitAndEvaluateOnAnEmptyDatasetThrowEmptyDataset() throws {
        var trainer = try mseTrainer()
        let empty = try data(x: [], y: [])
        #expect(throws: TrainingError.emptyDataset(argument: "data")) { try trainer.fit(empty, epochs: 1, progress: .quiet) }
        #expect(throws: TrainingError.emptyDataset(argument: "data")) { try trainer.evaluate(empty) }
        #expect(trainer.optimizer.iterations == 0)
    }

    @Test func anOutOfRangeSparseLabelInFitNamesTheBatchRowAndClassCount() throws {
        var trainer = Trainer(model: try Sequential(inputFeatures: 2, [Dense(units: 3, activation: .softmax)], seed: 1),
                              optimizer: SGD(), loss: .sparseCategoricalCrossentropy)
        let bad = try data(x: [0, 1, 1, 0, 2, 2, 3, 1], y: [0, 2, 1, 3])   // batch 2, row 1 has label 3
        let error = #expect(throws: TrainingError.self) { try trainer.fit(bad, epochs: 1, progress: .quiet) }
        #expect(error == .invalidLabel(loss: "sparse_categorical_crossentropy", row: 1, label: 3, classes: 3))
        #expect(throws: TrainingError.invalidLabel(loss: "sparse_categorical_crossentropy", row: 1, label: 3, classes: 3)) {
            try trainer.evaluate(bad)
        }
        #expect(trainer.optimizer.iterations == 1)   // the first batch was fine
    }

    @Test func aThrowingNonFiniteGuardNamesTheFeatureRowAndColumn() throws {
        var trainer = try mseTrainer()
        let bad = try data(x: [0, 1, 1, 0, 2, 2, 3, .infinity], y: [0, 1, 0, 1])
        let error = #expect(throws: TrainingError.self) {
            try trainer.fit(bad, epochs: 1, callbacks: [TerminateOnNonFiniteLoss(action: .throwError)], progress: .quiet)
        }
        guard case let .nonFiniteLoss(epoch, step, loss, cause) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(epoch == 1 && step == 2 && !loss.isFinite)
        #expect(cause == .feature(row: 1, column: 1, value: .infinity))
        #expect(error?.localizedDescription.contains("epoch 1, step 2: batch row 1, feature column 1 is inf") == true)
    }

    @Test func aThrowingNonFiniteGuardNamesATargetRow() throws {
        var trainer = try mseTrainer()
        let bad = try data(x: [0, 1, 1, 0, 2, 2, 3, 1], y: [0, 1, .nan, 1])
        let error = #expect(throws: TrainingError.self) {
            try trainer.fit(bad, epochs: 1, callbacks: [TerminateOnNonFiniteLoss(action: .throwError)], progress: .quiet)
        }
        guard case let .nonFiniteLoss(_, step, _, cause) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(step == 2 && cause == .target(row: 0, column: 0, value: .nan) && cause.row == 0)
    }

    @Test func aDivergingModelOnFiniteDataIsBlamedOnTheModel() throws {
        var trainer = try mseTrainer(learningRate: 1e18)
        let finite = try data(x: [1e3, 1e3, 2e3, 1e3, 1e3, 3e3, 2e3, 2e3] + [Float](repeating: 1e3, count: 40),
                              y: [Float](repeating: 1e6, count: 24))
        let error = #expect(throws: TrainingError.self) {
            try trainer.fit(finite, epochs: 5, callbacks: [TerminateOnNonFiniteLoss(action: .throwError)], progress: .quiet)
        }
        guard case let .nonFiniteLoss(_, _, _, cause) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(cause == .model && cause.row == nil)
        #expect(error?.localizedDescription.contains("diverged") == true)
    }
}
