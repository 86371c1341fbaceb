import Datasets
import Testing
import Tensors
import Training

/// The README's quick start, verbatim apart from the checks, so the documentation cannot rot.
@Suite struct ReadmeQuickStartTests {
    @Test func theQuickStartRunsAndTrains() throws {
        let x = try Tensor<Double>(shape: [4, 1], scalars: [-1.5, 0.3, 2.0, -0.2])
        let y = try Tensor<Double>(shape: [4, 1], scalars: [0, 1, 1, 0])
        let train = try Slices(x, y)
            .shuffle(bufferSize: 4, seed: 18).repeat().batch(2)
            .map { (Tensor<Float>(converting: $0.0), Tensor<Float>(converting: $0.1)) }
            .prefetch(2)
        var trainer = Trainer(model: try Sequential(inputFeatures: 1, [
            BatchNormalization(), Dense(units: 8, activation: .sigmoid),
            BatchNormalization(), Dense(units: 1, activation: .sigmoid)], seed: 18),
            optimizer: Adam(), loss: .binaryCrossentropy)
        let history = try trainer.fit(train, epochs: 3, stepsPerEpoch: 10, progress: .quiet)
        let adapted = try trainer.model.recalibratingBatchNormalization(on: Tensor<Float>(converting: x))
        let p = try adapted(Tensor<Float>(converting: x), mode: .inference)
        #expect(history.epochs == [0, 1, 2])
        #expect(p.shape == [4, 1])
        #expect(p.scalars.allSatisfy { $0 > 0 && $0 < 1 })
    }
}
