import Testing
@testable import Training
import Tensors

func seedModel(seed: UInt64 = 18) throws -> Sequential {
    try Sequential(inputFeatures: 1, [
        BatchNormalization(), Dense(units: 8, activation: .sigmoid),
        BatchNormalization(), Dense(units: 1, activation: .sigmoid),
    ], seed: seed)
}

@Suite struct SequentialTests {
    @Test func autoNamesFollowKerasCounters() throws {
        let model = try seedModel()
        #expect(model.layers.map(\.name) == ["batch_normalization", "dense", "batch_normalization_1", "dense_1"])
        #expect(model.variables.map(\.name) == [
            "batch_normalization/gamma", "batch_normalization/beta",
            "batch_normalization/moving_mean", "batch_normalization/moving_variance",
            "dense/kernel", "dense/bias",
            "batch_normalization_1/gamma", "batch_normalization_1/beta",
            "batch_normalization_1/moving_mean", "batch_normalization_1/moving_variance",
            "dense_1/kernel", "dense_1/bias",
        ])
    }

    @Test func explicitNamesAreKeptAndAutoNamesSkipThem() throws {
        let model = try Sequential(inputFeatures: 2, [Dense(units: 2, name: "dense"), Dense(units: 2), Dropout(rate: 0.1), ReLU()])
        #expect(model.layers.map(\.name) == ["dense", "dense_1", "dropout", "re_lu"])
        #expect(throws: TrainingError.self) {
            try Sequential(inputFeatures: 2, [Dense(units: 2, name: "a"), Dense(units: 2, name: "a")])
        }
    }

    @Test func parameterCountsMatchKerasSummaryOfTheSeedModel() throws {
        // Keras reports 61 total, 43 trainable, 18 non-trainable for this model.
        let counts = try seedModel().parameterCounts
        #expect(counts.total == 61 && counts.trainable == 43 && counts.nonTrainable == 18)
        let summary = try seedModel().summary()
        #expect(summary.contains("dense_1 (Dense)"))
        #expect(summary.contains("Total params: 61 (244.00 B)"))
        #expect(summary.contains("Non-trainable params: 18 (72.00 B)"))
    }

    @Test func inputWidthMismatchNamesTheModelAndShapes() throws {
        let model = try seedModel()
        #expect(throws: TrainingError.shapeMismatch(layer: "sequential", expected: [-1, 1], found: [4, 3])) {
            try model(Tensor(zeros: [4, 3]), mode: .inference)
        }
    }

    @Test func emptyModelsAndEmptyTrainingBatchesAreTypedErrors() throws {
        #expect(throws: TrainingError.invalidArgument(layer: "sequential", message: "a Sequential model needs at least one layer")) {
            try Sequential(inputFeatures: 2, [])
        }
        let model = try seedModel()
        #expect(throws: TrainingError.invalidArgument(layer: "batch_normalization", message: "batch statistics of an empty batch are undefined")) {
            try model.trainingStep(x: Tensor(zeros: [0, 1]), y: Tensor(zeros: [0, 1]), loss: .binaryCrossentropy)
        }
        #expect(try model(Tensor(zeros: [0, 1]), mode: .inference).shape == [0, 1])
    }

    @Test func errorsDescribeLayerAndShapes() {
        let error = TrainingError.shapeMismatch(layer: "dense_1", expected: [-1, 8], found: [32, 3])
        #expect(error.localizedDescription == "layer 'dense_1': expected shape [N, 8], found [32, 3]")
    }

    @Test func updateLayerEditsOneLayerAndRefusesRenames() throws {
        var model = try seedModel()
        try model.updateLayer(named: "batch_normalization_1", as: BatchNormalization.self) { $0.statistics = .moving }
        #expect((model.layers[2] as? BatchNormalization)?.statistics == .moving)
        #expect((model.layers[0] as? BatchNormalization)?.statistics == .followMode)
        #expect(throws: TrainingError.invalidArgument(layer: "dense", message: "is a Dense, not a BatchNormalization")) {
            try model.updateLayer(named: "dense", as: BatchNormalization.self) { _ in }
        }
        #expect(throws: TrainingError.self) {
            try model.updateLayer(named: "dense", as: Dense.self) { $0.name = "other" }
        }
    }
}
