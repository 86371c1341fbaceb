import Testing
import Tensors
@testable import Training

@Suite struct MetricTests {
    @Test func binaryAccuracyThresholdIsStrict() throws {
        // Keras: y = [1, 0, 1, 0], p = [0.5, 0.5, 0.5000001, 0.4999] → [0, 1, 1, 1].
        var accuracy = BinaryAccuracy()
        try accuracy.update(predictions: Tensor<Float>([0.5, 0.5, 0.5000001, 0.4999]).reshaped(to: [4, 1]),
                            targets: Tensor([1, 0, 1, 0]).reshaped(to: [4, 1]))
        #expect(accuracy.result == 0.75)
    }

    @Test func accuraciesAccumulateOverBatchesWeightedBySize() throws {
        var accuracy = SparseCategoricalAccuracy()
        // Batch 1 (3 rows): argmax 1, 0 (tie → first), 2 vs labels 1, 1, 2 → 2 right.
        try accuracy.update(predictions: try Tensor(shape: [3, 3], scalars: [0, 1, 0, 0.5, 0.5, 0, 0.1, 0.2, 0.7]),
                            targets: Tensor([1, 1, 2]))
        // Batch 2 (1 row): wrong.
        try accuracy.update(predictions: Tensor<Float>([1, 0, 0]).reshaped(to: [1, 3]), targets: Tensor([2]))
        #expect(accuracy.result == 0.5)
        accuracy.reset()
        #expect(accuracy.result == 0)
    }

    @Test func categoricalAccuracyComparesArgmaxes() throws {
        var accuracy = CategoricalAccuracy()
        try accuracy.update(predictions: try Tensor(shape: [2, 2], scalars: [0.2, 0.8, 0.6, 0.4]),
                            targets: try Tensor(shape: [2, 2], scalars: [0, 1, 0, 1]))
        #expect(accuracy.result == 0.5)
        #expect(throws: TrainingError.self) {
            try accuracy.update(predictions: Tensor(zeros: [2, 2]), targets: Tensor(zeros: [2]))
        }
    }

    @Test func meanMetricIsWeighted() {
        var loss = MeanMetric(name: "loss")
        loss.update(value: 0.5, weight: 32)
        loss.update(value: 0.2, weight: 8)
        #expect(abs(loss.result - 0.44) < 1e-12)
    }

    @Test func accuracyResolvesLikeKerasCompile() {
        #expect(kerasAccuracy(outputFeatures: 1, loss: .binaryCrossentropy) is BinaryAccuracy)
        #expect(kerasAccuracy(outputFeatures: 4, loss: .sparseCategoricalCrossentropy) is SparseCategoricalAccuracy)
        #expect(kerasAccuracy(outputFeatures: 4, loss: .categoricalCrossentropy) is CategoricalAccuracy)
    }
}
