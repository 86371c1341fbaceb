import Training

/// What ``KerasModelFile/load(_:)`` found in a Keras file.
///
/// ```swift
/// let loaded = try KerasModelFile.load(URL(fileURLWithPath: "seed_model.keras"))
/// let p = try loaded.model(x, mode: .inference)
/// var model = loaded.model
/// if var adam = loaded.optimizer {   // resumes Keras's optimizer
///     let step = try model.trainingStep(x: x, y: y, loss: .binaryCrossentropy)
///     try adam.apply(step.gradients, to: &model)
/// }
/// ```
public struct LoadedKerasModel: Sendable {
    /// The file formats Batchwise reads.
    public enum Format: String, Sendable, Hashable {
        /// Keras 3 `model.save("x.keras")` zip archive.
        case kerasArchive = "keras"
        /// Keras 3 `model.save_weights("x.weights.h5")` (no architecture).
        case kerasWeights = "weights.h5"
        /// tf.keras `model.save("x.h5")`: `model_config` plus `/model_weights`.
        case legacyModel = "legacy h5"
        /// tf.keras `model.save_weights("x.h5")`: layer groups at the root, no architecture.
        case legacyWeights = "legacy weights h5"
    }

    /// The model with the file's weights.
    public var model: Sequential
    /// The optimizer of the file's `compile_config` (any of ``/Training/KerasOptimizerTypes``,
    /// with its schedule, clipping, EMA and accumulation) holding its saved state; nil when the
    /// file was not compiled or names an optimizer Batchwise cannot reproduce
    /// (``unsupportedOptimizer`` says which).
    public var optimizer: (any Optimizer)?
    /// The saved optimizer state (iterations and slots), when the file holds one.
    public var optimizerState: OptimizerState?
    /// The loss name from the compile/training config (`"binary_crossentropy"`), if any.
    public var lossName: String?
    /// The loss, when it is one Batchwise implements.
    public var loss: Loss?
    /// Which format the file had.
    public var format: Format
    /// Why ``optimizer`` is nil although the file names one: the optimizer, schedule or option
    /// Batchwise does not support, with its path in the config
    /// (``CheckpointError/unsupportedOptimizer(file:path:className:option:value:)``).
    public var unsupportedOptimizer: CheckpointError? = nil
}
