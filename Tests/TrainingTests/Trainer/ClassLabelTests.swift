import Datasets
import Testing
import Tensors
@testable import Training

/// `fit` and `evaluate` with integer class labels (issue 13, item 8): the pipeline of the
/// "Building, storing and resuming pipelines" article, Int64 labels and all, trains as it
/// is, bit for bit like the same labels given as Float.
@Suite struct ClassLabelTests {
    /// The article's seed data in small: features [N, 1] as Double, labels [N] as Int64
    /// (three classes, so that the labels are class indices rather than 0/1 targets).
    static let rows = 96
    static let xs: [Double] = (0..<rows).map { Double(($0 * 37) % rows) / 10 - 4.8 }
    static let labels: [Int64] = xs.map { $0 < -1.6 ? 0 : $0 < 1.6 ? 1 : 2 }

    static func model() throws -> Sequential {
        try Sequential(inputFeatures: 1, [Dense(units: 8, activation: .relu), Dense(units: 3, activation: .softmax)], seed: 18)
    }

    static func trainer(_ loss: Loss = .sparseCategoricalCrossentropy) throws -> Trainer {
        Trainer(model: try model(), optimizer: Adam(learningRate: 0.05), loss: loss)
    }

    /// The article's pipeline, with the features converted to Float as `fit` needs them.
    static func articlePipeline<Label: NumericTensorScalar>(_ labels: Tensor<Label>)
        throws -> some Dataset<(Tensor<Float>, Tensor<Label>)> {
        let x = try Tensor<Double>(shape: [rows, 1], scalars: xs)
        return try Slices(x.converted(to: Float.self), labels)
            .shuffle(bufferSize: 10_000, seed: 18)
            .repeat()
            .batch(32)
            .prefetch(2)
    }

    static func validation<Label: NumericTensorScalar>(_ labels: Tensor<Label>) throws -> some Dataset<(Tensor<Float>, Tensor<Label>)> {
        try Slices(Tensor<Double>(shape: [rows, 1], scalars: xs).converted(to: Float.self), labels).batch(40)
    }

    @Test func theArticlesPipelineTrainsOnInt64LabelsExactlyAsOnFloatLabels() throws {
        let int64 = Tensor<Int64>(Self.labels)
        var trainer = try Self.trainer()
        let history = try trainer.fit(Self.articlePipeline(int64), epochs: 4, stepsPerEpoch: 3,
                                      validationData: Self.validation(int64), progress: .quiet)
        let scores = try trainer.evaluate(Self.validation(int64))

        let float = int64.converted(to: Float.self)
        var reference = try Self.trainer()
        let referenceHistory = try reference.fit(Self.articlePipeline(float), epochs: 4, stepsPerEpoch: 3,
                                                 validationData: Self.validation(float), progress: .quiet)
        let referenceScores = try reference.evaluate(Self.validation(float))

        #expect(TrainerFixtures.bits(trainer.model) == TrainerFixtures.bits(reference.model))
        #expect(history == referenceHistory)
        #expect(history.names == ["accuracy", "loss", "val_accuracy", "val_loss"])
        #expect(scores.mapValues { $0.bitPattern } == referenceScores.mapValues { $0.bitPattern })
        // It did learn: three well separated intervals.
        let losses = try #require(history["loss"])
        #expect(losses.last! < losses.first! / 2)
        #expect(try #require(history["val_accuracy"]?.last) > 0.75)
    }

    @Test func int32AndUInt8LabelsScoreAsFloatLabels() throws {
        let trainer = try Self.trainer()
        let reference = try trainer.evaluate(Self.validation(Tensor<Int64>(Self.labels).converted(to: Float.self)))
        let int32 = try trainer.evaluate(Self.validation(Tensor<Int32>(Self.labels.map { Int32($0) })))
        let uint8 = try trainer.evaluate(Self.validation(Tensor<UInt8>(Self.labels.map { UInt8($0) })))
        #expect(int32.mapValues { $0.bitPattern } == reference.mapValues { $0.bitPattern })
        #expect(uint8.mapValues { $0.bitPattern } == reference.mapValues { $0.bitPattern })
        // Labels of shape [N, 1] are taken as well.
        let column = try Tensor<Int64>(Self.labels).reshaped(to: [Self.rows, 1])
        let columnScores = try trainer.evaluate(Self.validation(column))
        #expect(columnScores.mapValues { $0.bitPattern } == reference.mapValues { $0.bitPattern })
    }

