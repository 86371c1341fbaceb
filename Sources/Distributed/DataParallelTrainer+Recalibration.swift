import Datasets
import Tensors
import Training

extension DataParallelTrainer {
    /// Re-estimates every BatchNormalization layer's moving statistics from the rows of pass
    /// `epoch` of `data` across the ranks (AdaBN): the exact population mean and biased variance
    /// of each layer's input over *all* rows, as the single-process
    /// `Sequential.recalibratingBatchNormalization(on:)` computes them, while each rank reads only
    /// its own rows of each global batch. Every other weight is unchanged; the targets are ignored.
    ///
    /// Layers are re-estimated in order, each from inputs computed in inference mode with the
    /// layers before it already re-estimated. Each micro-shard's sums are accumulated in
    /// `Double` around a shift (the mean of the first global batch, so that large means do not
    /// cancel), reduced like gradients and added step by step. In ``ReductionMode/ordered`` the
    /// statistics are therefore bitwise the same for any number of ranks, and identical on every
    /// rank in both modes. They agree with the single-process statistics to within the float32
    /// rounding of the result (both are exact to `Double` precision but add in different orders,
    /// so a value may differ in its last bit: within 1e-6 relative).
    ///
    /// ```swift
    /// import Datasets
    /// import Distributed
    /// import Tensors
    /// import Training
    ///
    /// func adapt(_ trainer: inout DataParallelTrainer, to xTest: Tensor<Float>) throws {
    ///     let unlabeled = Tensor<Float>(zeros: [xTest.rowCount, 1])
    ///     try trainer.recalibrateBatchNormalization(on: try Slices(xTest, unlabeled))
    /// }
    /// ```
    /// - Throws: ``DataParallelError/invalidArgument(argument:reason:)`` for data without rows;
    ///   ``DataParallelError`` on every rank if a rank cannot read its rows.
    public mutating func recalibrateBatchNormalization<Data: RandomAccessDataset>(
        on data: Data, epoch: Int = 0
    ) throws where Data.Element == (Tensor<Float>, Tensor<Float>) {
        try Self.checkRows(data)
        guard data.count > 0 else { throw DataParallelError.invalidArgument(argument: "data", reason: "has no rows to recalibrate on") }
        var recalibrated = model
        for index in recalibrated.layers.indices where recalibrated.layers[index].normalizationStatistics != nil {
            let prefix = Array(recalibrated.layers[..<index])
            let layerName = recalibrated.layers[index].name
            guard let features = recalibrated.layers[index].inputShape?.last else {
                throw DataParallelError.unsupportedLayer(layer: layerName, reason: "it is not built")
            }
            // A micro-shard's rows as they reach the layer: [rows·pixels, features].
            func activations(_ x: Tensor<Float>) throws -> Tensor<Float> {
                var h = x
                for layer in prefix { h = try layer(h, mode: .inference) }
                return try h.reshaped(inferring: [-1, features])
            }
            let (firstSums, _) = try reduceMicroShards(data, epoch: epoch, step: 0, width: features + 1) { x, _ -> [Double] in
                let h = try activations(x)
                return Self.shiftedSums(h, shift: [Double](repeating: 0, count: features), squares: false) + [Double(h.rowCount)]
            }
            let shift = firstSums.prefix(features).map { $0 / firstSums[features] }
            var sums = [Double](repeating: 0, count: 2 * features + 1)
            for step in 0..<stepsPerEpoch(rowCount: data.count) {
                let (stepSums, _) = try reduceMicroShards(data, epoch: epoch, step: step, width: 2 * features + 1) { x, _ -> [Double] in
                    let h = try activations(x)
                    return Self.shiftedSums(h, shift: shift, squares: true) + [Double(h.rowCount)]
                }
                for column in sums.indices { sums[column] += stepSums[column] }
            }
            let rows = sums[2 * features]
            let mean = (0..<features).map { Float(shift[$0] + sums[$0] / rows) }
            let variance = (0..<features).map { column -> Float in
                let centred = sums[column] / rows
                return Float(Swift.max(0, sums[features + column] / rows - centred * centred))
            }
            try recalibrated.setVariable("\(layerName)/moving_mean", to: Tensor(mean))
            try recalibrated.setVariable("\(layerName)/moving_variance", to: Tensor(variance))
        }
        model = recalibrated
    }

    /// `Σ (h − shift)` per column and, with `squares`, `Σ (h − shift)²` after it, rows in order, in `Double`.
    private static func shiftedSums(_ h: Tensor<Float>, shift: [Double], squares: Bool) -> [Double] {
        let width = shift.count
        var sums = [Double](repeating: 0, count: squares ? 2 * width : width)
        h.withUnsafeBufferPointer { values in
            for row in 0..<h.rowCount {
                for column in 0..<width {
                    let centred = Double(values[row * width + column]) - shift[column]
                    sums[column] += centred
                    if squares { sums[width + column] += centred * centred }
                }
            }
        }
        return sums
    }
}
