import Datasets
import Distributed
import Foundation
import Tensors
import Testing
import Training

/// Per-layer `synchronized` flags (``BatchNormStatisticsScope/perLayer``), Dropout, and a rank
/// that cannot read its rows, in a world of one (no MPI) against independent references:
/// plain `trainingStep`s on whole batches and forward passes computed here.
/// MPIRunTests runs the same under `mpirun` on 1, 2 and 4 ranks.
struct DataParallelLayerFlagsTests {
    static let rows = 37, batch = 16, features = 5, classes = 3

    static func data() throws -> (Tensor<Float>, Tensor<Float>) {
        let x = try Tensor(shape: [rows, features], scalars: TestData.floats(rows * features, seed: 5, exponents: -1...0))
        let y = Tensor((0..<rows).map { Float(($0 * 2 + 1) % classes) })
        return (x, y)
    }

    /// Dense → BatchNormalization(`first`) → Dense → BatchNormalization(`second`) → Dense(softmax),
    /// with Dropout(0.3) after the first BatchNormalization when `dropout`.
    static func model(first: Bool, second: Bool, dropout: Bool = false) throws -> Sequential {
        var layers: [any Layer] = [Dense(units: 6, activation: .tanh), BatchNormalization(momentum: 0.8, synchronized: first)]
        if dropout { layers.append(Dropout(rate: 0.3)) }
        layers += [Dense(units: 4, activation: .relu), BatchNormalization(momentum: 0.7, synchronized: second),
                   Dense(units: classes, activation: .softmax)]
        return try Sequential(inputFeatures: features, layers, seed: 12)
    }

    static func trainer(_ model: Sequential, microShards: Int, mode: ReductionMode = .ordered,
                        statistics: BatchNormStatisticsScope) throws -> DataParallelTrainer {
        try DataParallelTrainer(model: model, optimizer: Adam(learningRate: 0.05), loss: .sparseCategoricalCrossentropy,
                                communicator: Communicator.world(environment: [:]), globalBatchSize: batch,
                                microShardCount: microShards, mode: mode, batchNormStatistics: statistics)
    }

    static func bits(_ model: Sequential) -> [[UInt32]] { model.variables.map { $0.value.scalars.map(\.bitPattern) } }

    /// `model` after one pass of plain `trainingStep`s + Adam on whole global batches, in order:
    /// the reference whose Dropout masks one process draws for each whole batch.
    static func wholeBatchSteps(_ model: Sequential) throws -> Sequential {
        let (x, y) = try data()
        var reference = model
        var adam = Adam(learningRate: 0.05)
        for start in stride(from: 0, to: rows, by: batch) {
            let range = start..<min(start + batch, rows)
            let step = try reference.trainingStep(x: x.rows(range), y: y.rows(range), loss: .sparseCategoricalCrossentropy)
            try reference.apply(step.stateUpdate)
            try adam.apply(step.gradients, to: &reference)
        }
        return reference
    }

    static func expectClose(_ model: Sequential, _ reference: Sequential, tolerance: Float, _ context: String) {
        for (variable, expected) in zip(model.variables, reference.variables) {
            let worst = zip(variable.value.scalars, expected.value.scalars).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
            #expect(worst <= tolerance, "\(context): \(variable.name) off by \(worst)")
        }
    }

    /// `.perLayer` with every flag true is bitwise `.synchronized`, with every flag false
    /// bitwise `.ghostBatch` (the overrides' results are unchanged), in both modes; and the
    /// overrides ignore the flags.
    @Test(arguments: ReductionMode.allCases)
    func uniformFlagsGiveTheOverridesResultsBitwise(mode: ReductionMode) throws {
        let (x, y) = try Self.data()
        func run(_ model: Sequential, _ statistics: BatchNormStatisticsScope) throws -> [[UInt32]] {
            var trainer = try Self.trainer(model, microShards: 4, mode: mode, statistics: statistics)
            try trainer.fit(try Slices(x, y), epochs: 1)
            return Self.bits(trainer.model)
        }
        let synchronized = try run(Self.model(first: false, second: false), .synchronized)
        let ghost = try run(Self.model(first: true, second: true), .ghostBatch)
        #expect(synchronized != ghost)
        #expect(try run(Self.model(first: true, second: true), .perLayer) == synchronized)
        #expect(try run(Self.model(first: false, second: false), .perLayer) == ghost)
        #expect(try run(Self.model(first: true, second: true), .synchronized) == synchronized)
        #expect(try run(Self.model(first: false, second: false), .ghostBatch) == ghost)
    }

