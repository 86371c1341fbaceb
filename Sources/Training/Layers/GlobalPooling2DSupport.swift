import Tensors

/// Shared by the global 2-D pooling layers (``GlobalAveragePooling2D``,
/// ``GlobalMaxPooling2D``): both reduce each channel of an image to one value, so their shapes,
/// their checks and their Keras options are the same; only the reduction differs.
enum GlobalPooling2D {
    /// The output example shape `[C]` for images shaped `inputShape`, naming `layer` when the
    /// examples are not images.
    static func outputShape<Owner: Layer>(forInput inputShape: [Int], layer: Owner) throws -> [Int] {
        [try layer.imageShape(of: inputShape).channels]
    }

    /// Checks that an upstream gradient is `[N, C]` for a batch shaped `batchInputShape` (NHWC).
    static func checkUpstream<Owner: Layer>(_ upstream: Tensor<Float>, batchInputShape: [Int], layer: Owner) throws {
        let expected = [batchInputShape[0], batchInputShape[3]]
        guard upstream.shape == expected else {
            throw TrainingError.shapeMismatch(layer: layer.name, expected: expected, found: upstream.shape)
        }
    }

    /// Keras's options for `keepdims=False`, the only form Batchwise computes.
    static func encode<Config: KerasConfigWriting>(to config: inout Config) {
        config.set("data_format", "channels_last")
        config.set("keepdims", false)
    }

    /// Refuses `channels_first` and `keepdims: true`.
    static func checkKerasConfig<Config: KerasConfigReading>(_ config: Config) throws {
        try config.requireChannelsLast()
        if let keepdims = config["keepdims"], try keepdims.bool() {
            throw KerasConfigProblem.unsupportedOption("keepdims", value: "true")
        }
    }
}
