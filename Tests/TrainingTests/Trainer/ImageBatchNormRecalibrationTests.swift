import Datasets
import Testing
import Tensors
@testable import Training

/// Re-calibration of BatchNormalization on NHWC images: statistics per channel over N·H·W.
@Suite struct ImageBatchNormRecalibrationTests {
    /// Conv2D(3 filters) → BN → ReLU → Conv2D(2 filters) → BN → GlobalAveragePooling2D → Dense(4):
    /// the first BN normalizes 3 channels of 5x4 pixels (a channel count different from every
    /// spatial size, so normalizing the wrong axis cannot pass).
    static func model() throws -> Sequential {
        try Sequential(inputShape: [5, 4, 2], [
            Conv2D(filters: 3, kernelSize: Size2D(square: 3), padding: .same), BatchNormalization(),
            ActivationLayer(.relu),
            Conv2D(filters: 2, kernelSize: Size2D(2, 3)), BatchNormalization(),
            GlobalAveragePooling2D(), Dense(units: 4, activation: .softmax),
        ], seed: 11)
    }

    static func images(rows: Int, seed: UInt64, shift: Float) -> Tensor<Float> {
        var generator = SplitMix64(seed: seed)
        let scalars = (0..<rows * 5 * 4 * 2).map { index in
            (generator.nextUniformFloat() * 2 - 1) + shift + Float(index % 2)   // channel 1 sits 1 higher
        }
        return try! Tensor(shape: [rows, 5, 4, 2], scalars: scalars)
    }

    @Test func firstLayerStatisticsArePerChannelOverAllPixels() throws {
        let x = Self.images(rows: 23, seed: 3, shift: 2)
        let model = try Self.model()
        let adapted = try model.recalibratingBatchNormalization(on: x, batchSize: 5)
        let h = try model.layers[0](x, mode: .inference)   // [23, 5, 4, 3]
        let channels = 3
        let mean = try adapted.variable("batch_normalization/moving_mean").scalars
        let variance = try adapted.variable("batch_normalization/moving_variance").scalars
        #expect(mean.count == channels && variance.count == channels)
        for channel in 0..<channels {
            let values = stride(from: channel, to: h.scalarCount, by: channels).map { Double(h.scalars[$0]) }
            let expectedMean = values.reduce(0, +) / Double(values.count)
            let expectedVariance = values.map { ($0 - expectedMean) * ($0 - expectedMean) }.reduce(0, +)
                / Double(values.count)
            #expect(abs(Double(mean[channel]) - expectedMean) < 1e-5, "channel \(channel)")
            #expect(abs(Double(variance[channel]) - expectedVariance) < 1e-5 + 1e-4 * expectedVariance,
                    "channel \(channel)")
        }
    }

    @Test func recalibratedInferenceMatchesBatchStatisticsOnTheSameImages() throws {
        let x = Self.images(rows: 17, seed: 9, shift: -1)
        let model = try Self.model()
        let viaRecalibration = try model.recalibratingBatchNormalization(on: x, batchSize: 4)(x, mode: .inference)
        let viaBatchStatistics = try model.withBatchNormStatistics(.batch)(x, mode: .inference)
        #expect(viaRecalibration.shape == [17, 4])
        let diff = zip(viaRecalibration.scalars, viaBatchStatistics.scalars).map { abs($0 - $1) }.max() ?? 1
        #expect(diff < 1e-5)
    }
}