    @Test(arguments: [Int64(3), -1, 1 << 40, .max])
    func aLabelOutsideTheClassesNamesItsRowAndExactValue(bad: Int64) throws {
        var labels = Self.labels
        labels[37] = bad        // row 5 of the second batch of 32
        var trainer = try Self.trainer()
        let before = TrainerFixtures.bits(trainer.model)
        let data = try Slices(Tensor<Float>(shape: [Self.rows, 1], scalars: Self.xs.map { Float($0) }),
                              Tensor<Int64>(labels)).batch(32)
        #expect(throws: TrainingError.invalidClassLabel(loss: "sparse_categorical_crossentropy", row: 5, label: bad, classes: 3)) {
            try trainer.fit(data, epochs: 1, progress: .quiet)
        }
        #expect(throws: TrainingError.invalidClassLabel(loss: "sparse_categorical_crossentropy", row: 5, label: bad, classes: 3)) {
            try trainer.evaluate(data)
        }
        let message = TrainingError.invalidClassLabel(loss: "sparse_categorical_crossentropy", row: 5, label: bad, classes: 3)
            .localizedDescription
        #expect(message.contains("batch row 5") && message.contains("label \(bad) ") && message.contains("0..<3"))
        // Only the first batch trained.
        #expect(TrainerFixtures.bits(trainer.model) != before)
    }

    @Test(arguments: [Loss.binaryCrossentropy, .categoricalCrossentropy, .meanSquaredError,
                      .sparseCategoricalCrossentropy(fromLogits: true)])
    func integerTargetsWithALossThatNeedsFloatTargetsAreRefusedNamingTheFix(loss: Loss) throws {
        var trainer = try Self.trainer(loss)
        let before = TrainerFixtures.bits(trainer.model)
        let int64 = Tensor<Int64>(Self.labels)
        if loss.kind == .sparseCategoricalCrossentropy {
            // The logits flavour takes class indices too.
            try trainer.fit(Self.articlePipeline(int64), epochs: 1, stepsPerEpoch: 1, progress: .quiet)
            return
        }
        let expected = TrainingError.integerTargets(loss: loss.kerasName, labelType: "Int64")
        #expect(throws: expected) { try trainer.fit(Self.articlePipeline(int64), epochs: 1, stepsPerEpoch: 1, progress: .quiet) }
        #expect(throws: expected) { try trainer.evaluate(Self.validation(int64)) }
        #expect(TrainerFixtures.bits(trainer.model) == before)
        let message = expected.localizedDescription
        #expect(message.contains("converted(to: Float.self)") && message.contains(".sparseCategoricalCrossentropy"))
    }

    /// The integer path adds no stage to the pipeline's state: a snapshot taken while
    /// training on Int64 labels resumes a Float-label run to the uninterrupted result.
    @Test func aSnapshotFromInt64LabelsResumesOnFloatLabels() throws {
        let int64 = Tensor<Int64>(Self.labels)
        let float = int64.converted(to: Float.self)
        var straight = try Self.trainer()
        let straightHistory = try straight.fit(Self.articlePipeline(float), epochs: 3, stepsPerEpoch: 3, progress: .quiet)

        let saved = Recorder<TrainingSnapshot>()
        var first = try Self.trainer()
        try first.fit(Self.articlePipeline(int64), epochs: 3, stepsPerEpoch: 3,
                      callbacks: [CheckpointCallback(frequency: .everySteps(4)) { saved.append($0) }], progress: .quiet)
        let snapshot = try #require(saved.values.first)
        #expect(snapshot.globalStep == 4)
        var resumed = try Self.trainer()
        let history = try resumed.fit(Self.articlePipeline(float), epochs: 3, stepsPerEpoch: 3, progress: .quiet,
                                      resumingFrom: snapshot)
        #expect(TrainerFixtures.bits(resumed.model) == TrainerFixtures.bits(straight.model))
        #expect(history == straightHistory)
    }
}
