import Datasets
import Distributed
import Foundation
import Tensors
import Testing
import Training

/// DataParallelTrainer in a world of one (no MPI), against plain `trainingStep` + optimizer
/// steps on the whole global batch: the independent reference for the loss normalisation, the
/// gradient means and BatchNormalization's moving statistics.
struct DataParallelTrainerTests {
    static let rows = 37, batch = 16, features = 5, classes = 3

    static func data() throws -> (Tensor<Float>, Tensor<Float>) {
        let x = try Tensor(shape: [rows, features], scalars: TestData.floats(rows * features, seed: 3, exponents: -1...0))
        let y = Tensor((0..<rows).map { Float(($0 * 5 + 1) % classes) })
        return (x, y)
    }

    static func model(batchNorm: Bool) throws -> Sequential {
        var layers: [any Layer] = [Dense(units: 6, activation: .tanh)]
        if batchNorm { layers.append(BatchNormalization(momentum: 0.8)) }
        layers.append(Dense(units: classes, activation: .softmax))
        return try Sequential(inputFeatures: features, layers, seed: 9)
    }

    /// Steps of the global batch on one process: rows `s·B ..< (s+1)·B` of the same order.
    static func reference(batchNorm: Bool, order: [Int]) throws -> (model: Sequential, losses: [Float]) {
        let (x, y) = try data()
        var model = try model(batchNorm: batchNorm)
        var adam = Adam(learningRate: 0.05)
        var losses: [Float] = []
        for start in stride(from: 0, to: rows, by: batch) {
            let indices = Array(order[start..<min(start + batch, rows)])
            let step = try model.trainingStep(x: x.gatherRows(indices), y: y.gatherRows(indices), loss: .sparseCategoricalCrossentropy)
            try model.apply(step.stateUpdate)
            try adam.apply(step.gradients, to: &model)
            losses.append(step.loss)
        }
        return (model, losses)
    }

    static func trainer(batchNorm: Bool, microShards: Int, mode: ReductionMode = .ordered,
                        statistics: BatchNormStatisticsScope = .synchronized) throws -> DataParallelTrainer {
        try DataParallelTrainer(model: model(batchNorm: batchNorm), optimizer: Adam(learningRate: 0.05),
                                loss: .sparseCategoricalCrossentropy, communicator: Communicator.world(environment: [:]),
                                globalBatchSize: batch, microShardCount: microShards, mode: mode, batchNormStatistics: statistics)
    }

    static func expectClose(_ model: Sequential, _ reference: Sequential, tolerance: Float, _ context: String) {
        for (variable, expected) in zip(model.variables, reference.variables) {
            for (value, want) in zip(variable.value.scalars, expected.value.scalars) {
                #expect(abs(value - want) <= tolerance * max(1, abs(want)), "\(context) \(variable.name): \(value) vs \(want)")
            }
        }
    }

