import Tensors

/// The arithmetic of the pooling and padding layers on NHWC tensors, generic so gradient
/// checks can run it in `Double`. Every function is O(N·OH·OW·window·C) or O(input) and
/// loops over the contiguous channels innermost.
enum PoolingMath {
    /// Max pooling: the largest input under each window, per channel; cells in the padding
    /// take no part (as TensorFlow). Also returns, for every output scalar, the flat input
    /// index it came from (the first maximum in window order), which backward routes to.
    static func maxPool<S: BLASScalar>(_ x: Tensor<S>, geometry g: WindowGeometry) -> (output: Tensor<S>, argmax: [Int]) {
        let n = x.shape[0], channels = x.shape[3]
        let count = n * g.outputPositions * channels
        var out = [S](repeating: -.infinity, count: count)
        var argmax = [Int](repeating: -1, count: count)
        x.withUnsafeBufferPointer { xs in
            out.withUnsafeMutableBufferPointer { o in
                argmax.withUnsafeMutableBufferPointer { a in
                    ConvolutionMath.forEachWindowCell(images: n, geometry: g) { image, position, _, _, pixel in
                        let source = (image * g.inputHeight * g.inputWidth + pixel) * channels
                        let target = (image * g.outputPositions + position) * channels
                        for c in 0..<channels where a[target + c] < 0 || xs[source + c] > o[target + c] {
                            o[target + c] = xs[source + c]
                            a[target + c] = source + c
                        }
                    }
                }
            }
        }
        return (Tensor(computedShape: [n, g.outputHeight, g.outputWidth, channels], out), argmax)
    }

    /// Routes each upstream scalar to the input scalar its maximum came from.
    static func maxPoolBackward<S: BLASScalar>(upstream dy: Tensor<S>, argmax: [Int], inputShape: [Int]) -> Tensor<S> {
        var dx = [S](repeating: 0, count: inputShape.reduce(1, *))
        dy.withUnsafeBufferPointer { gs in
            for (i, source) in argmax.enumerated() where source >= 0 { dx[source] += gs[i] }
        }
        return Tensor(computedShape: inputShape, dx)
    }

    /// Average pooling: the mean of the window cells inside the image (with `.same` padding
    /// the border windows divide by their count of valid cells, as TensorFlow does).
    static func averagePool<S: BLASScalar>(_ x: Tensor<S>, geometry g: WindowGeometry) -> Tensor<S> {
        let n = x.shape[0], channels = x.shape[3]
        var out = [S](repeating: 0, count: n * g.outputPositions * channels)
        let divisors = validCellCounts(g)
        x.withUnsafeBufferPointer { xs in
            out.withUnsafeMutableBufferPointer { o in
                ConvolutionMath.forEachWindowCell(images: n, geometry: g) { image, position, _, _, pixel in
                    let source = (image * g.inputHeight * g.inputWidth + pixel) * channels
                    let target = (image * g.outputPositions + position) * channels
                    let scale = 1 / S(divisors[position])
                    for c in 0..<channels { o[target + c] += xs[source + c] * scale }
                }
            }
        }
        return Tensor(computedShape: [n, g.outputHeight, g.outputWidth, channels], out)
    }

    /// Spreads each upstream scalar evenly over the valid cells of its window.
    static func averagePoolBackward<S: BLASScalar>(upstream dy: Tensor<S>, inputShape: [Int], geometry g: WindowGeometry) -> Tensor<S> {
        let n = inputShape[0], channels = inputShape[3]
        var dx = [S](repeating: 0, count: inputShape.reduce(1, *))
        let divisors = validCellCounts(g)
        dy.withUnsafeBufferPointer { gs in
            dx.withUnsafeMutableBufferPointer { d in
                ConvolutionMath.forEachWindowCell(images: n, geometry: g) { image, position, _, _, pixel in
                    let target = (image * g.inputHeight * g.inputWidth + pixel) * channels
                    let source = (image * g.outputPositions + position) * channels
                    let scale = 1 / S(divisors[position])
                    for c in 0..<channels { d[target + c] += gs[source + c] * scale }
                }
            }
        }
        return Tensor(computedShape: inputShape, dx)
    }