    /// Mixed flags: the first BatchNormalization (`synchronized: true`) normalises with the
    /// global batch's statistics, the second (`false`) each micro-shard with its own. Checked
    /// against a forward pass computed here: the first three layers over the whole batch (their
    /// batch statistics are the global ones), then the rest micro-shard by micro-shard. The
    /// step's loss is the mean of those outputs' losses; the first layer's moving statistics
    /// follow the whole batch's mean and biased variance, the second's the row-weighted mean of
    /// the micro-shards' (computed in Double).
    @Test(arguments: ReductionMode.allCases)
    func mixedFlagsSynchronizeOneLayerAndNormaliseTheOtherPerMicroShard(mode: ReductionMode) throws {
        let (x, y) = try Self.data()
        let model = try Self.model(first: true, second: false)
        var trainer = try Self.trainer(model, microShards: 4, mode: mode, statistics: .perLayer)
        let result = try trainer.step(try Slices(x, y), epoch: 0, step: 0)

        let batchX = try x.rows(0..<Self.batch), batchY = try y.rows(0..<Self.batch)
        let hidden = try model.layers[0](batchX, mode: .training)
        var normalised = try model.layers[1](hidden, mode: .training)
        normalised = try model.layers[2](normalised, mode: .training)
        var lossSum: Double = 0
        var secondInputs: [Tensor<Float>] = []
        for shard in 0..<4 {
            let rows = (shard * 4)..<(shard * 4 + 4)
            var h = try normalised.rows(rows)
            secondInputs.append(h)
            for layer in model.layers[3...] { h = try layer(h, mode: .training) }
            lossSum += 4 * Double(try Loss.sparseCategoricalCrossentropy.value(predictions: h, targets: batchY.rows(rows)))
        }
        #expect(abs(Double(result.loss) - lossSum / 16) <= 1e-6)

        func moments(_ t: Tensor<Float>) -> (mean: [Double], variance: [Double]) {
            let width = t.shape[1], count = Double(t.rowCount)
            let mean = (0..<width).map { j in (0..<t.rowCount).map { Double(t.scalars[$0 * width + j]) }.reduce(0, +) / count }
            let variance = (0..<width).map { j in
                (0..<t.rowCount).map { let d = Double(t.scalars[$0 * width + j]) - mean[j]; return d * d }.reduce(0, +) / count
            }
            return (mean, variance)
        }
        let global = moments(hidden)
        let firstMean = try trainer.model.variable("batch_normalization/moving_mean").scalars
        let firstVariance = try trainer.model.variable("batch_normalization/moving_variance").scalars
        for j in global.mean.indices {
            #expect(abs(Double(firstMean[j]) - 0.2 * global.mean[j]) <= 1e-6, "first moving_mean[\(j)]")
            #expect(abs(Double(firstVariance[j]) - (0.8 + 0.2 * global.variance[j])) <= 1e-6, "first moving_variance[\(j)]")
        }
        let shards = secondInputs.map { moments($0) }
        let secondMean = try trainer.model.variable("batch_normalization_1/moving_mean").scalars
        let secondVariance = try trainer.model.variable("batch_normalization_1/moving_variance").scalars
        for j in secondMean.indices {
            let mean = shards.map { $0.mean[j] }.reduce(0, +) / 4, variance = shards.map { $0.variance[j] }.reduce(0, +) / 4
            #expect(abs(Double(secondMean[j]) - 0.3 * mean) <= 1e-6, "second moving_mean[\(j)]")
            #expect(abs(Double(secondVariance[j]) - (0.7 + 0.3 * variance)) <= 1e-6, "second moving_variance[\(j)]")
        }
    }

    /// Dropout's masks are those of one process drawing for the whole global batch: with one
    /// micro-shard (and in fast mode, where a world of one is one segment) a pass is bitwise
    /// plain `trainingStep`s on whole batches — weights, moving statistics and the generator's
    /// state; with 4 and 8 micro-shards only the order of additions differs (within 2e-6) and
    /// the generator state is the same.
    @Test func dropoutMasksAreThoseOfTheWholeBatch() throws {
        let (x, y) = try Self.data()
        let initial = try Self.model(first: false, second: false, dropout: true)
        let reference = try Self.wholeBatchSteps(initial)
        #expect(reference.randomStates != initial.randomStates)
        for (microShards, mode) in [(1, ReductionMode.ordered), (8, .fast), (4, .ordered), (8, .ordered)] {
            var trainer = try Self.trainer(initial, microShards: microShards, mode: mode, statistics: .synchronized)
            try trainer.fit(try Slices(x, y), epochs: 1)
            #expect(trainer.model.randomStates == reference.randomStates, "\(microShards) micro-shards, \(mode)")
            if microShards == 1 || mode == .fast {
                #expect(Self.bits(trainer.model) == Self.bits(reference), "\(microShards) micro-shards, \(mode)")
            } else {
                Self.expectClose(trainer.model, reference, tolerance: 2e-6, "\(microShards) micro-shards")
            }
        }
    }

