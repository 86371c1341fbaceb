import Datasets
import Foundation
import Tensors
import Training

/// The classic BatchNormalization question, reproduced end to end and made explicit.
///
/// A model BN → Dense(8, sigmoid) → BN → Dense(1, sigmoid) learns "x > 0" from x ~ N(0, 1)
/// through the seed pipeline shuffle(10,000) → repeat → batch(32) → prefetch(2) with Adam.
/// It is then tested on x ~ N(shift, 1) with the label "x > shift" under four ways of
/// choosing BatchNormalization's statistics:
///
/// | mode | statistics | deterministic? |
/// |---|---|---|
/// | inference | moving averages from training | yes |
/// | batch statistics (32) | each test batch of 32 rows | no: depends on batch mates |
/// | full-batch statistics | the whole test set as one batch | only for that exact set |
/// | re-calibrated | exact mean/variance of unlabeled shifted inputs, then inference | yes |
///
/// ```swift
/// let result = try SeedExperiment(configuration: .init(seed: 18)).run(progress: .quiet)
/// result.accuracies.inference     // about 0.5: the net is right for N(0,1), the data moved
/// result.accuracies.recalibrated  // close to the batch-statistics numbers, deterministically
/// ```
public struct SeedExperiment: Sendable {
    /// Everything that defines a run; the defaults are the original question's.
    public struct Configuration: Sendable, Codable, Equatable {
        /// Seeds the data, the initial weights and the shuffle.
        public var seed: UInt64 = 18
        /// Training epochs.
        public var epochs = 10
        /// Batches per epoch (313 × 32 ≈ one pass over 10,000 rows).
        public var stepsPerEpoch = 313
        /// Rows per training batch, and per test batch in the batch-statistics mode.
        public var batchSize = 32
        /// How far the test distribution's mean is moved from the training one's.
        public var shift = 2.0
        /// Rows of x ~ N(0, 1) to train on.
        public var trainingRows = 10_000
        /// Rows from the training distribution used for validation.
        public var validationRows = 100
        /// Rows of x ~ N(shift, 1) scored in each mode.
        public var testRows = 100
        /// Unlabeled rows from the shifted distribution used to re-calibrate (never the test rows).
        public var recalibrationRows = 1_000
        /// The shuffle buffer of the training pipeline.
        public var shuffleBuffer = 10_000
        /// The shifts at which every mode is scored again for the sweep.
        public var sweepShifts: [Double] = [0, 0.5, 1, 1.5, 2, 3]
        /// The original question's configuration with another seed.
        public init(seed: UInt64 = 18) { self.seed = seed }
    }

    /// Test accuracy under each way of choosing BatchNormalization's statistics.
    public struct Accuracies: Sendable, Codable, Equatable {
        /// Accuracy with the moving statistics (ordinary inference).
        public var inference: Double
        /// Accuracy with each test batch's own statistics.
        public var batchStatistics: Double
        /// Accuracy with the whole test set normalized as one batch.
        public var fullBatchStatistics: Double
        /// Accuracy after re-calibrating on unlabeled shifted rows.
        public var recalibrated: Double
    }

    /// One row of the shift sweep.
    public struct SweepRow: Sendable, Codable, Equatable {
        /// The test distribution's shift.
        public var shift: Double
        /// The four modes' accuracies at that shift.
        public var accuracies: Accuracies
    }

    /// What a run produced.
    public struct Result: Sendable {
        /// The configuration that produced the result.
        public var configuration: Configuration
        /// At the configured shift.
        public var accuracies: Accuracies
        /// The four modes at every shift of ``Configuration/sweepShifts``.
        public var sweep: [SweepRow]
        /// The training history (loss, accuracy, validation).
        public var history: History
        /// SHA-256 of every final variable (name, shape and float bits), for reproducibility.
        public var weightsSHA256: String
        /// The trained model.
        public var model: Sequential
        /// Wall time of `fit`, in seconds.
        public var fitSeconds: Double
    }

    /// What the next ``run(progress:)`` does.
    public var configuration: Configuration

    /// An experiment; the default configuration is the original question's.
    public init(configuration: Configuration = Configuration()) { self.configuration = configuration }

