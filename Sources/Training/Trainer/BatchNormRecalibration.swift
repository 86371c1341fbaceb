import Datasets
import Tensors

extension Sequential {
    /// A copy whose BatchNormalization layers' moving statistics are re-estimated from
    /// unlabeled data: the exact population mean and (biased) variance of each layer's input
    /// over *all* of `data` (per channel over every pixel for NHWC images), not an exponential
    /// average. Every other weight is unchanged.
    ///
    /// This is test-time adaptation ("AdaBN"): inference stays deterministic and independent
    /// of batch size, yet is normalized for the distribution the data comes from — the fix
    /// for a model whose test inputs are shifted from its training inputs.
    ///
    /// Layers are re-estimated in order, each from inputs computed in inference mode with the
    /// layers before it already re-estimated, so later layers see what inference will feed
    /// them. Batch composition does not matter; sums are accumulated in `Double`. For NHWC
    /// images the statistics span every pixel of every example, per channel, as in training.
    ///
    /// ```swift
    /// let adapted = try model.recalibratingBatchNormalization(on: Slices(xTest).batch(256))
    /// let p = try adapted(xTest, mode: .inference)
    /// ```
    /// - Throws: ``TrainingError/emptyDataset(argument:)`` when `data` yields no rows.
    public func recalibratingBatchNormalization<D: Dataset>(on data: D) throws -> Sequential
        where D.Element == Tensor<Float> {
        var model = self
        for index in model.layers.indices where model.layers[index].normalizationStatistics != nil {
            let prefix = Array(model.layers[..<index])
            var moments = BatchNormMath.PopulationMoments()
            var iterator = data.makeIterator()
            while var h = try iterator.next() {
                try model.checkInput(h)
                for layer in prefix { h = try layer(h, mode: .inference) }
                // Images: the statistics span every pixel of every example, per channel.
                moments.add(h.rank == 2 ? h : try h.reshaped(inferring: [-1, h.shape[h.rank - 1]]))
            }
            guard let (mean, variance) = moments.meanAndVariance else {
                throw TrainingError.emptyDataset(argument: "recalibration data")
            }
            let name = model.layers[index].name
            try model.setVariable("\(name)/moving_mean", to: Tensor(mean))
            try model.setVariable("\(name)/moving_variance", to: Tensor(variance))
        }
        return model
    }

    /// Re-estimates from the rows of an in-memory tensor (see the dataset version).
    public func recalibratingBatchNormalization(on x: Tensor<Float>, batchSize: Int = 1024) throws -> Sequential {
        guard batchSize > 0 else {
            throw TrainingError.invalidCount(argument: "batchSize", message: "must be positive, got \(batchSize)")
        }
        try checkInput(x)
        let batches = stride(from: 0, to: x.rowCount, by: batchSize).map { start in
            try! x.rows(start..<Swift.min(start + batchSize, x.rowCount))
        }
        return try recalibratingBatchNormalization(on: Slices(batches))
    }
}
