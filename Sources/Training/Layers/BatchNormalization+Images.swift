import Tensors

/// BatchNormalization over the channels of NHWC images (every input of rank above 2): the
/// same math as the `[N, C]` path on the `[N·H·W, C]` rows, bit for bit, through
/// ``ChannelKernels``' vector loops. They write the output and the input gradient into new
/// buffers instead of copying the input first and normalizing the copy in place, and keep the
/// per-channel statistics in registers rather than in arrays read and bounds-checked per
/// scalar; in a profile of the MNIST-shape CNN the `[N, C]` loops were 20% of a training step.
extension BatchNormalization {
    /// The forward pass on images; the tape holds the `[N·H·W, C]` view of the input, as the `[N, C]` path's would.
    func normalizeImages(_ input: Tensor<Float>, mode: ExecutionMode) throws -> LayerOutput<Tape> {
        let channels = input.channelCount
        let rows = try input.reshaped(inferring: [-1, channels])
        let count = rows.shape[0]
        let (tape, update) = forwardStatistics(of: rows, mode: mode) {
            rows.withUnsafeBufferPointer { ChannelKernels.moments($0.baseAddress!, rows: count, channels: channels) }
        }
        // inv = gamma·inverseStd, shift = beta − mean·inv, as BatchNormMath.normalize.
        var factor = tape.inverseStd
        if scale { for j in 0..<channels { factor[j] *= gamma.scalars[j] } }
        var shift = [Float](repeating: 0, count: channels)
        for j in 0..<channels { shift[j] = (center ? beta.scalars[j] : 0) - tape.mean[j] * factor[j] }
        let output = count == 0 ? [] : rows.withUnsafeBufferPointer {
            ChannelKernels.affine($0.baseAddress!, rows: count, channels: channels, factor: factor, shift: shift)
        }
        return LayerOutput(output: Tensor(computedShape: input.shape, output), tape: tape, stateUpdate: update)
    }

    /// The backward pass on images (`upstream` shaped as the layer's output, the tape from
    /// ``normalizeImages(_:mode:)``); nil when the input gradient is not needed.
    func imagesBackward(_ upstream: Tensor<Float>, tape: Tape, gradients: inout LayerGradients,
                        needsInputGradient: Bool) throws -> Tensor<Float>? {
        let channels = upstream.channelCount
        let rows = tape.input.shape[0]
        guard tape.usedBatchStatistics, rows > 0 else {
            // Constant statistics (a frozen or `.moving` layer): the [N, C] path's one multiply.
            let result = BatchNormMath.backward(
                x: tape.input, upstream: try upstream.reshaped(inferring: [-1, channels]), mean: tape.mean,
                inverseStd: tape.inverseStd, gamma: scale ? gamma.scalars : nil, batchStatistics: tape.usedBatchStatistics,
                wantsInput: needsInputGradient)
            storeGradients(gamma: result.gamma, beta: result.beta, in: &gradients)
            return try result.input?.reshaped(to: upstream.shape)
        }
        let sums = tape.input.withUnsafeBufferPointer { x in
            upstream.withUnsafeBufferPointer { g in
                ChannelKernels.normalizedGradientSums(x: x.baseAddress!, upstream: g.baseAddress!, rows: rows, channels: channels,
                                                      mean: tape.mean, inverseStd: tape.inverseStd)
            }
        }
        storeGradients(gamma: sums.sumGX, beta: sums.sumG, in: &gradients)
        guard needsInputGradient else { return nil }
        var factor = tape.inverseStd
        if scale { for j in 0..<channels { factor[j] *= gamma.scalars[j] } }
        let dx = tape.input.withUnsafeBufferPointer { x in
            upstream.withUnsafeBufferPointer { g in
                ChannelKernels.batchStatisticsInputGradient(x: x.baseAddress!, upstream: g.baseAddress!, rows: rows,
                                                            channels: channels, mean: tape.mean, inverseStd: tape.inverseStd,
                                                            scale: factor, sumG: sums.sumG, sumGX: sums.sumGX)
            }
        }
        return Tensor(computedShape: upstream.shape, dx)
    }

    private func storeGradients(gamma gammaGradient: [Float], beta betaGradient: [Float], in gradients: inout LayerGradients) {
        affine.store(gammaGradient: Tensor(gammaGradient), betaGradient: Tensor(betaGradient), isTrainable: isTrainable,
                     in: &gradients)
    }
}
