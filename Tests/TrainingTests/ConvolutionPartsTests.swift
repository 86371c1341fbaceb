import Testing
import Tensors
@testable import Training

/// A convolution whose batch is split into parts that run side by side (each product on one
/// BLAS thread) against the same convolution as one whole-batch product: the same bits,
/// forward and backward, with and without kept patches.
@Suite struct ConvolutionPartsTests {
    func floats(_ shape: [Int], seed: UInt64) -> Tensor<Float> {
        try! Tensor(shape: shape, scalars: randomTensor(shape, seed: seed).scalars.map { Float($0) })
    }

    /// How many scalars of `a` and `b` differ in their bits (a count keeps failure messages short).
    func differences(_ a: Tensor<Float>?, _ b: Tensor<Float>?) -> Int {
        guard let a, let b, a.shape == b.shape else { return -1 }
        return zip(a.scalars, b.scalars).filter { $0.bitPattern != $1.bitPattern }.count
    }

    struct PartsCase: Sendable, CustomStringConvertible {
        let input: [Int], filters: Int, window: Int, strides: Int, padding: Padding, bias: Bool
        var description: String { "input \(input) filters \(filters) window \(window) strides \(strides) \(padding) bias \(bias)" }
    }

    // Shapes whose products stay at 2^23 multiply-adds and more when split, so the automatic rule splits them.
    @Test(arguments: [
        PartsCase(input: [8, 30, 30, 16], filters: 48, window: 3, strides: 1, padding: .valid, bias: true),
        PartsCase(input: [4, 40, 40, 16], filters: 64, window: 3, strides: 1, padding: .same, bias: false),
        PartsCase(input: [6, 40, 40, 12], filters: 96, window: 4, strides: 2, padding: .same, bias: true),
        // More filters than kernel taps: the kernel gradient splits by filters, not taps.
        PartsCase(input: [8, 40, 40, 2], filters: 96, window: 3, strides: 1, padding: .same, bias: true),
    ])
    func splittingTheBatchGivesTheWholeBatchBits(_ c: PartsCase) throws {
        let g = try WindowGeometry(input: (c.input[1], c.input[2]), window: (c.window, c.window),
                                   strides: (c.strides, c.strides), padding: c.padding, layer: "test")
        let x = floats(c.input, seed: 101)
        let kernel = floats([c.window, c.window, c.input[3], c.filters], seed: 102)
        let bias = c.bias ? floats([c.filters], seed: 103) : nil
        let perImage = g.outputPositions * c.window * c.window * c.input[3] * c.filters
        let automatic = ConvolutionMath.automaticParts(images: c.input[0], perImage: perImage, chunk: c.input[0])
        #expect(automatic > 1, "\(c)")
        for keeping in [true, false] {
            let whole = ConvolutionMath.conv2D(x, kernel: kernel, bias: bias, geometry: g, keepingPatches: keeping, imageParts: 1)
            let upstream = floats(whole.output.shape, seed: 104)
            let wholeBackward = ConvolutionMath.conv2DBackward(
                x: x, kernel: kernel, upstream: upstream, geometry: g, patches: whole.patches,
                wantsParameters: true, wantsBias: true, wantsInput: true, imageParts: 1)
            for parts in 2...max(2, automatic) {
                let split = ConvolutionMath.conv2D(x, kernel: kernel, bias: bias, geometry: g, keepingPatches: keeping, imageParts: parts)
                #expect(differences(split.output, whole.output) == 0, "\(c) parts \(parts) keeping \(keeping)")
                #expect(split.patches?.map(\.bitPattern) == whole.patches?.map(\.bitPattern), "\(c) parts \(parts)")
                let splitBackward = ConvolutionMath.conv2DBackward(
                    x: x, kernel: kernel, upstream: upstream, geometry: g, patches: split.patches,
                    wantsParameters: true, wantsBias: true, wantsInput: true, imageParts: parts)
                #expect(differences(splitBackward.input, wholeBackward.input) == 0, "\(c) parts \(parts) keeping \(keeping)")
                #expect(differences(splitBackward.kernel, wholeBackward.kernel) == 0, "\(c) parts \(parts) keeping \(keeping)")
                #expect(differences(splitBackward.bias, wholeBackward.bias) == 0)
            }
        }
    }

    @Test func onlyConvolutionsWhoseSplitProductsStayLargeAreSplit() {
        // The digits CNN's second convolution: 32 images of 16 positions x 144 x 32.
        #expect(ConvolutionMath.automaticParts(images: 32, perImage: 16 * 144 * 32, chunk: 32) == 1)
        // The MNIST-shape CNN: the first convolution in 2 parts of 64 images, the second in 4
        // (its input gradient unfolds at most 120 images per product; the last product holds 8).
        #expect(ConvolutionMath.automaticParts(images: 128, perImage: 676 * 9 * 32, chunk: 128) == 2)
        #expect(ConvolutionMath.automaticParts(images: 128, perImage: 121 * 288 * 64, chunk: 128) == 4)
        #expect(ConvolutionMath.automaticParts(images: 128, perImage: 121 * 288 * 64, chunk: 120) == 4)
        // Kernel gradients in runs: the MNIST-shape CNN's first by 2 x 16 filters (9 taps), its second
        // by 4 x 72 of its 288 taps; the digits CNN's whole.
        #expect(ConvolutionMath.gradientRunWidth(extent: 32, perUnit: 9 * 128 * 676) == 16)
        #expect(ConvolutionMath.gradientRunWidth(extent: 288, perUnit: 64 * 128 * 121) == 72)
        #expect(ConvolutionMath.gradientRunWidth(extent: 144, perUnit: 32 * 32 * 16) == 144)
        // A whole batch whose last product is small already: splitting would move its rows to another kernel.
        #expect(ConvolutionMath.automaticParts(images: 121, perImage: 1 << 22, chunk: 120) == 1)
        #expect(ConvolutionMath.automaticParts(images: 1, perImage: 1 << 30, chunk: 1) == 1)
    }
}
