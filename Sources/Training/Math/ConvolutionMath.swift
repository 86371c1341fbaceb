import Tensors

/// The arithmetic of ``Conv2D`` and ``DepthwiseConv2D`` on NHWC tensors, generic so gradient
/// checks can run it in `Double`. Kernels are in Keras's layout, `(kh, kw, in, out)` for a
/// convolution and `(kh, kw, in, multiplier)` for a depthwise one.
///
/// A convolution is one matrix product: the input is unfolded (im2col) into a patch matrix
/// `[N·OH·OW, kh·kw·in]` whose columns run in the kernel's `(kh, kw, in)` order, so the
/// row-major kernel *is* the `[kh·kw·in, out]` matrix and the product is the NHWC output.
/// Because the channels of a pixel are contiguous in NHWC, unfolding copies runs of `in`
/// scalars. Batches are unfolded a few images at a time so the patch matrix stays within
/// ``patchBudget`` scalars.
enum ConvolutionMath {
    /// The most scalars one unfolded patch matrix may hold (16 MiB of Float); bigger batches
    /// are convolved in chunks of images.
    static let patchBudget = 1 << 22

    /// Images per chunk for `rowsPerImage · width` scalars per image.
    static func imagesPerChunk(rowsPerImage: Int, width: Int, batch: Int) -> Int {
        max(1, min(batch, patchBudget / max(1, rowsPerImage * width)))
    }

    /// Unfolds `count` images starting at `x` into `patches` (`count·OH·OW` rows of
    /// `kh·kw·channels`), with zeros where the window covers padding. O(rows · kh·kw·channels).
    static func im2col<S: BLASScalar>(_ x: UnsafePointer<S>, images count: Int, channels: Int,
                                      geometry g: WindowGeometry, into patches: UnsafeMutablePointer<S>) {
        let rowWidth = g.windowHeight * g.windowWidth * channels
        let imageSize = g.inputHeight * g.inputWidth * channels
        if g.windowsLieInside && g.dilationHeight == 1 && g.dilationWidth == 1 {
            im2colInside(x, images: count, channels: channels, geometry: g, into: patches)
            return
        }
        var row = patches
        for n in 0..<count {
            let image = x + n * imageSize
            for oh in 0..<g.outputHeight {
                for ow in 0..<g.outputWidth {
                    var column = row
                    let span = g.dilationWidth == 1 ? inBoundsColumns(ow, geometry: g) : nil
                    for ki in 0..<g.windowHeight {
                        let ih = g.inputRow(oh, ki)
                        guard ih >= 0 && ih < g.inputHeight else {
                            column.update(repeating: 0, count: g.windowWidth * channels)
                            column += g.windowWidth * channels
                            continue
                        }
                        if let span {
                            // Undilated: the window's in-bounds pixels of this row are one contiguous run.
                            column.update(repeating: 0, count: span.lowerBound * channels)
                            let run = span.count * channels
                            let source = image + (ih * g.inputWidth + g.inputColumn(ow, span.lowerBound)) * channels
                            if run >= 32 {
                                column.advanced(by: span.lowerBound * channels).update(from: source, count: run)
                            } else {
                                // A plain loop: short runs (a grey 3x3 window's 3 pixels) would pay a memmove call each.
                                let target = column + span.lowerBound * channels
                                for i in 0..<run { target[i] = source[i] }
                            }
                            column.advanced(by: span.upperBound * channels)
                                .update(repeating: 0, count: (g.windowWidth - span.upperBound) * channels)
                            column += g.windowWidth * channels
                            continue
                        }
                        for kj in 0..<g.windowWidth {
                            let iw = g.inputColumn(ow, kj)
                            if iw >= 0 && iw < g.inputWidth {
                                // A plain loop: few channels (1 for grey images) would pay a memmove call each.
                                let source = image + (ih * g.inputWidth + iw) * channels
                                for c in 0..<channels { column[c] = source[c] }
                            } else {
                                column.update(repeating: 0, count: channels)
                            }
                            column += channels
                        }
                    }
                    row += rowWidth
                }
            }
        }
    }