    /// With ghost batches and one micro-shard (a ghost batch is then the whole batch), Dropout's
    /// masks and generator state are still the whole batch's: within 1e-6 of the same reference
    /// (the moving statistics go through a row-weighted mean, so not bitwise).
    @Test func dropoutWithGhostBatchesOfOneMicroShardMatchesTheWholeBatch() throws {
        let (x, y) = try Self.data()
        let initial = try Self.model(first: false, second: false, dropout: true)
        let reference = try Self.wholeBatchSteps(initial)
        for statistics in [BatchNormStatisticsScope.ghostBatch, .perLayer] {
            var trainer = try Self.trainer(initial, microShards: 1, statistics: statistics)
            try trainer.fit(try Slices(x, y), epochs: 1)
            #expect(trainer.model.randomStates == reference.randomStates)
            Self.expectClose(trainer.model, reference, tolerance: 1e-6, "\(statistics)")
        }
    }

    /// A run with Dropout and mixed flags resumed from the snapshot after step 4 (epoch 1, step
    /// 1) ends bitwise as the uninterrupted run: the generator state travels in the model.
    @Test func aDropoutRunResumesFromASnapshotBitwise() throws {
        let (x, y) = try Self.data()
        let rows = try Slices(x, y).globalShuffle(seed: 4)
        let model = try Self.model(first: true, second: false, dropout: true)
        var uninterrupted = try Self.trainer(model, microShards: 4, statistics: .perLayer)
        let expected = try uninterrupted.fit(rows, epochs: 2)
        var saved: TrainingSnapshot?
        var first = try Self.trainer(model, microShards: 4, statistics: .perLayer)
        try first.fit(rows, epochs: 2) { _, snapshot in if snapshot.globalStep == 4 { saved = snapshot } }
        let snapshot = try #require(saved)
        #expect(snapshot.model.randomStates != model.randomStates)
        var resumed = try Self.trainer(model, microShards: 4, statistics: .perLayer)
        #expect(try resumed.fit(rows, epochs: 2, resumingFrom: snapshot) == expected)
        #expect(Self.bits(resumed.model) == Self.bits(uninterrupted.model))
        #expect(resumed.model.randomStates == uninterrupted.model.randomStates)
    }

    /// A rank that cannot read its rows still enters every collective of a step with
    /// synchronized BatchNormalization (here the step's agreement check, 2 layers' 6 reductions, then
    /// the step's gradient reduction; in fast mode each layer's forward statistics take one merge
    /// instead of two sums, so 2 layers' 4 collectives: 6 in all), so the
    /// other ranks are not left waiting: the failed step enters as many collectives as a
    /// healthy one, and throws the rank's own error. Counted with `collectivesEntered`, so it
    /// does not rely on the collectives' length checks noticing a rank that skipped some.
    @Test(arguments: ReductionMode.allCases)
    func aRankThatCannotReadItsRowsStillEntersEveryCollective(mode: ReductionMode) throws {
        struct Unreadable: Error {}
        let (x, y) = try Self.data()
        let model = try Self.model(first: true, second: true)
        let world = try Communicator.world(environment: [:])
        var trainer = try DataParallelTrainer(model: model, optimizer: Adam(), loss: .sparseCategoricalCrossentropy,
                                              communicator: world, globalBatchSize: Self.batch, microShardCount: 4, mode: mode)
        var before = world.collectivesEntered
        _ = try trainer.step(try Slices(x, y), epoch: 0, step: 0)
        let healthy = world.collectivesEntered - before
        #expect(healthy == (mode == .fast ? 6 : 8))
        before = world.collectivesEntered
        #expect(throws: DataParallelError.self) {
            try trainer.step(try Slices(x, y).map { _ -> (Tensor<Float>, Tensor<Float>) in throw Unreadable() }, epoch: 0, step: 0)
        }
        #expect(world.collectivesEntered - before == healthy)
    }
}
