import Foundation
import HDF5
import Testing
import Tensors
@testable import Training

/// The convolution, pooling, padding and NHWC BatchNormalization kernels against the numbers
/// real Keras 3 layers produced (fixtures/conv/conv_layers.h5, written by
/// fixtures/conv/make_conv_fixtures.py): forward within 1e-5, gradients within 1e-4.
@Suite struct ConvolutionKerasTests {
    struct Case {
        let file: HDF5File
        let name: String

        func tensor(_ key: String) throws -> Tensor<Float> {
            let array = try file.read("/\(name)/\(key)", as: Float.self)
            return try Tensor(shape: array.shape, scalars: array.values)
        }
        func has(_ key: String) -> Bool { (try? file.read("/\(name)/\(key)", as: Float.self)) != nil }
        func pair(_ key: String) throws -> (Int, Int) {
            let values = try file.readAttribute(key, of: "/\(name)", as: [Int64].self)
            return (Int(values[0]), Int(values[1]))
        }
        func padding() throws -> Padding {
            Padding(rawValue: try file.readAttribute("padding", of: "/\(name)", as: String.self))!
        }
        func geometry(window: String) throws -> WindowGeometry {
            let x = try tensor("x")
            let dilation = (try? pair("dilation_rate")) ?? (1, 1)
            return try WindowGeometry(input: (x.shape[1], x.shape[2]), window: try pair(window), strides: try pair("strides"),
                                      dilation: dilation, padding: try padding(), layer: name)
        }
    }

    static let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/conv/conv_layers.h5")

    static func open(_ name: String) throws -> Case { Case(file: try HDF5File.open(at: url), name: name) }

    /// max |a − b| / max(1, max |b|), after checking the shapes agree.
    func difference(_ a: Tensor<Float>, _ b: Tensor<Float>) -> Float {
        guard a.shape == b.shape else { return .infinity }
        var worst: Float = 0
        for (x, y) in zip(a.scalars, b.scalars) { worst = max(worst, abs(x - y)) }
        return worst / max(1, b.maxAbsolute)
    }

    @Test(arguments: ["conv_same_3x3", "conv_same_stride2_odd", "conv_same_stride2_even_kernel", "conv_same_dilation2",
                      "conv_valid_stride_no_bias", "conv_valid_dilation2"])
    func conv2DMatchesKeras(_ name: String) throws {
        let c = try Self.open(name)
        let g = try c.geometry(window: "kernel_size")
        let x = try c.tensor("x"), kernel = try c.tensor("kernel")
        let bias = c.has("bias") ? try c.tensor("bias") : nil
        let y = ConvolutionMath.conv2D(x, kernel: kernel, bias: bias, geometry: g)
        #expect(difference(y, try c.tensor("y")) < 1e-5, "\(name) forward")
        let grads = ConvolutionMath.conv2DBackward(x: x, kernel: kernel, upstream: try c.tensor("dy"), geometry: g,
                                                   wantsParameters: true, wantsBias: bias != nil, wantsInput: true)
        #expect(difference(grads.input!, try c.tensor("dx")) < 1e-4, "\(name) dx")
        #expect(difference(grads.kernel!, try c.tensor("d_kernel")) < 1e-4, "\(name) dkernel")
        if bias != nil { #expect(difference(grads.bias!, try c.tensor("d_bias")) < 1e-4, "\(name) dbias") }
    }

    @Test(arguments: ["depthwise_same_stride2", "depthwise_valid_dilation2"])
    func depthwiseConv2DMatchesKeras(_ name: String) throws {
        let c = try Self.open(name)
        let g = try c.geometry(window: "kernel_size")
        let x = try c.tensor("x"), kernel = try c.tensor("kernel")
        let bias = c.has("bias") ? try c.tensor("bias") : nil
        #expect(difference(ConvolutionMath.depthwiseConv2D(x, kernel: kernel, bias: bias, geometry: g), try c.tensor("y")) < 1e-5)
        let grads = ConvolutionMath.depthwiseConv2DBackward(x: x, kernel: kernel, upstream: try c.tensor("dy"), geometry: g,
                                                            wantsParameters: true, wantsBias: bias != nil, wantsInput: true)
        #expect(difference(grads.input!, try c.tensor("dx")) < 1e-4)
        #expect(difference(grads.kernel!, try c.tensor("d_kernel")) < 1e-4)
        if bias != nil { #expect(difference(grads.bias!, try c.tensor("d_bias")) < 1e-4) }
    }

    @Test(arguments: ["maxpool_valid_2", "maxpool_same_3_stride2"])
    func maxPoolingMatchesKeras(_ name: String) throws {
        let c = try Self.open(name)
        let g = try c.geometry(window: "pool_size")
        let x = try c.tensor("x")
        let (y, argmax) = PoolingMath.maxPool(x, geometry: g)
        #expect(difference(y, try c.tensor("y")) < 1e-5)
        #expect(difference(PoolingMath.maxPoolBackward(upstream: try c.tensor("dy"), argmax: argmax, inputShape: x.shape),
                           try c.tensor("dx")) < 1e-4)
    }