    /// ``im2col(_:images:channels:geometry:into:)`` for undilated windows that lie wholly inside
    /// the image (`valid` padding): each window row is one contiguous run of input scalars, with
    /// no bounds to check and no padding to fill. A grey 3x3 window's rows are 3 scalars, copied
    /// in a plain loop; the generic loop's per-row bookkeeping was most of the first
    /// convolution's unfolding time.
    private static func im2colInside<S: BLASScalar>(_ x: UnsafePointer<S>, images count: Int, channels: Int,
                                                    geometry g: WindowGeometry, into patches: UnsafeMutablePointer<S>) {
        let run = g.windowWidth * channels, lineSize = g.inputWidth * channels
        let imageSize = g.inputHeight * lineSize
        var row = patches
        for n in 0..<count {
            let image = x + n * imageSize
            for oh in 0..<g.outputHeight {
                let top = image + g.inputRow(oh, 0) * lineSize
                for ow in 0..<g.outputWidth {
                    var source = top + g.inputColumn(ow, 0) * channels
                    for _ in 0..<g.windowHeight {
                        if run >= 32 {
                            row.update(from: source, count: run)
                        } else {
                            for i in 0..<run { row[i] = source[i] }
                        }
                        row += run
                        source += lineSize
                    }
                }
            }
        }
    }

    /// The window columns `kj` whose input column at output column `ow` lies inside the image
    /// (empty when none does), for a window without dilation.
    @inline(__always)
    static func inBoundsColumns(_ ow: Int, geometry g: WindowGeometry) -> Range<Int> {
        let start = g.inputColumn(ow, 0)
        let lower = min(max(0, -start), g.windowWidth)
        let upper = max(lower, min(g.windowWidth, g.inputWidth - start))
        return lower..<upper
    }

    /// The adjoint of ``im2col(_:images:channels:geometry:into:)``: adds every patch entry
    /// back onto the input pixel it was copied from (padding entries are dropped).
    static func col2im<S: BLASScalar>(_ patches: UnsafePointer<S>, images count: Int, channels: Int,
                                      geometry g: WindowGeometry, addingInto dx: UnsafeMutablePointer<S>) {
        let rowWidth = g.windowHeight * g.windowWidth * channels
        let imageSize = g.inputHeight * g.inputWidth * channels
        var row = patches
        for n in 0..<count {
            let image = dx + n * imageSize
            for oh in 0..<g.outputHeight {
                for ow in 0..<g.outputWidth {
                    let span = g.dilationWidth == 1 ? inBoundsColumns(ow, geometry: g) : nil
                    for ki in 0..<g.windowHeight {
                        let ih = g.inputRow(oh, ki)
                        guard ih >= 0 && ih < g.inputHeight else { continue }
                        if let span {
                            // Undilated: one contiguous run per window row (same additions, same order).
                            let source = row + (ki * g.windowWidth + span.lowerBound) * channels
                            let target = image + (ih * g.inputWidth + g.inputColumn(ow, span.lowerBound)) * channels
                            for i in 0..<(span.count * channels) { target[i] += source[i] }
                            continue
                        }
                        for kj in 0..<g.windowWidth {
                            let iw = g.inputColumn(ow, kj)
                            guard iw >= 0 && iw < g.inputWidth else { continue }
                            let source = row + (ki * g.windowWidth + kj) * channels
                            let target = image + (ih * g.inputWidth + iw) * channels
                            for c in 0..<channels { target[c] += source[c] }
                        }
                    }
                    row += rowWidth
                }
            }
        }
    }

    /// A depthwise convolution: input channel `c` is convolved with its own `multiplier`
    /// filters `kernel[:, :, c, m]`, giving output channel `c·multiplier + m` (Keras's order).
    /// x `[N, H, W, in]`, kernel `[kh, kw, in, multiplier]`, bias `[in·multiplier]`.
    /// O(N·OH·OW·kh·kw·in·multiplier), direct loops over the contiguous channels.
    static func depthwiseConv2D<S: BLASScalar>(_ x: Tensor<S>, kernel: Tensor<S>, bias: Tensor<S>?,
                                                geometry g: WindowGeometry) -> Tensor<S> {
        let n = x.shape[0], channels = x.shape[3], multiplier = kernel.shape[3]
        let width = channels * multiplier
        var out = [S](repeating: 0, count: n * g.outputPositions * width)
        x.withUnsafeBufferPointer { xs in
            kernel.withUnsafeBufferPointer { k in
                out.withUnsafeMutableBufferPointer { o in
                    forEachWindowCell(images: n, geometry: g) { image, position, ki, kj, pixel in
                        let input = xs.baseAddress! + (image * g.inputHeight * g.inputWidth + pixel) * channels
                        let output = o.baseAddress! + (image * g.outputPositions + position) * width
                        let weights = k.baseAddress! + (ki * g.windowWidth + kj) * width
                        for c in 0..<channels {
                            let value = input[c]
                            for m in 0..<multiplier { output[c * multiplier + m] += value * weights[c * multiplier + m] }
                        }
                    }
                }
            }
        }
        let y = Tensor(computedShape: [n, g.outputHeight, g.outputWidth, width], out)
        guard let bias else { return y }
        return try! y.addingChannelVector(bias)
    }

