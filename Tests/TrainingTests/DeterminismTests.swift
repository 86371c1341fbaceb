import Testing
import Tensors
@testable import Training

@Suite struct DeterminismTests {
    static func train(seed: UInt64) throws -> [NamedVariable] {
        var model = try Sequential(inputFeatures: 4, [
            Dense(units: 8, activation: .relu), BatchNormalization(), Dropout(rate: 0.2),
            Dense(units: 3, activation: .softmax),
        ], seed: seed)
        var adam = Adam()
        var rng = SplitMix64(seed: 99)
        for _ in 0..<20 {
            let x = try Tensor<Float>(shape: [16, 4], scalars: (0..<64).map { _ in Float(rng.nextNormal()) })
            let y = Tensor<Float>((0..<16).map { _ in Float(rng.nextIndex(below: 3)) })
            let step = try model.trainingStep(x: x, y: y, loss: .sparseCategoricalCrossentropy)
            try model.apply(step.stateUpdate)
            try adam.apply(step.gradients, to: &model)
        }
        return model.variables
    }

    @Test func sameSeedsGiveBitwiseIdenticalWeights() throws {
        let a = try Self.train(seed: 1), b = try Self.train(seed: 1)
        #expect(a == b)
        #expect(a != (try Self.train(seed: 2)))
    }

    @Test func glorotUniformKernelHasKerasLimitAndVariance() throws {
        let model = try Sequential(inputFeatures: 400, [Dense(units: 600)], seed: 3)
        let kernel = try model.variable("dense/kernel")
        let limit = Float((6.0 / 1000).squareRoot())   // 0.07746
        #expect(kernel.maxAbsolute <= limit && kernel.maxAbsolute > 0.999 * limit)
        let variance = kernel.scalars.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(kernel.scalarCount)
        #expect(abs(variance - Double(limit * limit) / 3) < 2e-5)
        #expect(try model.variable("dense/bias").scalars.allSatisfy { $0 == 0 })
    }
}