    /// Builds the data and the model, trains, and measures every mode at every shift.
    public func run(progress: ProgressStyle = .automatic) throws -> Result {
        let config = configuration
        let train = ShiftedGaussianData(count: config.trainingRows, shift: 0, seed: config.seed, stream: 1)
        let validation = ShiftedGaussianData(count: config.validationRows, shift: 0, seed: config.seed, stream: 2)

        let pipeline = try Slices(train.features, train.labels)
            .shuffle(bufferSize: config.shuffleBuffer, seed: config.seed)
            .repeat()
            .batch(config.batchSize)
            .map { (Tensor<Float>(converting: $0.0), Tensor<Float>(converting: $0.1)) }
            .prefetch(2)
        let validationBatches = try Slices(Tensor<Float>(converting: validation.features),
                                           Tensor<Float>(converting: validation.labels))
            .batch(config.batchSize).eraseToAnyDataset()

        let model = try Sequential(inputFeatures: 1, [
            BatchNormalization(), Dense(units: 8, activation: .sigmoid),
            BatchNormalization(), Dense(units: 1, activation: .sigmoid),
        ], seed: config.seed)
        var trainer = Trainer(model: model, optimizer: Adam(), loss: .binaryCrossentropy)
        let start = DispatchTime.now().uptimeNanoseconds
        let history = try trainer.fit(pipeline, epochs: config.epochs, stepsPerEpoch: config.stepsPerEpoch,
                                      validationData: validationBatches, progress: progress)
        let fitSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9

        let trained = trainer.model
        let main = try Self.accuracies(of: trained, shift: config.shift, config: config, stream: 3)
        let sweep = try config.sweepShifts.enumerated().map { index, shift in
            SweepRow(shift: shift, accuracies: try Self.accuracies(
                of: trained, shift: shift, config: config, stream: 100 + UInt64(index)))
        }
        return Result(configuration: config, accuracies: main, sweep: sweep, history: history,
                      weightsSHA256: Self.digest(of: trained), model: trained, fitSeconds: fitSeconds)
    }

    /// Accuracy of the trained model on a fresh test set at `shift`, in the four modes.
    static func accuracies(of model: Sequential, shift: Double, config: Configuration,
                           stream: UInt64) throws -> Accuracies {
        let test = ShiftedGaussianData(count: config.testRows, shift: shift, seed: config.seed, stream: stream)
        let x = Tensor<Float>(converting: test.features)
        let y = Tensor<Float>(converting: test.labels)
        let batchStatistics = model.withBatchNormStatistics(.batch)
        // Adapt on a separate unlabeled sample of the shifted distribution, as a deployed
        // model would, so the test rows are never used to set the statistics they are scored with.
        let unlabeled = ShiftedGaussianData(count: config.recalibrationRows, shift: shift,
                                            seed: config.seed, stream: stream + 10_000)
        let recalibrated = try model.recalibratingBatchNormalization(on: Tensor<Float>(converting: unlabeled.features))
        return Accuracies(
            inference: try accuracy(model.predict(x, batchSize: config.batchSize, mode: .inference), y),
            batchStatistics: try accuracy(batchStatistics.predict(x, batchSize: config.batchSize, mode: .inference), y),
            fullBatchStatistics: try accuracy(batchStatistics.predict(x, batchSize: x.rowCount, mode: .inference), y),
            recalibrated: try accuracy(recalibrated.predict(x, batchSize: config.batchSize, mode: .inference), y))
    }

    static func accuracy(_ predictions: Tensor<Float>, _ targets: Tensor<Float>) throws -> Double {
        var metric = BinaryAccuracy()
        try metric.update(predictions: predictions, targets: targets)
        return metric.result
    }

    /// SHA-256 over every variable's name, shape and float32 bits, in model order.
    public static func digest(of model: Sequential) -> String {
        var hash = SHA256()
        for variable in model.variables {
            hash.update(Array(variable.name.utf8) + [0])
            hash.update(variable.value.shape.flatMap { Array(String($0).utf8) + [0x2C] })
            hash.update(floats: variable.value.scalars)
        }
        return hash.finalize().hexString
    }
}