    /// Gradients of ``depthwiseConv2D(_:kernel:bias:geometry:)``; O(forward) each.
    static func depthwiseConv2DBackward<S: BLASScalar>(
        x: Tensor<S>, kernel: Tensor<S>, upstream dy: Tensor<S>, geometry g: WindowGeometry,
        wantsParameters: Bool, wantsBias: Bool, wantsInput: Bool
    ) -> (input: Tensor<S>?, kernel: Tensor<S>?, bias: Tensor<S>?) {
        let n = x.shape[0], channels = x.shape[3], multiplier = kernel.shape[3]
        let width = channels * multiplier
        var dKernel = [S](repeating: 0, count: wantsParameters ? kernel.scalarCount : 0)
        var dx = [S](repeating: 0, count: wantsInput ? x.scalarCount : 0)
        x.withUnsafeBufferPointer { xs in
            kernel.withUnsafeBufferPointer { k in
                dy.withUnsafeBufferPointer { gs in
                    dKernel.withUnsafeMutableBufferPointer { dk in
                        dx.withUnsafeMutableBufferPointer { d in
                            forEachWindowCell(images: n, geometry: g) { image, position, ki, kj, pixel in
                                let pixelOffset = (image * g.inputHeight * g.inputWidth + pixel) * channels
                                let upstream = gs.baseAddress! + (image * g.outputPositions + position) * width
                                let cell = (ki * g.windowWidth + kj) * width
                                if wantsParameters {
                                    let input = xs.baseAddress! + pixelOffset
                                    for c in 0..<channels {
                                        for m in 0..<multiplier { dk[cell + c * multiplier + m] += input[c] * upstream[c * multiplier + m] }
                                    }
                                }
                                if wantsInput {
                                    for c in 0..<channels {
                                        var total: S = 0
                                        for m in 0..<multiplier { total += upstream[c * multiplier + m] * k[cell + c * multiplier + m] }
                                        d[pixelOffset + c] += total
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let input = wantsInput ? Tensor(computedShape: x.shape, dx) : nil
        let kernelGradient = wantsParameters ? Tensor(computedShape: kernel.shape, dKernel) : nil
        let biasGradient = wantsParameters && wantsBias ? try! dy.sumOverChannels() : nil
        return (input, kernelGradient, biasGradient)
    }

    /// Calls `body(image, outputPosition, ki, kj, inputPixel)` for every window cell that
    /// lies inside the image (cells in the padding are skipped), in output order.
    @inline(__always)
    static func forEachWindowCell(images: Int, geometry g: WindowGeometry,
                                  _ body: (Int, Int, Int, Int, Int) -> Void) {
        forEachWindowCell(images: 0..<images, geometry: g, body)
    }

    /// ``forEachWindowCell(images:geometry:_:)`` over the images of `range` only.
    @inline(__always)
    static func forEachWindowCell(images range: Range<Int>, geometry g: WindowGeometry,
                                  _ body: (Int, Int, Int, Int, Int) -> Void) {
        for image in range {
            for oh in 0..<g.outputHeight {
                for ow in 0..<g.outputWidth {
                    let position = oh * g.outputWidth + ow
                    for ki in 0..<g.windowHeight {
                        let ih = g.inputRow(oh, ki)
                        guard ih >= 0 && ih < g.inputHeight else { continue }
                        for kj in 0..<g.windowWidth {
                            let iw = g.inputColumn(ow, kj)
                            guard iw >= 0 && iw < g.inputWidth else { continue }
                            body(image, position, ki, kj, ih * g.inputWidth + iw)
                        }
                    }
                }
            }
        }
    }

    /// Multiply-adds of one convolution forward pass (`2·` this is its FLOP count).
    static func multiplyAdds(images: Int, geometry g: WindowGeometry, inputChannels: Int, filters: Int) -> Int {
        images * g.outputPositions * g.windowHeight * g.windowWidth * inputChannels * filters
    }
}

extension Tensor {
    /// A tensor from scalars whose count the caller built to match `shape`.
    init(computedShape shape: [Int], _ scalars: [Scalar]) {
        self = try! Tensor(shape: shape, scalars: scalars)
    }
}
