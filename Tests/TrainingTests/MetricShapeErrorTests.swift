import Testing
import Tensors
@testable import Training

/// Metrics and losses called directly with predictions that are not `[N, C]` or targets of
/// another length: each is `TrainingError.targetsMismatch` naming the metric (or loss) and
/// both shapes, and a refused batch leaves the metric's running value unchanged. A model's
/// own output check shadows these inside `fit`; callers of the public metric API reach them.
@Suite("Metrics and losses on misfitting shapes name the metric and both shapes")
struct MetricShapeErrorTests {
    static let column = try! Tensor<Float>(shape: [4, 1], scalars: [0.9, 0.1, 0.8, 0.2])
    static let labels = try! Tensor<Float>(shape: [4, 1], scalars: [1, 0, 1, 1])

    @Test("binary accuracy on rank-1 predictions or targets of another length")
    func binaryAccuracy() throws {
        var accuracy = BinaryAccuracy(name: "acc")
        #expect(throws: TrainingError.targetsMismatch(loss: "acc", predictions: [4], targets: [4, 1])) {
            try accuracy.update(predictions: Tensor([0.9, 0.1, 0.8, 0.2]), targets: Self.labels)
        }
        #expect(throws: TrainingError.targetsMismatch(loss: "acc", predictions: [4, 1], targets: [3, 1])) {
            try accuracy.update(predictions: Self.column, targets: Tensor(repeating: 1, shape: [3, 1]))
        }
        #expect(accuracy.result == 0, "refused batches are not counted")
        try accuracy.update(predictions: Self.column, targets: Self.labels)
        #expect(accuracy.result == 0.75)
    }

    @Test("sparse categorical accuracy with one label per class instead of per row")
    func sparseCategoricalAccuracy() throws {
        var accuracy = SparseCategoricalAccuracy()
        let scores = try Tensor<Float>(shape: [2, 3], scalars: [0.1, 0.8, 0.1, 0.7, 0.2, 0.1])
        #expect(throws: TrainingError.targetsMismatch(loss: "accuracy", predictions: [2, 3], targets: [2, 3])) {
            try accuracy.update(predictions: scores, targets: Tensor(repeating: 0, shape: [2, 3]))
        }
        #expect(TrainingError.targetsMismatch(loss: "accuracy", predictions: [2, 3], targets: [2, 3]).localizedDescription
                == "accuracy: targets of shape [2, 3] do not fit predictions of shape [2, 3]")
        try accuracy.update(predictions: scores, targets: Tensor([1, 0]))
        #expect(accuracy.result == 1)
    }

    @Test("a loss on rank-1 or empty predictions names the loss and both shapes")
    func lossPredictions() throws {
        #expect(throws: TrainingError.targetsMismatch(loss: "binary_crossentropy", predictions: [4], targets: [4, 1])) {
            try Loss.binaryCrossentropy.valueAndGradient(predictions: Tensor([0.9, 0.1, 0.8, 0.2]), targets: Self.labels)
        }
        #expect(throws: TrainingError.targetsMismatch(loss: "mean_squared_error", predictions: [0, 1], targets: [0, 1])) {
            try Loss.meanSquaredError.valueAndGradient(predictions: Tensor(zeros: [0, 1]), targets: Tensor(zeros: [0, 1]))
        }
        #expect(try Loss.binaryCrossentropy.valueAndGradient(predictions: Self.column, targets: Self.labels).value > 0)
    }
}
