/// How Keras resolves `metrics=["accuracy"]` (`trainers/compile_utils.py`).
///
/// ```swift
/// let metric = AccuracyResolution.metric(outputFeatures: 1, targetsAreLabels: false)  // BinaryAccuracy
/// ```
public enum AccuracyResolution {
    /// Binary if the output has one feature; sparse if targets are integer labels
    /// (rank below the predictions' or last dimension 1); categorical otherwise.
    public static func metric(outputFeatures: Int, targetsAreLabels: Bool) -> any Metric {
        if outputFeatures == 1 { return BinaryAccuracy() }
        if targetsAreLabels { return SparseCategoricalAccuracy() }
        return CategoricalAccuracy()
    }

    /// The accuracy matching a loss: sparse crossentropy implies integer labels.
    public static func metric(outputFeatures: Int, loss: Loss) -> any Metric {
        metric(outputFeatures: outputFeatures, targetsAreLabels: loss.kind == .sparseCategoricalCrossentropy)
    }
}
