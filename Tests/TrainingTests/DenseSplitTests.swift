import Testing
@testable import Tensors
import Training

/// The BN MLP (784-256-256-10, batch 128, Adam) trained with its large products split over
/// two threads of our own (``BLASThreads/splitsLargeProducts``) ends bit for bit where the
/// same steps end with every product unsplit on one thread.
@Suite struct DenseSplitTests {
    static func trainedVariables(steps: Int) throws -> [NamedVariable] {
        var model = try Sequential(inputFeatures: 784, [
            Dense(units: 256), BatchNormalization(), ActivationLayer(.relu),
            Dense(units: 256), BatchNormalization(), ActivationLayer(.relu),
            Dense(units: 10, activation: .softmax),
        ], seed: 3)
        var optimizer = Adam()
        var rng = SplitMix64(seed: 4)
        var spare: Gradients?
        for _ in 0..<steps {
            let x = try Tensor<Float>(shape: [128, 784], scalars: (0..<(128 * 784)).map { _ in Float(rng.nextNormal()) })
            let y = Tensor<Float>((0..<128).map { _ in Float(rng.nextIndex(below: 10)) })
            let step = try model.trainingStep(x: x, y: y, loss: .sparseCategoricalCrossentropy, reusing: spare.take())
            try model.apply(step.stateUpdate)
            try optimizer.apply(step.gradients, to: &model)
            spare = step.gradients
        }
        return model.variables
    }

    @Test func splitProductsTrainTheMLPAsOneThreadDoes() throws {
        // Every product above OpenBLAS's own one-thread limit in two parts (the step's five
        // large ones and its 0.3-million multiply-add ones), whatever other suites set meanwhile.
        let split = try BLASThreads.$forcedParts.withValue(2) { try Self.trainedVariables(steps: 3) }
        let unsplit = try BLASThreads.onOneThread { try Self.trainedVariables(steps: 3) }
        #expect(split.count == unsplit.count)
        for (s, u) in zip(split, unsplit) {
            #expect(s.name == u.name)
            #expect(s.value.scalars.map(\.bitPattern) == u.value.scalars.map(\.bitPattern), "\(s.name)")
        }
    }
}
