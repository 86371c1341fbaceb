/// The metric Keras resolves `metrics=["accuracy"]` to (`trainers/compile_utils.py`), which
/// `Trainer` uses when it is given no metrics: binary if the output has one feature, sparse
/// if the targets are integer labels (which sparse crossentropy implies), categorical otherwise.
func kerasAccuracy(outputFeatures: Int, loss: Loss) -> any Metric {
    if outputFeatures == 1 { return BinaryAccuracy() }
    if loss.kind == .sparseCategoricalCrossentropy { return SparseCategoricalAccuracy() }
    return CategoricalAccuracy()
}
