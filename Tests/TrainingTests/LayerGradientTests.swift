import Testing
import Tensors
@testable import Training

/// Finite-difference checks of each layer's backward math, in Double.
@Suite struct LayerGradientTests {
    @Test(arguments: Activation.allCases)
    func denseBackwardMatchesFiniteDifferences(activation: Activation) throws {
        let x = randomTensor([5, 3], seed: 1)
        let w = randomTensor([3, 4], seed: 2, scale: 0.7)
        let b = randomTensor([4], seed: 3, scale: 0.3)
        let r = randomTensor([5, 4], seed: 4)
        func f(_ x: Tensor<Double>, _ w: Tensor<Double>, _ b: Tensor<Double>) -> Double {
            var z = DenseMath.affine(x, kernel: w, bias: b)
            activation.apply(inPlace: &z)
            return weightedSum(z, r)
        }
        var y = DenseMath.affine(x, kernel: w, bias: b)
        activation.apply(inPlace: &y)
        var dz = r
        activation.backward(output: y, gradient: &dz)
        var dKernel: Tensor<Double>?, dBias: Tensor<Double>?
        let dx = DenseMath.backward(x: x, kernel: w, dz: dz, kernelGradient: &dKernel, biasGradient: &dBias,
                                    wantsParameters: true, wantsBias: true, wantsInput: true)
        #expect(relativeError(dKernel!, numericalGradient(of: w) { f(x, $0, b) }) < 1e-7)
        #expect(relativeError(dBias!, numericalGradient(of: b) { f(x, w, $0) }) < 1e-7)
        #expect(relativeError(dx!, numericalGradient(of: x) { f($0, w, b) }) < 1e-7)
    }

    @Test func activationsMatchTheirClosedForms() {
        var z = try! Tensor<Float>(shape: [1, 3], scalars: [1000, 1000, 999])
        Activation.softmax.apply(inPlace: &z)
        #expect(abs(z.scalars[0] - 0.4223188) < 1e-6 && abs(z.scalars[2] - 0.15536240) < 1e-6)
        var s = Tensor<Double>([-100, 0, 3]).reshapedRow()
        Activation.sigmoid.apply(inPlace: &s)
        #expect(abs(s.scalars[2] - 1 / (1 + Double.exponential(-3))) < 1e-15 && s.scalars[1] == 0.5)
        var r = Tensor<Double>([-1, 0, 2]).reshapedRow()
        Activation.relu.apply(inPlace: &r)
        #expect(r.scalars == [0, 0, 2])
    }

    @Test(arguments: [true, false])
    func batchNormBackwardMatchesFiniteDifferences(batchStatistics: Bool) throws {
        let x = randomTensor([6, 3], seed: 10, scale: 2, offset: 1)
        let gamma = randomTensor([3], seed: 11, scale: 0.3, offset: 1)
        let beta = randomTensor([3], seed: 12)
        let r = randomTensor([6, 3], seed: 13)
        let movingMean = [0.3, -0.2, 1.0], movingVariance = [0.5, 2.0, 1.5]
        let eps = 1e-3
        func f(_ x: Tensor<Double>, _ gamma: Tensor<Double>, _ beta: Tensor<Double>) -> Double {
            let (mean, variance) = batchStatistics ? BatchNormMath.moments(x) : (movingMean, movingVariance)
            let y = BatchNormMath.normalize(x, mean: mean, inverseStd: BatchNormMath.inverseStd(variance, epsilon: eps),
                                            gamma: gamma.scalars, beta: beta.scalars)
            return weightedSum(y, r)
        }
        let (mean, variance) = batchStatistics ? BatchNormMath.moments(x) : (movingMean, movingVariance)
        let g = BatchNormMath.backward(x: x, upstream: r, mean: mean,
                                       inverseStd: BatchNormMath.inverseStd(variance, epsilon: eps),
                                       gamma: gamma.scalars, batchStatistics: batchStatistics, wantsInput: true)
        #expect(relativeError(g.input!, numericalGradient(of: x) { f($0, gamma, beta) }) < 1e-7)
        #expect(relativeError(Tensor(g.gamma), numericalGradient(of: gamma) { f(x, $0, beta) }) < 1e-7)
        #expect(relativeError(Tensor(g.beta), numericalGradient(of: beta) { f(x, gamma, $0) }) < 1e-7)
    }

    @Test func batchNormTrainingForwardUsesTheBiasedVariance() {
        // Column values 1, 2, 3, 6: mean 3, biased variance 3.5 (unbiased would be 14/3).
        let x = try! Tensor<Double>(shape: [4, 1], scalars: [1, 2, 3, 6])
        let (mean, variance) = BatchNormMath.moments(x)
        #expect(mean == [3] && variance == [3.5])
        let y = BatchNormMath.normalize(x, mean: mean, inverseStd: BatchNormMath.inverseStd(variance, epsilon: 0.001),
                                        gamma: [2], beta: [0.5])
        let expected = [1.0, 2, 3, 6].map { 2 * ($0 - 3) / (3.5 + 0.001).squareRoot() + 0.5 }
        for (a, b) in zip(y.scalars, expected) { #expect(abs(a - b) < 1e-12) }
    }
}

extension Tensor where Scalar: BLASScalar {
    func reshapedRow() -> Tensor { try! reshaped(to: [1, scalarCount]) }
}