    /// Without BatchNormalization the micro-shard decomposition is only a different order of
    /// additions: the global-batch mean gradients, the losses (including the short last step of
    /// 5 rows) and the weights after a pass match one process stepping on whole batches.
    @Test(arguments: [1, 4, 8])
    func microShardedStepsMatchWholeBatchStepsOnOneProcess(microShards: Int) throws {
        let (x, y) = try Self.data()
        var trainer = try Self.trainer(batchNorm: false, microShards: microShards)
        var losses: [Float] = []
        var rowCounts: [Int] = []
        try trainer.fit(try Slices(x, y), epochs: 1) { step, _ in
            losses.append(step.loss)
            rowCounts.append(step.rowCount)
        }
        let reference = try Self.reference(batchNorm: false, order: Array(0..<Self.rows))
        #expect(rowCounts == [16, 16, 5])
        for (loss, expected) in zip(losses, reference.losses) { #expect(abs(loss - expected) <= 1e-6 * max(1, abs(expected))) }
        Self.expectClose(trainer.model, reference.model, tolerance: 1e-5, "\(microShards) micro-shards")
    }

    /// Fast mode runs each rank's rows as one step, not one per micro-shard: in a world of one
    /// with 8 micro-shards, a pass (short last step included) ends with bitwise the weights and
    /// moving statistics of one process stepping on whole batches, with and without
    /// synchronized BatchNormalization. Per-micro-shard steps would differ in the last bits.
    @Test(arguments: [false, true])
    func fastModeStepsOnEachRanksRowsAtOnce(batchNorm: Bool) throws {
        let (x, y) = try Self.data()
        var trainer = try Self.trainer(batchNorm: batchNorm, microShards: 8, mode: .fast)
        var losses: [Float] = []
        try trainer.fit(try Slices(x, y), epochs: 1) { step, _ in losses.append(step.loss) }
        let reference = try Self.reference(batchNorm: batchNorm, order: Array(0..<Self.rows))
        for (loss, expected) in zip(losses, reference.losses) { #expect(abs(loss - expected) <= 1e-6 * max(1, abs(expected))) }
        for (variable, expected) in zip(trainer.model.variables, reference.model.variables) {
            #expect(variable.value.scalars.map(\.bitPattern) == expected.value.scalars.map(\.bitPattern), "\(variable.name)")
        }
    }

    /// With an EMA optimizer, `fit` ends as Keras's and `Trainer.fit` do: the model holds the
    /// averages (`finalizeVariableValues`), which differ from the last training weights.
    @Test func fitEndsWithTheExponentialMovingAverageOfTheWeights() throws {
        let (x, y) = try Self.data()
        let options = OptimizerOptions(learningRate: .constant(0.05), useEMA: true, emaMomentum: 0.5)
        var trainer = try DataParallelTrainer(
            model: Self.model(batchNorm: false), optimizer: Adam(options: options), loss: .sparseCategoricalCrossentropy,
            communicator: Communicator.world(environment: [:]), globalBatchSize: Self.batch, microShardCount: 1)
        var lastTrainingWeights: Sequential?
        try trainer.fit(try Slices(x, y), epochs: 1) { _, snapshot in lastTrainingWeights = snapshot.model }
        var reference = try Self.model(batchNorm: false)
        var adam = Adam(options: options)
        for start in stride(from: 0, to: Self.rows, by: Self.batch) {
            let rows = Array(start..<min(start + Self.batch, Self.rows))
            let step = try reference.trainingStep(x: x.gatherRows(rows), y: y.gatherRows(rows), loss: .sparseCategoricalCrossentropy)
            try adam.apply(step.gradients, to: &reference)
        }
        let unfinalized = reference
        try adam.finalizeVariableValues(of: &reference)
        Self.expectClose(trainer.model, reference, tolerance: 1e-5, "EMA-finalized")
        // The snapshots keep the training weights (so a resume continues them exactly).
        Self.expectClose(try #require(lastTrainingWeights), unfinalized, tolerance: 1e-5, "training weights")
        #expect(trainer.model.variables != unfinalized.variables)
    }

    /// The epoch's rows follow the dataset's pass: a global shuffle's epoch-0 order.
    @Test func rowsAreReadInTheGlobalShuffleOrder() throws {
        let (x, y) = try Self.data()
        let shuffled = try Slices(x, y).globalShuffle(seed: 4)
        let order = try (0..<Self.rows).map { try RangeDataset(0..<Self.rows).globalShuffle(seed: 4).element(at: $0, epoch: 0) }
        var trainer = try Self.trainer(batchNorm: false, microShards: 4)
        try trainer.fit(shuffled, epochs: 1)
        Self.expectClose(trainer.model, try Self.reference(batchNorm: false, order: order).model, tolerance: 1e-5, "shuffled")
    }

    /// Synchronized BatchNormalization (the default) normalises every micro-shard with the whole
    /// global batch's statistics: with one micro-shard the run is bitwise one process stepping on
    /// whole batches with `Sequential.trainingStep` (weights, moving statistics, every step's
    /// loss); with 4 and 8 micro-shards (the short last step of 5 rows leaves some empty) only
    /// the order of additions differs. Ghost batches (4 micro-shards) are visibly further off.
    @Test func synchronizedBatchNormalizationMatchesOneProcessOnTheWholeBatch() throws {
        let (x, y) = try Self.data()
        let reference = try Self.reference(batchNorm: true, order: Array(0..<Self.rows))
        func run(_ microShards: Int, _ statistics: BatchNormStatisticsScope) throws -> (Sequential, [Float]) {
            var trainer = try Self.trainer(batchNorm: true, microShards: microShards, statistics: statistics)
            var losses: [Float] = []
            try trainer.fit(try Slices(x, y), epochs: 1) { step, _ in losses.append(step.loss) }
            return (trainer.model, losses)
        }
        let (whole, wholeLosses) = try run(1, .synchronized)
        #expect(whole.variables == reference.model.variables)
        #expect(wholeLosses == reference.losses)
        for microShards in [4, 8] {
            let (model, losses) = try run(microShards, .synchronized)
            Self.expectClose(model, reference.model, tolerance: 2e-6, "synchronized, \(microShards) micro-shards")
            for (loss, expected) in zip(losses, reference.losses) { #expect(abs(loss - expected) <= 1e-6 * max(1, abs(expected))) }
        }
        let (ghost, _) = try run(4, .ghostBatch)
        let movingVariance = try ghost.variable("batch_normalization/moving_variance").scalars
        let expectedVariance = try reference.model.variable("batch_normalization/moving_variance").scalars
        #expect(zip(movingVariance, expectedVariance).contains { abs($0 - $1) > 1e-4 })
    }

    /// BatchNormalization with ghost batches and one micro-shard is plain batch statistics: weights and moving
    /// statistics match one process. With 4 micro-shards (ghost batches), after one step the
    /// moving mean is the whole batch's (the row-weighted mean of the micro-shards' means is the
    /// batch mean) and the moving variance is `momentum·1 + (1 − momentum)·Σₖ nₖ·varₖ / N` with
    /// each micro-shard's biased variance, computed here in Double from the first layer's output.
    @Test func batchNormalizationUsesGhostBatchStatisticsWithRowWeightedMovingStatistics() throws {
        let (x, y) = try Self.data()
        let reference = try Self.reference(batchNorm: true, order: Array(0..<Self.rows))
        var whole = try Self.trainer(batchNorm: true, microShards: 1, statistics: .ghostBatch)
        try whole.fit(try Slices(x, y), epochs: 1)
        Self.expectClose(whole.model, reference.model, tolerance: 1e-5, "one micro-shard")

        let model = try Self.model(batchNorm: true)
        var ghost = try Self.trainer(batchNorm: true, microShards: 4, statistics: .ghostBatch)
        _ = try ghost.step(try Slices(x, y), epoch: 0, step: 0)
        let hidden = try model.layers[0](x.rows(0..<Self.batch), mode: .training)
        let units = hidden.shape[1]
        var meanSum = [Double](repeating: 0, count: units), varianceSum = meanSum
        for shard in 0..<4 {
            let rows = (shard * 4)..<(shard * 4 + 4)
            for unit in 0..<units {
                let values = rows.map { Double(hidden.scalars[$0 * units + unit]) }
                let mean = values.reduce(0, +) / 4
                meanSum[unit] += 4 * mean
                varianceSum[unit] += 4 * values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4
            }
        }
        let movingMean = try ghost.model.variable("batch_normalization/moving_mean").scalars
        let movingVariance = try ghost.model.variable("batch_normalization/moving_variance").scalars
        for unit in 0..<units {
            let expectedMean = 0.2 * meanSum[unit] / 16
            let expectedVariance = 0.8 + 0.2 * varianceSum[unit] / 16
            #expect(abs(Double(movingMean[unit]) - expectedMean) <= 1e-6, "moving_mean[\(unit)]")
            #expect(abs(Double(movingVariance[unit]) - expectedVariance) <= 1e-6, "moving_variance[\(unit)]")
        }
    }

    /// AdaBN across ranks (here a world of one; MPIRunTests runs 2 and 4 ranks): the moving
    /// statistics become the population statistics of all rows, layer after layer, as the
    /// single-process `recalibratingBatchNormalization` computes them (within 1e-6, the float32
    /// rounding of two Double sums in different orders), for inputs with a large mean (40), and
    /// the first layer's equal the column means and biased variances computed here in Double.
    /// Every other weight is unchanged.
    @Test func recalibrationGivesTheSingleProcessPopulationStatistics() throws {
        let (x, y) = try Self.data()
        let shifted = x * 3 + 40
        let model = try Sequential(inputFeatures: Self.features, [
            BatchNormalization(), Dense(units: 6, activation: .tanh), BatchNormalization(momentum: 0.8),
            Dense(units: Self.classes, activation: .softmax),
        ], seed: 9)
        var trainer = try DataParallelTrainer(model: model, optimizer: Adam(), loss: .sparseCategoricalCrossentropy,
                                              communicator: Communicator.world(environment: [:]),
                                              globalBatchSize: Self.batch, microShardCount: 4)
        try trainer.recalibrateBatchNormalization(on: try Slices(shifted, y))
        let expected = try model.recalibratingBatchNormalization(on: shifted, batchSize: 10)
        for (variable, want) in zip(trainer.model.variables, expected.variables) {
            #expect(variable.name == want.name)
            for (value, reference) in zip(variable.value.scalars, want.value.scalars) {
                #expect(abs(value - reference) <= 1e-6 * max(1, abs(reference)), "\(variable.name): \(value) vs \(reference)")
            }
        }
        #expect(try trainer.model.variable("dense/kernel") == model.variable("dense/kernel"))
        #expect(try trainer.model.variable("batch_normalization_1/moving_mean") != model.variable("batch_normalization_1/moving_mean"))
        let movingMean = try trainer.model.variable("batch_normalization/moving_mean").scalars
        let movingVariance = try trainer.model.variable("batch_normalization/moving_variance").scalars
        for column in 0..<Self.features {
            let values = (0..<Self.rows).map { Double(shifted.scalars[$0 * Self.features + column]) }
            let mean = values.reduce(0, +) / Double(Self.rows)
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(Self.rows)
            #expect(abs(Double(movingMean[column]) - mean) <= 1e-6 * mean)
            #expect(abs(Double(movingVariance[column]) - variance) <= 1e-6 * max(1, variance))
        }
    }

    /// A snapshot handed out mid-epoch resumes to the same bits as an uninterrupted run
    /// (weights, optimizer state, history with the unfinished epoch's loss sum); a trainer
    /// whose optimizer differs from the snapshot's is refused.
    @Test func fitResumesFromASnapshotBitwise() throws {
        let (x, y) = try Self.data()
        let rows = try Slices(x, y).globalShuffle(seed: 2)
        var uninterrupted = try Self.trainer(batchNorm: true, microShards: 4)
        let expected = try uninterrupted.fit(rows, epochs: 2)
        var saved: TrainingSnapshot?
        var first = try Self.trainer(batchNorm: true, microShards: 4)
        try first.fit(rows, epochs: 2) { _, snapshot in if snapshot.globalStep == 4 { saved = snapshot } }
        let snapshot = try #require(saved)
        #expect(snapshot.epoch == 1 && snapshot.stepInEpoch == 1 && snapshot.history["loss"]?.count == 1)
        var resumed = try Self.trainer(batchNorm: true, microShards: 4)
        let history = try resumed.fit(rows, epochs: 2, resumingFrom: snapshot)
        #expect(history == expected)
        #expect(resumed.model.variables == uninterrupted.model.variables)
        #expect(resumed.optimizer.state == uninterrupted.optimizer.state)

        var other = try DataParallelTrainer(model: Self.model(batchNorm: true), optimizer: SGD(learningRate: 0.05),
                                            loss: .sparseCategoricalCrossentropy, communicator: Communicator.world(environment: [:]),
                                            globalBatchSize: Self.batch)
        #expect(throws: DataParallelError.self) { try other.fit(rows, epochs: 2, resumingFrom: snapshot) }
        var wider = try DataParallelTrainer(
            model: Sequential(inputFeatures: Self.features, [Dense(units: 7), BatchNormalization(), Dense(units: Self.classes, activation: .softmax)], seed: 9),
            optimizer: Adam(learningRate: 0.05), loss: .sparseCategoricalCrossentropy,
            communicator: Communicator.world(environment: [:]), globalBatchSize: Self.batch)
        #expect(throws: DataParallelError.self) { try wider.fit(rows, epochs: 2, resumingFrom: snapshot) }
    }

    /// `evaluate` gives the loss of one inference pass over all rows and the fraction of rows
    /// whose largest output is the label, counted here directly.
    @Test func evaluateGivesTheGlobalLossAndAccuracy() throws {
        let (x, y) = try Self.data()
        var trainer = try Self.trainer(batchNorm: true, microShards: 4)
        try trainer.fit(try Slices(x, y), epochs: 2)
        let results = try trainer.evaluate(try Slices(x, y), metrics: [SparseCategoricalAccuracy()])
        let whole = try trainer.model.loss(x: x, y: y, loss: .sparseCategoricalCrossentropy, mode: .inference)
        let correct = (0..<Self.rows).filter { row in
            let scores = (0..<Self.classes).map { whole.predictions.scalars[row * Self.classes + $0] }
            return Float(scores.indices.max { scores[$0] < scores[$1] }!) == y.scalars[row]
        }.count
        #expect(abs((results["loss"] ?? .nan) - Double(whole.loss)) <= 1e-6)
        #expect(abs((results["accuracy"] ?? .nan) - Double(correct) / Double(Self.rows)) <= 1e-12)
    }

    /// `predict` gives every row's output in row order, as one inference pass over all rows.
    @Test func predictGivesEveryRowsOutputInOrder() throws {
        let (x, y) = try Self.data()
        var trainer = try Self.trainer(batchNorm: true, microShards: 4)
        try trainer.fit(try Slices(x, y), epochs: 1)
        let predictions = try trainer.predict(try Slices(x, y))
        let expected = try trainer.model(x, mode: .inference)
        #expect(predictions.shape == [Self.rows, Self.classes])
        for (value, want) in zip(predictions.scalars, expected.scalars) { #expect(abs(value - want) <= 1e-6) }
    }

    /// Dropout is accepted (DataParallelLayerFlagsTests checks its masks); bad settings and
    /// sharded or batched data are refused.
    @Test func refusesBadSettingsAndShardedOrBatchedData() throws {
        let world = try Communicator.world(environment: [:])
        let dropout = try Sequential(inputFeatures: 2, [Dropout(rate: 0.5), Dense(units: 1)], seed: 1)
        _ = try DataParallelTrainer(model: dropout, optimizer: SGD(), loss: .meanSquaredError, communicator: world, globalBatchSize: 4)
        let model = try Sequential(inputFeatures: 2, [Dense(units: 1)], seed: 1)
        #expect(throws: DataParallelError.invalidArgument(argument: "globalBatchSize", reason: "must be at least 1, got 0")) {
            _ = try DataParallelTrainer(model: model, optimizer: SGD(), loss: .meanSquaredError, communicator: world, globalBatchSize: 0)
        }
        var trainer = try DataParallelTrainer(model: model, optimizer: SGD(), loss: .meanSquaredError, communicator: world, globalBatchSize: 4)
        let rows = try Slices(Tensor<Float>(zeros: [8, 2]), Tensor<Float>(zeros: [8, 1]))
        #expect(throws: DataParallelError.self) { try trainer.fit(rows.shard(count: 2, index: 0), epochs: 1) }
        #expect(throws: DataParallelError.self) { try trainer.step(rows, epoch: 0, step: 2) }
        #expect(throws: DataParallelError.self) { try trainer.step(rows, epoch: -1, step: 0) }
    }
}
