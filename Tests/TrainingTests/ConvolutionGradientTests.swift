import Testing
import Tensors
@testable import Training

/// Finite-difference checks (in Double) of every convolution, pooling and padding backward:
/// for an arbitrary upstream gradient r, ∂(Σ r·f(x))/∂x must equal the analytic gradient.
@Suite struct ConvolutionGradientTests {
    struct PoolCase: Sendable, CustomStringConvertible {
        let window: (Int, Int), strides: (Int, Int), padding: Padding
        var description: String { "window \(window) strides \(strides) \(padding)" }
    }

    struct ConvCase: Sendable, CustomStringConvertible {
        let input: [Int], kernel: (Int, Int), filters: Int, strides: (Int, Int), dilation: (Int, Int), padding: Padding
        var description: String { "input \(input) kernel \(kernel) strides \(strides) dilation \(dilation) \(padding)" }
    }

    static let convCases = [
        ConvCase(input: [2, 5, 5, 2], kernel: (3, 3), filters: 3, strides: (1, 1), dilation: (1, 1), padding: .same),
        ConvCase(input: [2, 5, 4, 2], kernel: (3, 2), filters: 2, strides: (2, 2), dilation: (1, 1), padding: .same),
        ConvCase(input: [1, 6, 7, 1], kernel: (2, 2), filters: 2, strides: (1, 1), dilation: (2, 2), padding: .same),
        ConvCase(input: [2, 6, 5, 3], kernel: (2, 3), filters: 2, strides: (2, 1), dilation: (1, 1), padding: .valid),
        ConvCase(input: [1, 7, 6, 2], kernel: (2, 2), filters: 3, strides: (1, 1), dilation: (2, 3), padding: .valid),
    ]

    func geometry(_ c: ConvCase) throws -> WindowGeometry {
        try WindowGeometry(input: (c.input[1], c.input[2]), window: c.kernel, strides: c.strides,
                           dilation: c.dilation, padding: c.padding, layer: "test")
    }

    @Test(arguments: convCases)
    func conv2DBackwardMatchesFiniteDifferences(_ c: ConvCase) throws {
        let g = try geometry(c)
        let x = randomTensor(c.input, seed: 1)
        let kernel = randomTensor([c.kernel.0, c.kernel.1, c.input[3], c.filters], seed: 2)
        let bias = randomTensor([c.filters], seed: 3)
        let y = ConvolutionMath.conv2D(x, kernel: kernel, bias: bias, geometry: g)
        #expect(y.shape == [c.input[0], g.outputHeight, g.outputWidth, c.filters])
        let r = randomTensor(y.shape, seed: 4)
        let analytic = ConvolutionMath.conv2DBackward(x: x, kernel: kernel, upstream: r, geometry: g,
                                                      wantsParameters: true, wantsBias: true, wantsInput: true)
        let dx = numericalGradient(of: x) { weightedSum(ConvolutionMath.conv2D($0, kernel: kernel, bias: bias, geometry: g), r) }
        let dk = numericalGradient(of: kernel) { weightedSum(ConvolutionMath.conv2D(x, kernel: $0, bias: bias, geometry: g), r) }
        let db = numericalGradient(of: bias) { weightedSum(ConvolutionMath.conv2D(x, kernel: kernel, bias: $0, geometry: g), r) }
        #expect(relativeError(analytic.input!, dx) < 1e-7, "\(c)")
        #expect(relativeError(analytic.kernel!, dk) < 1e-7, "\(c)")
        #expect(relativeError(analytic.bias!, db) < 1e-7, "\(c)")
    }

    @Test func conv2DMatchesADirectSumAtEveryOutput() throws {
        // An independent reference: the textbook definition, one output at a time.
        let c = Self.convCases[1]
        let g = try geometry(c)
        let x = randomTensor(c.input, seed: 5), kernel = randomTensor([3, 2, 2, 2], seed: 6)
        let y = ConvolutionMath.conv2D(x, kernel: kernel, bias: nil, geometry: g)
        // Keras "same" with input 5x4, kernel 3x2, stride 2: output 3x2, padding 2 rows (1 top,
        // 1 bottom) and 1 column (0 left, 1 right).
        #expect((g.outputHeight, g.outputWidth, g.padTop, g.padLeft) == (3, 2, 1, 0))
        var worst = 0.0
        for n in 0..<2 { for oh in 0..<3 { for ow in 0..<2 { for f in 0..<2 {
            var total = 0.0
            for ki in 0..<3 { for kj in 0..<2 { for ci in 0..<2 {
                let ih = oh * 2 - 1 + ki, iw = ow * 2 + kj
                if ih >= 0, ih < 5, iw >= 0, iw < 4 { total += x[n, ih, iw, ci] * kernel[ki, kj, ci, f] }
            } } }
            worst = max(worst, abs(total - y[n, oh, ow, f]))
        } } } }
        #expect(worst < 1e-12)
    }

