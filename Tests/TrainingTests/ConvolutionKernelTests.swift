import Testing
import Tensors
@testable import Training

/// The `Float` fast paths the image layers train with (vector loops, kept patch matrices)
/// against the generic reference code they replace: the same results bit for bit.
@Suite struct ConvolutionKernelTests {
    /// Float scalars on a coarse grid (so windows hold ties), or normal ones.
    func floats(_ shape: [Int], seed: UInt64, coarse: Bool = false) -> Tensor<Float> {
        let values = randomTensor(shape, seed: seed).scalars.map { Float(coarse ? ($0 * 2).rounded() : $0) }
        return try! Tensor(shape: shape, scalars: values)
    }

    func bits(_ t: Tensor<Float>) -> [UInt32] { t.scalars.map(\.bitPattern) }

    struct PoolCase: Sendable, CustomStringConvertible {
        let input: [Int], window: (Int, Int), strides: (Int, Int), padding: Padding
        var description: String { "input \(input) window \(window) strides \(strides) \(padding)" }
    }

    @Test(arguments: [
        PoolCase(input: [2, 7, 6, 32], window: (2, 2), strides: (2, 2), padding: .valid),
        PoolCase(input: [2, 5, 6, 11], window: (3, 3), strides: (1, 1), padding: .same),
        PoolCase(input: [1, 6, 5, 3], window: (3, 2), strides: (2, 1), padding: .same),
        PoolCase(input: [3, 4, 4, 1], window: (4, 4), strides: (1, 1), padding: .valid),
        // 2^18 scalars and more: the batch splits into runs of images on several threads.
        PoolCase(input: [9, 30, 30, 40], window: (2, 2), strides: (2, 2), padding: .valid),
        // Overlapping windows wholly inside the image, with channels past the last multiple of 8.
        PoolCase(input: [2, 7, 9, 13], window: (3, 2), strides: (1, 2), padding: .valid),
        // Windows that tile the image (no zero fill) and windows apart from each other (uncovered cells).
        PoolCase(input: [2, 6, 9, 13], window: (2, 3), strides: (2, 3), padding: .valid),
        PoolCase(input: [2, 8, 7, 11], window: (2, 2), strides: (3, 3), padding: .valid),
    ])
    func maxPoolKernelMatchesTheReferenceBitForBit(_ c: PoolCase) throws {
        let g = try WindowGeometry(input: (c.input[1], c.input[2]), window: c.window, strides: c.strides,
                                   padding: c.padding, layer: "test")
        var x = floats(c.input, seed: 31, coarse: true)
        // A NaN first in one window and later in another: the reference keeps the first, ignores the later.
        x.withUnsafeMutableBufferPointer { $0[0] = .nan; $0[$0.count - 1] = .nan }
        let reference = PoolingMath.maxPool(x, geometry: g)
        let fast = MaxPoolKernel.forward(x, geometry: g)
        #expect(fast.output.shape == reference.output.shape)
        #expect(bits(fast.output) == bits(reference.output), "\(c)")
        let upstream = floats(reference.output.shape, seed: 32)
        let referenceGradient = PoolingMath.maxPoolBackward(upstream: upstream, argmax: reference.argmax, inputShape: x.shape)
        let fastGradient = MaxPoolKernel.backward(upstream: upstream, cells: fast.cells, inputShape: x.shape, geometry: g)
        #expect(bits(fastGradient) == bits(referenceGradient), "\(c)")
    }

    @Test func reluGradientKernelMatchesTheScalarLoop() {
        for count in [0, 1, 7, 8, 9, 31, (1 << 18) + 13] {   // the last splits into runs on several threads
            var output = floats([count], seed: UInt64(40 + count))
            if count > 2 { output.withUnsafeMutableBufferPointer { $0[1] = .nan; $0[2] = -0.0 } }
            let upstream = floats([count], seed: UInt64(60 + count))
            var reference = upstream
            Activation.relu.backward(output: output, gradient: &reference)
            let same = bits(ReLUGradientKernel.masked(upstream, output: output)) == bits(reference)   // no diff of 2^18 scalars on failure
            #expect(same, "count \(count)")
        }
    }

    @Test func reluSplitIntoRunsMatchesTheWholeLoop() {
        let count = (1 << 18) + 13   // enough for Activation.applied to split it into runs on several threads
        var x = floats([count], seed: 45)
        x.withUnsafeMutableBufferPointer { $0[3] = .nan; $0[count - 2] = -0.0; $0[count - 1] = .nan }
        var whole = [Float](repeating: 0, count: count)
        x.withUnsafeBufferPointer { source in
            whole.withUnsafeMutableBufferPointer { VectorLoops.relu(source.baseAddress!, into: $0.baseAddress!, count: count) }
        }
        let same = bits(Activation.relu.applied(to: x)) == whole.map(\.bitPattern)   // a Bool: no diff of 2^18 scalars on failure
        #expect(same)
    }

