import Tensors

extension Sequential {
    /// A copy for inference in which every ``BatchNormalization`` that directly follows a
    /// linear ``Dense`` is folded into that Dense's kernel and bias, so predicting costs one
    /// affine map instead of two passes.
    ///
    /// In inference mode a BatchNormalization computes `y = (z − movingMean)·s + beta` with
    /// `s = gamma / sqrt(movingVariance + epsilon)`; when `z = x·kernel + bias` this is
    /// `x·(kernel·diag(s)) + ((bias − movingMean)·s + beta)`, a Dense layer with the Dense's
    /// name, in which the BatchNormalization is gone. The new values are computed in double
    /// precision; the folded model's inference outputs equal the original's up to float32
    /// rounding (a relative difference of the order of 1e-7).
    ///
    /// What is folded and what is left alone:
    /// - The Dense must have a `.linear` activation. A BatchNormalization after a Dense with
    ///   another activation (`Dense(units: 8, activation: .relu)`) normalizes the activated
    ///   values, which no kernel can express; it is **kept** unchanged, as is one after any
    ///   other layer, so the copy computes the same as the model either way.
    /// - A Dense without bias gains one (the folded offset).
    /// - Several BatchNormalizations in a row after one Dense are folded one after another.
    /// - Missing `gamma` (`scale: false`) counts as ones, missing `beta` (`center: false`) as zeros.
    ///
    /// The copy is meant for ``callAsFunction(_:mode:)`` in `.inference` mode and for saving:
    /// training it, or running it in training mode, differs from the original, whose
    /// BatchNormalizations would then normalize with batch statistics.
    ///
    /// ```swift
    /// let model = try Sequential(inputFeatures: 784, [
    ///     Dense(units: 256), BatchNormalization(), ActivationLayer(.relu),
    ///     Dense(units: 10, activation: .softmax),
    /// ])
    /// let folded = try model.foldingBatchNormalization()
    /// print(folded.layers.map(\.typeName))   // ["Dense", "ActivationLayer", "Dense"]
    /// ```
    ///
    /// - Throws: ``TrainingError/invalidArgument(layer:message:)`` naming the first layer set
    ///   to normalize with batch statistics (``BatchNormStatistics/batch``, as
    ///   ``withBatchNormStatistics(_:)`` sets it): its output depends on the batch, so no
    ///   fixed kernel reproduces it.
    public func foldingBatchNormalization() throws -> Sequential {
        if let layer = layers.first(where: { $0.normalizationStatistics == .batch }) {
            throw TrainingError.invalidArgument(
                layer: layer.name,
                message: "normalizes with batch statistics (BatchNormStatistics.batch), which cannot be folded into "
                    + "a Dense; fold a model using its moving statistics (withBatchNormStatistics(.followMode))")
        }
        var folded: [any Layer] = []
        for layer in layers {
            if let normalization = layer as? BatchNormalization, let dense = folded.last as? Dense,
               dense.activation == .linear {
                folded[folded.count - 1] = try Self.fold(normalization, into: dense)
            } else {
                folded.append(layer)
            }
        }
        var copy = self
        copy.layers = folded
        return copy
    }

    /// The Dense computing `normalization(dense(x))` in inference mode.
    private static func fold(_ normalization: BatchNormalization, into dense: Dense) throws -> Dense {
        guard let inputShape = dense.inputShape else {
            throw TrainingError.invalidArgument(layer: dense.name, message: "the layer is not built (use it in a Sequential)")
        }
        let units = dense.units
        let gamma = normalization.scale ? normalization.gamma.scalars : nil
        let beta = normalization.center ? normalization.beta.scalars : nil
        let movingMean = normalization.movingMean.scalars, movingVariance = normalization.movingVariance.scalars
        let bias = dense.useBias ? dense.bias.scalars : nil
        var factors = [Double](repeating: 0, count: units)
        var foldedBias = [Float](repeating: 0, count: units)
        for j in 0..<units {
            let factor = Double(gamma?[j] ?? 1) / (Double(movingVariance[j]) + normalization.epsilon).squareRoot()
            factors[j] = factor
            foldedBias[j] = Float((Double(bias?[j] ?? 0) - Double(movingMean[j])) * factor + Double(beta?[j] ?? 0))
        }
        var kernel = dense.kernel
        kernel.withUnsafeMutableBufferPointer { values in
            for index in values.indices { values[index] = Float(Double(values[index]) * factors[index % units]) }
        }
        var result = Dense(units: units, activation: .linear, useBias: true, name: dense.name, seed: dense.seed)
        result.isTrainable = dense.isTrainable
        _ = try result.build(inputShape: inputShape, seed: 0)
        try result.setVariable("kernel", to: kernel)
        try result.setVariable("bias", to: Tensor(foldedBias))
        return result
    }
}
