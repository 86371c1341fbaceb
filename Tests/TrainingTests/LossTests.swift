import Testing
import Tensors
@testable import Training

@Suite struct LossTests {
    static let variants: [Loss] = [
        .binaryCrossentropy, .binaryCrossentropy(fromLogits: true),
        .categoricalCrossentropy, .categoricalCrossentropy(fromLogits: true),
        .sparseCategoricalCrossentropy, .sparseCategoricalCrossentropy(fromLogits: true),
        .meanSquaredError,
    ]

    /// Predictions inside (1e-7, 1 − 1e-7) so clipping is inactive, targets to match.
    static func inputs(for loss: Loss) -> (p: Tensor<Double>, y: Tensor<Double>) {
        var rng = SplitMix64(seed: 5)
        let n = 4, c = 3
        let raw = (0..<(n * c)).map { _ in rng.nextUniform() * 0.8 + 0.1 }
        let p = loss.fromLogits ? try! Tensor<Double>(shape: [n, c], scalars: raw.map { ($0 - 0.5) * 6 })
                                : try! Tensor<Double>(shape: [n, c], scalars: raw)
        switch loss.kind {
        case .sparseCategoricalCrossentropy:
            return (p, Tensor([2, 0, 1, 2]))
        case .categoricalCrossentropy:
            // Soft targets summing to 1 exercise the general softmax gradient.
            return (p, try! Tensor(shape: [n, c], scalars: [1, 0, 0, 0.2, 0.3, 0.5, 0, 1, 0, 0, 0, 1]))
        default:
            return (p, try! Tensor(shape: [n, c], scalars: (0..<(n * c)).map { _ in rng.nextUniform() < 0.5 ? 0 : 1 }))
        }
    }

    @Test(arguments: variants)
    func gradientMatchesFiniteDifferences(loss: Loss) throws {
        let (p, y) = Self.inputs(for: loss)
        let analytic = try LossMath.valueAndGradient(loss, predictions: p, targets: y).gradient
        let numeric = try numericalGradient(of: p) { try LossMath.valueAndGradient(loss, predictions: $0, targets: y).value }
        #expect(relativeError(analytic, numeric) < 1e-7)
    }

    @Test func binaryCrossentropyClipsLikeKeras() throws {
        // Keras: y=1, p=1e-9 → -log(1e-7) = 16.118095; y=0, p=1 → -log(1.19e-7) = 15.942385.
        let one = try Loss.binaryCrossentropy.value(predictions: Tensor<Float>([1e-9]).reshapedRow(), targets: Tensor([1]))
        let zero = try Loss.binaryCrossentropy.value(predictions: Tensor<Float>([1]).reshapedRow(), targets: Tensor([0]))
        #expect(abs(one - 16.118095) < 1e-5 && abs(zero - 15.942385) < 1e-5)
    }

    @Test func logitsFormulasMatchKerasMeasurements() throws {
        // Keras: logits [-30, 30, 2] with y [0, 0, 1] → mean 10.04231 from logits.
        let bce = try Loss.binaryCrossentropy(fromLogits: true)
            .value(predictions: try Tensor<Float>(shape: [3, 1], scalars: [-30, 30, 2]), targets: Tensor([0, 0, 1]))
        #expect(abs(bce - 10.04231) < 1e-4)
        // Sparse CE of row z = [-20, 15, 15] with y = 0 → 35.693.
        let sce = try Loss.sparseCategoricalCrossentropy(fromLogits: true)
            .value(predictions: Tensor<Float>([-20, 15, 15]).reshapedRow(), targets: Tensor([0]))
        #expect(abs(sce - 35.693147) < 1e-4)
    }

    @Test func categoricalCrossentropyRenormalizesRows() throws {
        // A row summing to 0.8 with p[y] = 0.4 gives -log(0.5) = 0.6931 (Keras measurement).
        let p = Tensor<Float>([0.4, 0.4]).reshapedRow()
        let cce = try Loss.categoricalCrossentropy.value(predictions: p, targets: Tensor([1, 0]).reshapedRow())
        let sce = try Loss.sparseCategoricalCrossentropy.value(predictions: p, targets: Tensor([0]))
        #expect(abs(cce - 0.6931472) < 1e-6 && abs(sce - 0.6931472) < 1e-6)
    }

    @Test func labelsOutsideTheClassRangeAreTypedErrors() {
        let p = Tensor<Float>([0.5, 0.5]).reshapedRow()
        #expect(throws: TrainingError.invalidLabel(loss: "sparse_categorical_crossentropy", row: 0, label: 2, classes: 2)) {
            try Loss.sparseCategoricalCrossentropy.value(predictions: p, targets: Tensor([2]))
        }
        #expect(throws: TrainingError.targetsMismatch(loss: "mean_squared_error", predictions: [1, 2], targets: [3])) {
            try Loss.meanSquaredError.value(predictions: p, targets: Tensor([1, 2, 3]))
        }
    }

    @Test("a bad sparse label is refused naming its batch row, the label and the class count",
          arguments: [(Float(-1), 1), (3, 2), (0.5, 1), (.nan, 2), (.infinity, 0)])
    func badSparseLabelNamesItsRow(label: Float, row: Int) throws {
        let p = try Tensor<Float>(shape: [3, 3], scalars: [Float](repeating: 1.0 / 3, count: 9))
        var labels: [Float] = [0, 1, 2]
        labels[row] = label
        for loss in [Loss.sparseCategoricalCrossentropy, .sparseCategoricalCrossentropy(fromLogits: true)] {
            let error = #expect(throws: TrainingError.self) {
                try loss.valueAndGradient(predictions: p, targets: Tensor(labels))
            }
            guard case let .invalidLabel(name, foundRow, foundLabel, classes) = error else {
                Issue.record("got \(String(describing: error))"); continue
            }
            #expect(name == "sparse_categorical_crossentropy" && foundRow == row && classes == 3)
            #expect(foundLabel == label || (label.isNaN && foundLabel.isNaN))
            #expect(error?.localizedDescription.contains("batch row \(row)") == true)
        }
    }
}