    @Test func chunkedBatchesGiveTheSameConvolutionAsOnePass() throws {
        // Enough images that the patch budget splits the batch into several chunks.
        let g = try WindowGeometry(input: (16, 16), window: (3, 3), strides: (1, 1), padding: .same, layer: "test")
        let images = ConvolutionMath.patchBudget / (256 * 27) + 3
        #expect(ConvolutionMath.imagesPerChunk(rowsPerImage: 256, width: 27, batch: images) < images)
        let x = randomTensor([images, 16, 16, 3], seed: 7), kernel = randomTensor([3, 3, 3, 2], seed: 8)
        let y = ConvolutionMath.conv2D(x, kernel: kernel, bias: nil, geometry: g)
        let r = randomTensor(y.shape, seed: 9)
        let whole = ConvolutionMath.conv2DBackward(x: x, kernel: kernel, upstream: r, geometry: g,
                                                   wantsParameters: true, wantsBias: false, wantsInput: true)
        var kernelSum = Tensor<Double>(zeros: kernel.shape)
        for n in [0, images - 1] {
            let xi = try x.rows(n..<(n + 1)), ri = try r.rows(n..<(n + 1))
            #expect(relativeError(try y.rows(n..<(n + 1)), ConvolutionMath.conv2D(xi, kernel: kernel, bias: nil, geometry: g)) < 1e-12)
            let one = ConvolutionMath.conv2DBackward(x: xi, kernel: kernel, upstream: ri, geometry: g,
                                                     wantsParameters: true, wantsBias: false, wantsInput: true)
            #expect(relativeError(try whole.input!.rows(n..<(n + 1)), one.input!) < 1e-12)
        }
        for n in 0..<images {
            let one = ConvolutionMath.conv2DBackward(x: try x.rows(n..<(n + 1)), kernel: kernel, upstream: try r.rows(n..<(n + 1)),
                                                     geometry: g, wantsParameters: true, wantsBias: false, wantsInput: false)
            try kernelSum.addProduct(1, one.kernel!)
        }
        #expect(relativeError(whole.kernel!, kernelSum) < 1e-12)
    }

    @Test(arguments: [
        ConvCase(input: [2, 5, 4, 3], kernel: (3, 3), filters: 2, strides: (2, 2), dilation: (1, 1), padding: .same),
        ConvCase(input: [1, 6, 6, 2], kernel: (2, 3), filters: 1, strides: (1, 1), dilation: (2, 2), padding: .valid),
    ])
    func depthwiseBackwardMatchesFiniteDifferences(_ c: ConvCase) throws {
        let g = try geometry(c)
        let multiplier = c.filters
        let x = randomTensor(c.input, seed: 11)
        let kernel = randomTensor([c.kernel.0, c.kernel.1, c.input[3], multiplier], seed: 12)
        let bias = randomTensor([c.input[3] * multiplier], seed: 13)
        let y = ConvolutionMath.depthwiseConv2D(x, kernel: kernel, bias: bias, geometry: g)
        let r = randomTensor(y.shape, seed: 14)
        let analytic = ConvolutionMath.depthwiseConv2DBackward(x: x, kernel: kernel, upstream: r, geometry: g,
                                                               wantsParameters: true, wantsBias: true, wantsInput: true)
        let dx = numericalGradient(of: x) { weightedSum(ConvolutionMath.depthwiseConv2D($0, kernel: kernel, bias: bias, geometry: g), r) }
        let dk = numericalGradient(of: kernel) { weightedSum(ConvolutionMath.depthwiseConv2D(x, kernel: $0, bias: bias, geometry: g), r) }
        let db = numericalGradient(of: bias) { weightedSum(ConvolutionMath.depthwiseConv2D(x, kernel: kernel, bias: $0, geometry: g), r) }
        #expect(relativeError(analytic.input!, dx) < 1e-7, "\(c)")
        #expect(relativeError(analytic.kernel!, dk) < 1e-7, "\(c)")
        #expect(relativeError(analytic.bias!, db) < 1e-7, "\(c)")
    }

