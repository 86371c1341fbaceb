import Training

/// Converts between a ``Sequential`` model and Keras 3's model configuration JSON (the
/// `config.json` of a `.keras` archive). Native checkpoints store the architecture in the
/// same format, so a reader who knows Keras knows Batchwise's files.
///
/// (Interface agreed between the checkpoint and Keras-interop work; the Keras-interop
/// branch provides the implementation.)
public enum KerasModelConfig {
    /// The Keras 3 `config.json` object (as a JSON string) describing `model`.
    public static func json(for model: Sequential) throws -> String {
        throw CheckpointError.unsupported(file: "", what: "model configuration JSON is not implemented yet")
    }

    /// Builds a model (with freshly initialized variables) from a Keras 3 `config.json` or
    /// legacy `model_config` JSON string. `file` names the source in errors.
    public static func model(fromJSON json: String, file: String) throws -> Sequential {
        throw CheckpointError.unsupported(file: file, what: "model configuration JSON is not implemented yet")
    }
}
