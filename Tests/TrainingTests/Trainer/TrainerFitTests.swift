import Datasets
import Testing
import Tensors
@testable import Training

@Suite struct TrainerFitTests {
    @Test func fitLearnsTheSeedTaskAndRecordsEveryEpoch() throws {
        let data = TrainerFixtures.gaussian(rows: 512, seed: 1)
        let validation = try Slices(TrainerFixtures.gaussian(rows: 64, seed: 2).0,
                                    TrainerFixtures.gaussian(rows: 64, seed: 2).1).batch(32).eraseToAnyDataset()
        var trainer = Trainer(model: try TrainerFixtures.seedModel(), optimizer: Adam(learningRate: 0.01),
                              loss: .binaryCrossentropy)
        let history = try trainer.fit(try TrainerFixtures.pipeline(data, seed: 3), epochs: 4, stepsPerEpoch: 32,
                                      validationData: validation, progress: .quiet)
        #expect(history.epochs == [0, 1, 2, 3])
        #expect(history.names == ["accuracy", "loss", "val_accuracy", "val_loss"])
        let losses = try #require(history["loss"])
        #expect(losses.last! < losses.first!)
        #expect(try #require(history["val_accuracy"]).last! > 0.9)
        #expect(trainer.optimizer.iterations == 4 * 32)
    }

    @Test func stepsPerEpochKeepsOneIteratorAcrossEpochsLikeKeras() throws {
        // Keras: repeat()+batch(2), 2 steps x 3 epochs sees [0,1][2,3][4,5][6,7][8,9][0,1].
        let seen = Recorder<Float>()
        let x = try Tensor<Float>(shape: [10, 1], scalars: (0..<10).map(Float.init))
        let data = try Slices(x, Tensor<Float>(zeros: [10, 1])).repeat().batch(2)
            .map { batch -> Trainer.Batch in seen.append(batch.0.scalars[0]); return batch }
        var trainer = Trainer(model: try Sequential(inputFeatures: 1, [Dense(units: 1)], seed: 1),
                              optimizer: SGD(), loss: .meanSquaredError)
        try trainer.fit(data, epochs: 3, stepsPerEpoch: 2, progress: .quiet)
        #expect(seen.values == [0, 2, 4, 6, 8, 0])
    }

    @Test func withoutStepsEachEpochIsOneFullReshuffledPass() throws {
        let seen = Recorder<[Float]>()
        let x = try Tensor<Float>(shape: [6, 1], scalars: (0..<6).map(Float.init))
        let data = try Slices(x, Tensor<Float>(zeros: [6, 1])).shuffle(bufferSize: 6, seed: 4).batch(6)
            .map { batch -> Trainer.Batch in seen.append(batch.0.scalars); return batch }
        var trainer = Trainer(model: try Sequential(inputFeatures: 1, [Dense(units: 1)], seed: 1),
                              optimizer: SGD(), loss: .meanSquaredError)
        try trainer.fit(data, epochs: 2, progress: .quiet)
        #expect(seen.values.count == 2)
        #expect(seen.values.allSatisfy { $0.sorted() == [0, 1, 2, 3, 4, 5] })
        #expect(seen.values[0] != seen.values[1])
    }

    @Test func infiniteDataWithoutStepsPerEpochIsRejected() throws {
        let data = try TrainerFixtures.pipeline(TrainerFixtures.gaussian(rows: 8, seed: 1), seed: 1)
        var trainer = Trainer(model: try TrainerFixtures.seedModel(), optimizer: Adam(), loss: .binaryCrossentropy)
        #expect(throws: TrainingError.stepsRequired(argument: "data", cardinality: "infinite")) {
            try trainer.fit(data, epochs: 1, progress: .quiet)
        }
        #expect(throws: TrainingError.self) { try trainer.fit(data, epochs: 1, stepsPerEpoch: 0, progress: .quiet) }
    }

    @Test func finiteDataThatRunsOutStopsTrainingWithAReason() throws {
        let (x, y) = TrainerFixtures.gaussian(rows: 8, seed: 1)
        var trainer = Trainer(model: try TrainerFixtures.seedModel(), optimizer: Adam(), loss: .binaryCrossentropy)
        let history = try trainer.fit(try Slices(x, y).batch(4), epochs: 3, stepsPerEpoch: 3, progress: .quiet)
        #expect(history.epochs == [0])
        #expect(trainer.stopReason?.contains("ran out at epoch 1, step 3") == true)
    }

    @Test func sameSeedsGiveBitwiseIdenticalRunsAndOtherSeedsDoNot() throws {
        func run(seed: UInt64) throws -> ([String: [UInt32]], History) {
            let data = TrainerFixtures.gaussian(rows: 256, seed: 9)
            var trainer = Trainer(model: try TrainerFixtures.seedModel(seed: seed, dropout: true),
                                  optimizer: Adam(), loss: .binaryCrossentropy)
            let history = try trainer.fit(try TrainerFixtures.pipeline(data, seed: seed), epochs: 2,
                                          stepsPerEpoch: 20, progress: .quiet)
            return (TrainerFixtures.bits(trainer.model), history)
        }
        let a = try run(seed: 5), b = try run(seed: 5), c = try run(seed: 6)
        #expect(a.0 == b.0)
        #expect(a.1 == b.1)
        #expect(a.0 != c.0)
    }

    @Test func aNonFiniteLossStopsTrainingNamingEpochAndStep() throws {
        var x = [Float](repeating: 0.5, count: 12)
        x[9] = .nan   // row 9 is in the third batch of 4
        let data = try Slices(try Tensor<Float>(shape: [12, 1], scalars: x), Tensor<Float>(zeros: [12, 1])).batch(4)
        var trainer = Trainer(model: try Sequential(inputFeatures: 1, [Dense(units: 1)], seed: 1),
                              optimizer: SGD(), loss: .meanSquaredError)
        try trainer.fit(data, epochs: 2, callbacks: [TerminateOnNonFiniteLoss()], progress: .quiet)
        #expect(trainer.stopReason == "loss became nan at epoch 1, step 3: batch row 1, feature column 0 is nan")
        #expect(trainer.optimizer.iterations == 3)
    }
}
