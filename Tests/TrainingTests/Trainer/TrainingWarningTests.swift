import Datasets
import Testing
import Tensors
@testable import Training

/// A softmax/sigmoid output with a `fromLogits: true` loss (issue 13, item 10): `fit` warns
/// once, through its progress output and ``Trainer/warnings``, and only in that case —
/// Keras 3's rule (`_get_logits` in `backend/tensorflow/nn.py`).
@Suite struct TrainingWarningTests {
    /// Ten classes, so that the mismatch shows as Keras users know it: a loss stuck near ln 10.
    static let classes = 10
    static let rows = 200

    static func data(outputs: Int) throws -> some Dataset<Trainer.Batch> {
        var rng = SplitMix64(seed: 5)
        let x = (0..<rows * 4).map { _ in Float(rng.nextNormal()) }
        let labels: [Float] = (0..<rows).map { row in
            outputs == 1 ? (x[row * 4] > 0 ? 1 : 0) : Float(Int((x[row * 4] + 3) * 10 / 6).clamped(0, classes - 1))
        }
        let y = outputs == 1 ? try Tensor(shape: [rows, 1], scalars: labels) : Tensor(labels)
        return try Slices(Tensor(shape: [rows, 4], scalars: x), y).batch(50)
    }

    /// Fits three epochs with `progress` and returns the trainer and what it printed.
    static func fit(last activation: Activation, outputs: Int, loss: Loss, progress: ProgressStyle = .lines)
        throws -> (Trainer, [String]) {
        let model = try Sequential(inputFeatures: 4, [Dense(units: 16, activation: .relu),
                                                      Dense(units: outputs, activation: activation)], seed: 3)
        var trainer = Trainer(model: model, optimizer: Adam(learningRate: 0.01), loss: loss)
        let printed = Recorder<String>()
        trainer.progressOutput = { printed.append($0) }
        try trainer.fit(data(outputs: outputs), epochs: 3, progress: progress)
        return (trainer, printed.values.joined().split(separator: "\n").map(String.init))
    }

    @Test func aSoftmaxOutputWithALogitsLossIsWarnedAboutOnce() throws {
        let (trainer, lines) = try Self.fit(last: .softmax, outputs: Self.classes,
                                            loss: .sparseCategoricalCrossentropy(fromLogits: true))
        let expected = TrainingWarning.probabilitiesTreatedAsLogits(loss: "sparse_categorical_crossentropy",
                                                                    layer: "dense_1", activation: .softmax)
        #expect(trainer.warnings == [expected])
        #expect(lines.filter { $0.hasPrefix("Warning:") } == ["Warning: \(expected)"])
        #expect(lines.first == "Warning: \(expected)")
        #expect(lines.count == 4)     // the warning, then one line per epoch
        #expect(expected.description.contains("fromLogits: false"))
        // What the warning is about: the loss barely leaves ln 10.
        let loss = try #require(trainer.evaluate(Self.data(outputs: Self.classes))["loss"])
        #expect(abs(loss - 2.302585) < 0.05)
    }

    @Test(arguments: [(Activation.softmax, Loss.categoricalCrossentropy(fromLogits: true)),
                      (.sigmoid, .sparseCategoricalCrossentropy(fromLogits: true))])
    func everyLogitsCrossentropyOnAnActivatedOutputIsWarnedAbout(activation: Activation, loss: Loss) throws {
        let trainer = Trainer(model: try Sequential(inputFeatures: 4, [Dense(units: 3, activation: activation)]),
                              optimizer: SGD(), loss: loss)
        #expect(TrainingWarning.check(model: trainer.model, loss: trainer.loss)
            == [.probabilitiesTreatedAsLogits(loss: loss.kerasName, layer: "dense", activation: activation)])
    }

    @Test func aSigmoidOutputWithALogitsBinaryLossIsWarnedAboutEvenWhenQuiet() throws {
        let (trainer, lines) = try Self.fit(last: .sigmoid, outputs: 1, loss: .binaryCrossentropy(fromLogits: true),
                                            progress: .quiet)
        #expect(trainer.warnings == [.probabilitiesTreatedAsLogits(loss: "binary_crossentropy", layer: "dense_1",
                                                                    activation: .sigmoid)])
        #expect(lines.isEmpty)
    }

    @Test(arguments: [(Activation.softmax, Loss.sparseCategoricalCrossentropy, classes), // probabilities, said so
                      (.linear, .sparseCategoricalCrossentropy(fromLogits: true), classes), // logits, said so
                      (.linear, .sparseCategoricalCrossentropy, classes),            // Keras does not warn either
                      (.sigmoid, .binaryCrossentropy, 1),
                      (.linear, .binaryCrossentropy(fromLogits: true), 1),
                      (.sigmoid, .meanSquaredError, 1)])
    func matchingOutputsAndLossesAreNotWarnedAbout(activation: Activation, loss: Loss, outputs: Int) throws {
        let (trainer, lines) = try Self.fit(last: activation, outputs: outputs, loss: loss)
        #expect(trainer.warnings.isEmpty)
        #expect(lines.count == 3)
        #expect(!lines.contains { $0.contains("Warning") })
    }

    @Test func aSecondFitWarnsOnceAgainWithoutPilingUp() throws {
        var (trainer, _) = try Self.fit(last: .softmax, outputs: Self.classes,
                                        loss: .sparseCategoricalCrossentropy(fromLogits: true))
        let printed = Recorder<String>()
        trainer.progressOutput = { printed.append($0) }
        try trainer.fit(Self.data(outputs: Self.classes), epochs: 2, progress: .lines)
        #expect(trainer.warnings.count == 1)
        #expect(printed.values.joined().components(separatedBy: "Warning:").count == 2)
    }
}

private extension Int {
    func clamped(_ low: Int, _ high: Int) -> Int { Swift.min(Swift.max(self, low), high) }
}