    @Test(arguments: ["avgpool_valid_2", "avgpool_same_3_stride2", "avgpool_same_2x3_stride1"])
    func averagePoolingMatchesKeras(_ name: String) throws {
        let c = try Self.open(name)
        let g = try c.geometry(window: "pool_size")
        let x = try c.tensor("x")
        #expect(difference(PoolingMath.averagePool(x, geometry: g), try c.tensor("y")) < 1e-5)
        #expect(difference(PoolingMath.averagePoolBackward(upstream: try c.tensor("dy"), inputShape: x.shape, geometry: g),
                           try c.tensor("dx")) < 1e-4)
    }

    @Test func globalPoolingAndZeroPaddingMatchKeras() throws {
        let average = try Self.open("global_average")
        let xa = try average.tensor("x")
        #expect(difference(PoolingMath.globalAveragePool(xa), try average.tensor("y")) < 1e-5)
        #expect(difference(PoolingMath.globalAveragePoolBackward(upstream: try average.tensor("dy"), inputShape: xa.shape),
                           try average.tensor("dx")) < 1e-4)
        let maximum = try Self.open("global_max")
        let xm = try maximum.tensor("x")
        let (ym, argmax) = PoolingMath.globalMaxPool(xm)
        #expect(difference(ym, try maximum.tensor("y")) < 1e-5)
        #expect(difference(PoolingMath.maxPoolBackward(upstream: try maximum.tensor("dy"), argmax: argmax, inputShape: xm.shape),
                           try maximum.tensor("dx")) < 1e-4)
        let pad = try Self.open("zero_padding")
        let sides = try pad.file.readAttribute("zero_padding", of: "/zero_padding", as: [Int64].self).map(Int.init)
        let xp = try pad.tensor("x")
        #expect(difference(PoolingMath.zeroPad(xp, top: sides[0], bottom: sides[1], left: sides[2], right: sides[3]),
                           try pad.tensor("y")) < 1e-5)
        #expect(difference(PoolingMath.zeroPadBackward(upstream: try pad.tensor("dy"), top: sides[0], left: sides[2],
                                                       inputShape: xp.shape), try pad.tensor("dx")) < 1e-4)
    }

    @Test func batchNormOverNHWCChannelsMatchesKerasInBothModes() throws {
        let c = try Self.open("bn_nhwc")
        let x = try c.tensor("x")
        let rows = try x.reshaped(inferring: [-1, x.channelCount])
        let gamma = try c.tensor("gamma").scalars, beta = try c.tensor("beta").scalars
        let epsilon = Float(try c.file.readAttribute("epsilon", of: "/bn_nhwc", as: Double.self))
        let momentum = Float(try c.file.readAttribute("momentum", of: "/bn_nhwc", as: Double.self))
        let dy = try c.tensor("dy").reshaped(inferring: [-1, x.channelCount])

        let moments = BatchNormMath.moments(rows)
        let batchInv = BatchNormMath.inverseStd(moments.variance, epsilon: epsilon)
        let training = BatchNormMath.normalize(rows, mean: moments.mean, inverseStd: batchInv, gamma: gamma, beta: beta)
        #expect(difference(try training.reshaped(to: x.shape), try c.tensor("y")) < 1e-5)
        let grads = BatchNormMath.backward(x: rows, upstream: dy, mean: moments.mean, inverseStd: batchInv, gamma: gamma,
                                           batchStatistics: true, wantsInput: true)
        #expect(difference(try grads.input!.reshaped(to: x.shape), try c.tensor("dx")) < 1e-4)
        #expect(difference(Tensor(grads.gamma), try c.tensor("d_gamma")) < 1e-4)
        #expect(difference(Tensor(grads.beta), try c.tensor("d_beta")) < 1e-4)
        let movingMean = try c.tensor("moving_mean").scalars, movingVariance = try c.tensor("moving_variance").scalars
        let updatedMean = zip(movingMean, moments.mean).map { $0 * momentum + $1 * (1 - momentum) }
        let updatedVariance = zip(movingVariance, moments.variance).map { $0 * momentum + $1 * (1 - momentum) }
        #expect(difference(Tensor(updatedMean), try c.tensor("moving_mean_after")) < 1e-5)
        #expect(difference(Tensor(updatedVariance), try c.tensor("moving_variance_after")) < 1e-5)

        let movingInv = BatchNormMath.inverseStd(movingVariance, epsilon: epsilon)
        let inference = BatchNormMath.normalize(rows, mean: movingMean, inverseStd: movingInv, gamma: gamma, beta: beta)
        #expect(difference(try inference.reshaped(to: x.shape), try c.tensor("y_inference")) < 1e-5)
        let inferenceGrads = BatchNormMath.backward(x: rows, upstream: dy, mean: movingMean, inverseStd: movingInv, gamma: gamma,
                                                    batchStatistics: false, wantsInput: true)
        #expect(difference(try inferenceGrads.input!.reshaped(to: x.shape), try c.tensor("dx_inference")) < 1e-4)
    }
}