    /// How many cells of each output position's window lie inside the image.
    static func validCellCounts(_ g: WindowGeometry) -> [Int] {
        var counts = [Int](repeating: 0, count: g.outputPositions)
        ConvolutionMath.forEachWindowCell(images: 1, geometry: g) { _, position, _, _, _ in counts[position] += 1 }
        return counts
    }

    /// Global average pooling: `[N, H, W, C]` → `[N, C]`, the mean over every pixel.
    static func globalAveragePool<S: BLASScalar>(_ x: Tensor<S>) -> Tensor<S> {
        let n = x.shape[0], pixels = x.shape[1] * x.shape[2], channels = x.shape[3]
        var out = [S](repeating: 0, count: n * channels)
        x.withUnsafeBufferPointer { xs in
            for image in 0..<n {
                for pixel in 0..<pixels {
                    let source = (image * pixels + pixel) * channels
                    for c in 0..<channels { out[image * channels + c] += xs[source + c] }
                }
            }
        }
        let scale = 1 / S(pixels)
        return Tensor(computedShape: [n, channels], out.map { $0 * scale })
    }

    /// Spreads `[N, C]` upstream gradients evenly over the `H·W` pixels.
    static func globalAveragePoolBackward<S: BLASScalar>(upstream dy: Tensor<S>, inputShape: [Int]) -> Tensor<S> {
        let n = inputShape[0], pixels = inputShape[1] * inputShape[2], channels = inputShape[3]
        let scale = 1 / S(pixels)
        var dx = [S](repeating: 0, count: n * pixels * channels)
        dy.withUnsafeBufferPointer { gs in
            for image in 0..<n {
                for pixel in 0..<pixels {
                    let target = (image * pixels + pixel) * channels
                    for c in 0..<channels { dx[target + c] = gs[image * channels + c] * scale }
                }
            }
        }
        return Tensor(computedShape: inputShape, dx)
    }

    /// Global max pooling: `[N, H, W, C]` → `[N, C]`, with the flat input index of each maximum.
    static func globalMaxPool<S: BLASScalar>(_ x: Tensor<S>) -> (output: Tensor<S>, argmax: [Int]) {
        let geometry = try! WindowGeometry(input: (x.shape[1], x.shape[2]), window: (x.shape[1], x.shape[2]),
                                           strides: (1, 1), padding: .valid, layer: "")
        let (pooled, argmax) = maxPool(x, geometry: geometry)
        return (Tensor(computedShape: [x.shape[0], x.shape[3]], pooled.scalars), argmax)
    }

    /// Zero padding: `[N, H, W, C]` → `[N, top + H + bottom, left + W + right, C]`.
    static func zeroPad<S: BLASScalar>(_ x: Tensor<S>, top: Int, bottom: Int, left: Int, right: Int) -> Tensor<S> {
        let n = x.shape[0], h = x.shape[1], w = x.shape[2], c = x.shape[3]
        let outH = top + h + bottom, outW = left + w + right
        var out = [S](repeating: 0, count: n * outH * outW * c)
        x.withUnsafeBufferPointer { xs in
            out.withUnsafeMutableBufferPointer { o in
                for image in 0..<n {
                    for row in 0..<h {
                        let source = ((image * h + row) * w) * c
                        let target = ((image * outH + row + top) * outW + left) * c
                        for i in 0..<(w * c) { o[target + i] = xs[source + i] }
                    }
                }
            }
        }
        return Tensor(computedShape: [n, outH, outW, c], out)
    }

    /// The gradient of ``zeroPad(_:top:bottom:left:right:)``: the upstream crop over the input.
    static func zeroPadBackward<S: BLASScalar>(upstream dy: Tensor<S>, top: Int, left: Int, inputShape: [Int]) -> Tensor<S> {
        let n = inputShape[0], h = inputShape[1], w = inputShape[2], c = inputShape[3]
        let outH = dy.shape[1], outW = dy.shape[2]
        var dx = [S](repeating: 0, count: n * h * w * c)
        dy.withUnsafeBufferPointer { gs in
            for image in 0..<n {
                for row in 0..<h {
                    let target = ((image * h + row) * w) * c
                    let source = ((image * outH + row + top) * outW + left) * c
                    for i in 0..<(w * c) { dx[target + i] = gs[source + i] }
                }
            }
        }
        return Tensor(computedShape: inputShape, dx)
    }
}