    @Test(arguments: [PoolCase(window: (2, 2), strides: (2, 2), padding: .valid), PoolCase(window: (3, 3), strides: (2, 2), padding: .same),
                      PoolCase(window: (2, 3), strides: (1, 1), padding: .same), PoolCase(window: (3, 2), strides: (1, 2), padding: .valid)])
    func poolingBackwardsMatchFiniteDifferences(_ c: PoolCase) throws {
        let x = randomTensor([2, 5, 6, 3], seed: 21)
        let g = try WindowGeometry(input: (5, 6), window: c.window, strides: c.strides, padding: c.padding, layer: "test")
        let (maxY, argmax) = PoolingMath.maxPool(x, geometry: g)
        let r = randomTensor(maxY.shape, seed: 22)
        let maxAnalytic = PoolingMath.maxPoolBackward(upstream: r, argmax: argmax, inputShape: x.shape)
        let maxNumeric = numericalGradient(of: x) { weightedSum(PoolingMath.maxPool($0, geometry: g).output, r) }
        #expect(relativeError(maxAnalytic, maxNumeric) < 1e-7)
        let avgAnalytic = PoolingMath.averagePoolBackward(upstream: r, inputShape: x.shape, geometry: g)
        let avgNumeric = numericalGradient(of: x) { weightedSum(PoolingMath.averagePool($0, geometry: g), r) }
        #expect(relativeError(avgAnalytic, avgNumeric) < 1e-7)
    }

    @Test func globalPoolingAndZeroPaddingBackwardsMatchFiniteDifferences() {
        let x = randomTensor([2, 3, 4, 3], seed: 31)
        let r = randomTensor([2, 3], seed: 32)
        let avg = PoolingMath.globalAveragePoolBackward(upstream: r, inputShape: x.shape)
        #expect(relativeError(avg, numericalGradient(of: x) { weightedSum(PoolingMath.globalAveragePool($0), r) }) < 1e-7)
        let (_, argmax) = PoolingMath.globalMaxPool(x)
        let max = PoolingMath.maxPoolBackward(upstream: r, argmax: argmax, inputShape: x.shape)
        #expect(relativeError(max, numericalGradient(of: x) { weightedSum(PoolingMath.globalMaxPool($0).output, r) }) < 1e-7)
        let padded = randomTensor([2, 3 + 1 + 2, 4 + 0 + 3, 3], seed: 33)
        let pad = PoolingMath.zeroPadBackward(upstream: padded, top: 1, left: 0, inputShape: x.shape)
        #expect(relativeError(pad, numericalGradient(of: x) {
            weightedSum(PoolingMath.zeroPad($0, top: 1, bottom: 2, left: 0, right: 3), padded)
        }) < 1e-7)
    }

    @Test func batchNormOnNHWCViewedAsRowsMatchesFiniteDifferences() throws {
        // BatchNormalization over the channels of [N, H, W, C] is BatchNormMath on [N·H·W, C].
        let x = randomTensor([2, 3, 2, 3], seed: 41, scale: 2, offset: 1)
        let gamma = randomTensor([3], seed: 42).scalars, beta = randomTensor([3], seed: 43).scalars
        let r = randomTensor(x.shape, seed: 44)
        func forward(_ x: Tensor<Double>) -> Tensor<Double> {
            let rows = try! x.reshaped(inferring: [-1, 3])
            let moments = BatchNormMath.moments(rows)
            let inv = BatchNormMath.inverseStd(moments.variance, epsilon: 1e-3)
            return try! BatchNormMath.normalize(rows, mean: moments.mean, inverseStd: inv, gamma: gamma, beta: beta).reshaped(to: x.shape)
        }
        let rows = try x.reshaped(inferring: [-1, 3])
        let moments = BatchNormMath.moments(rows)
        let analytic = BatchNormMath.backward(x: rows, upstream: try r.reshaped(inferring: [-1, 3]), mean: moments.mean,
                                              inverseStd: BatchNormMath.inverseStd(moments.variance, epsilon: 1e-3),
                                              gamma: gamma, batchStatistics: true, wantsInput: true)
        let numeric = numericalGradient(of: x) { weightedSum(forward($0), r) }
        #expect(relativeError(try analytic.input!.reshaped(to: x.shape), numeric) < 1e-7)
    }
}
