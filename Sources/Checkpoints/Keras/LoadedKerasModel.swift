import Training

/// What ``KerasModelFile/load(_:)`` found in a Keras file.
///
/// ```swift
/// let loaded = try KerasModelFile.load(URL(fileURLWithPath: "seed_model.keras"))
/// let p = try loaded.model(x, mode: .inference)
/// var model = loaded.model
/// if var adam = loaded.optimizer {   // resumes Keras's Adam
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
    /// An Adam or SGD configured as the file's `compile_config` and holding its saved state,
    /// when the file was saved compiled with one of those optimizers.
    public var optimizer: (any Optimizer)?
    /// The saved optimizer state (iterations and slots), when the file holds one.
    public var optimizerState: OptimizerState?
    /// The loss name from the compile/training config (`"binary_crossentropy"`), if any.
    public var lossName: String?
    /// The loss, when it is one Batchwise implements.
    public var loss: Loss?
    /// Which format the file had.
    public var format: Format
    /// The optimizer the compile/training config names (`"RMSprop"`) and its JSON path in that
    /// config (`"$.compile_config.optimizer"`), when there is one: lets a caller name an
    /// optimizer it found but ``optimizer`` could not represent.
    public var configOptimizer: (className: String, path: String)?
}