    // The last shape is large enough (2^18 scalars and more) for the passes to split their rows over threads.
    // The last shape is large enough (2^18 scalars and more) for the passes to split their rows over threads.
    @Test(arguments: [[3, 5, 4, 3], [3, 5, 4, 11], [3, 5, 4, 32], [4, 48, 48, 36]])
    func imageBatchNormalizationMatchesTheRowPathBitForBit(shape: [Int]) throws {
        let channels = shape[3]
        var layer = BatchNormalization(momentum: 0.9, name: "bn")
        _ = try layer.build(inputShape: Array(shape.dropFirst()), seed: 0)
        try layer.setVariable("gamma", to: floats([channels], seed: 71))
        try layer.setVariable("beta", to: floats([channels], seed: 72))
        let x = floats(shape, seed: 73)
        let upstream = floats(x.shape, seed: 74)
        for mode in [ExecutionMode.training, .inference] {
            let pass = try layer.forward(x, mode: mode)
            // The reference: the [N, C] math on the [N·H·W, C] rows.
            let rows = try x.reshaped(inferring: [-1, channels])
            let batch = mode == .training
            let moments = BatchNormMath.moments(rows)
            let mean = batch ? moments.mean : layer.movingMean.scalars
            let inverseStd = BatchNormMath.inverseStd(batch ? moments.variance : layer.movingVariance.scalars, epsilon: 0.001)
            let expected = BatchNormMath.normalize(rows, mean: mean, inverseStd: inverseStd,
                                                   gamma: layer.gamma.scalars, beta: layer.beta.scalars)
            #expect(bits(pass.output) == bits(expected), "\(mode)")
            if batch {
                #expect(pass.stateUpdate.variables["moving_mean"]
                        == BatchNormMath.movingAverage(layer.movingMean, following: moments.mean, momentum: 0.9))
            }
            var gradients = LayerGradients()
            let dx = try layer.backward(upstream, tape: pass.tape, gradients: &gradients, needsInputGradient: true)
            let reference = BatchNormMath.backward(x: rows, upstream: try upstream.reshaped(inferring: [-1, channels]),
                                                   mean: mean, inverseStd: inverseStd, gamma: layer.gamma.scalars,
                                                   batchStatistics: batch, wantsInput: true)
            #expect(dx?.shape == x.shape)
            #expect(bits(try #require(dx)) == bits(try #require(reference.input)), "\(mode)")
            #expect(gradients["gamma"]?.scalars.map(\.bitPattern) == reference.gamma.map(\.bitPattern))
            #expect(gradients["beta"]?.scalars.map(\.bitPattern) == reference.beta.map(\.bitPattern))
        }
    }

    @Test func conv2DLayerWithKeptPatchesMatchesTheUnfoldingBackward() throws {
        for padding in [Padding.same, .valid] {
            var layer = Conv2D(filters: 16, kernelSize: Size2D(square: 3), strides: Size2D(2, 1), padding: padding,
                               activation: .relu, name: "conv")
            _ = try layer.build(inputShape: [9, 7, 5], seed: 3)
            let x = floats([4, 9, 7, 5], seed: 81)
            let training = try layer.forward(x, mode: .training)
            let inference = try layer.forward(x, mode: .inference)
            #expect(training.tape.patches != nil)
            #expect(inference.tape.patches == nil)
            #expect(bits(training.output) == bits(inference.output))
            let upstream = floats(training.output.shape, seed: 82)
            var kept = LayerGradients(), unfolded = LayerGradients()
            let dxKept = try layer.backward(upstream, tape: training.tape, gradients: &kept, needsInputGradient: true)
            let dxUnfolded = try layer.backward(upstream, tape: inference.tape, gradients: &unfolded, needsInputGradient: true)
            #expect(bits(try #require(dxKept)) == bits(try #require(dxUnfolded)))
            #expect(bits(try #require(kept["kernel"])) == bits(try #require(unfolded["kernel"])))
            // The bias gradient's vector sums against Tensor's column sums of the relu-masked upstream.
            let dz = ReLUGradientKernel.masked(upstream, output: training.output)
            #expect(bits(try #require(kept["bias"])) == bits(try dz.sumOverChannels()))
        }
    }

    @Test func aCNNTrainingStepIsBitwiseReproducible() throws {
        // Buffers are no longer zero-filled before they are written: a read of one before its
        // write would show here as steps that differ (the second step reuses freed memory).
        let model = try Sequential(inputShape: [12, 12, 1], [
            Conv2D(filters: 8, kernelSize: Size2D(square: 3), padding: .same), BatchNormalization(), ReLU(),
            MaxPooling2D(poolSize: Size2D(square: 2)),
            Conv2D(filters: 16, kernelSize: Size2D(square: 3)), BatchNormalization(), ReLU(),
            MaxPooling2D(poolSize: Size2D(square: 2)), Flatten(), Dense(units: 3, activation: .softmax),
        ], seed: 5)
        let x = floats([6, 12, 12, 1], seed: 91)
        let y = Tensor<Float>([0, 1, 2, 0, 1, 2])
        let first = try model.trainingStep(x: x, y: y, loss: .sparseCategoricalCrossentropy)
        let second = try model.trainingStep(x: x, y: y, loss: .sparseCategoricalCrossentropy)
        #expect(first.loss.bitPattern == second.loss.bitPattern)
        #expect(first.gradients == second.gradients)
        #expect(first.stateUpdate == second.stateUpdate)
    }
}
