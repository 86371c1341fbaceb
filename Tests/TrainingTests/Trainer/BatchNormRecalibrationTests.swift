import Datasets
import Testing
import Tensors
@testable import Training

@Suite struct BatchNormRecalibrationTests {
    @Test func firstLayerStatisticsAreTheExactPopulationMeanAndBiasedVariance() throws {
        let (x, _) = TrainerFixtures.gaussian(rows: 1000, seed: 5, shift: 3)
        let model = try TrainerFixtures.seedModel()
        let adapted = try model.recalibratingBatchNormalization(on: x, batchSize: 77)
        let values = x.scalars.map(Double.init)
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
        #expect(abs(Double(try adapted.variable("batch_normalization/moving_mean").scalars[0]) - mean) < 1e-5)
        #expect(abs(Double(try adapted.variable("batch_normalization/moving_variance").scalars[0]) - variance) < 1e-4)
    }

    @Test func laterLayersSeeInputsNormalizedByTheRecalibratedEarlierLayers() throws {
        let (x, _) = TrainerFixtures.gaussian(rows: 200, seed: 6, shift: 2)
        let model = try TrainerFixtures.seedModel()
        let adapted = try model.recalibratingBatchNormalization(on: x)
        // Inputs of the second BN = Dense(sigmoid) of the recalibrated first BN, in inference mode.
        let hidden = try adapted.layers[1](adapted.layers[0](x, mode: .inference), mode: .inference)
        let width = hidden.shape[1]
        for column in 0..<width {
            let values = (0..<hidden.rowCount).map { Double(hidden.scalars[$0 * width + column]) }
            let mean = values.reduce(0, +) / Double(values.count)
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
            let movingMean = try adapted.variable("batch_normalization_1/moving_mean").scalars[column]
            let movingVariance = try adapted.variable("batch_normalization_1/moving_variance").scalars[column]
            #expect(abs(Double(movingMean) - mean) < 1e-5)
            #expect(abs(Double(movingVariance) - variance) < 1e-5 + 1e-4 * variance)
        }
    }

    /// NHWC images: the statistics span every pixel of every example, per channel (before the
    /// fix the `[N, H, W, C]` activations were taken as `H`-wide rows and the layer refused them).
    @Test func imageStatisticsSpanEveryPixelPerChannel() throws {
        let model = try Sequential(inputShape: [3, 2, 2], [BatchNormalization(), Flatten(), Dense(units: 2)], seed: 1)
        let x = try Tensor<Float>(shape: [5, 3, 2, 2], scalars: (0..<60).map { Float(($0 * 17) % 23) / 4 + Float($0 % 2) * 10 })
        let adapted = try model.recalibratingBatchNormalization(on: x, batchSize: 2)
        for channel in 0..<2 {
            let values = stride(from: channel, to: 60, by: 2).map { Double(x.scalars[$0]) }
            let mean = values.reduce(0, +) / Double(values.count)
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
            #expect(abs(Double(try adapted.variable("batch_normalization/moving_mean").scalars[channel]) - mean) < 1e-5)
            #expect(abs(Double(try adapted.variable("batch_normalization/moving_variance").scalars[channel]) - variance) < 1e-4)
        }
    }

    @Test func batchCompositionDoesNotChangeTheResultAndOtherWeightsStay() throws {
        let (x, _) = TrainerFixtures.gaussian(rows: 300, seed: 8, shift: -1)
        let model = try TrainerFixtures.seedModel()
        let a = try model.recalibratingBatchNormalization(on: x, batchSize: 7)
        let b = try model.recalibratingBatchNormalization(on: x, batchSize: 300)
        for variable in a.variables {
            let other = try b.variable(variable.name)
            let diff = zip(variable.value.scalars, other.scalars).map { abs($0 - $1) }.max() ?? 0
            #expect(diff < 1e-5, "\(variable.name)")
            if !variable.name.contains("moving") {
                #expect(variable.value == (try model.variable(variable.name)), "\(variable.name) changed")
            }
        }
    }

    @Test func recalibratedInferenceMatchesBatchStatisticsOnTheSameRows() throws {
        let (x, _) = TrainerFixtures.gaussian(rows: 100, seed: 4, shift: 2)
        let model = try TrainerFixtures.seedModel()
        let adapted = try model.recalibratingBatchNormalization(on: x)
        let viaRecalibration = try adapted(x, mode: .inference)
        let viaBatchStatistics = try model.withBatchNormStatistics(.batch)(x, mode: .inference)
        let diff = zip(viaRecalibration.scalars, viaBatchStatistics.scalars).map { abs($0 - $1) }.max() ?? 1
        #expect(diff < 1e-5)
    }

    @Test func emptyDataIsAnError() throws {
        let model = try TrainerFixtures.seedModel()
        #expect(throws: TrainingError.emptyDataset(argument: "recalibration data")) {
            try model.recalibratingBatchNormalization(on: Slices([Tensor<Float>]()))
        }
    }
}
