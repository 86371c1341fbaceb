import Tensors

/// The data of the classic BatchNormalization question: one feature x ~ N(shift, 1) with the
/// label `x > shift`.
///
/// Training and validation use shift 0; the test set is shifted (2 in the original), so a
/// network that learned "x > 0" is right only about half the time unless its BatchNormalization
/// layers re-centre the shifted input.
///
/// ```swift
/// let train = ShiftedGaussianData(count: 10_000, shift: 0, seed: 18, stream: 1)
/// train.features.shape  // [10000, 1]  (Double, as numpy would hand it to tf.data)
/// train.labels.shape    // [10000, 1]
/// ```
public struct ShiftedGaussianData: Sendable {
    /// The inputs, shape `[count, 1]`.
    public let features: Tensor<Double>
    /// 1 where `x > shift`, else 0; shape `[count, 1]`.
    public let labels: Tensor<Double>

    /// Draws `count` rows from the stream `(seed, stream)` of ``/Tensors/SplitMix64``, so every set is
    /// reproducible and independent of the others.
    public init(count: Int, shift: Double, seed: UInt64, stream: UInt64) {
        var rng = SplitMix64(seed: SplitMix64.derivedSeed(seed, stream))
        var x = [Double](), y = [Double]()
        x.reserveCapacity(count)
        y.reserveCapacity(count)
        for _ in 0..<count {
            let value = shift + rng.nextNormal()
            x.append(value)
            y.append(value > shift ? 1 : 0)
        }
        features = try! Tensor(shape: [count, 1], scalars: x)
        labels = try! Tensor(shape: [count, 1], scalars: y)
    }
}
