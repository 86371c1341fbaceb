import Tensors

/// Shared by the 2-D pooling layers (``MaxPooling2D``, ``AveragePooling2D``): their window,
/// its placement on an image, the shape checks around it and their Keras options. The layers
/// differ only in their kernels (what a window computes), which stay in the layers.
struct Pooling2DOptions: Sendable, Hashable {
    let poolSize: Size2D
    let strides: Size2D
    let padding: Padding

    func geometry(_ image: (height: Int, width: Int, channels: Int), layer: String) throws -> WindowGeometry {
        guard poolSize.height > 0, poolSize.width > 0, strides.height > 0, strides.width > 0 else {
            throw TrainingError.invalidArgument(layer: layer, message:
                "pool size \(poolSize) and strides \(strides) must be positive")
        }
        return try WindowGeometry(input: (image.height, image.width), window: poolSize.pair, strides: strides.pair,
                                  padding: padding, layer: layer)
    }

    /// The window placement on examples shaped `inputShape` and the output example shape
    /// `[OH, OW, C]` (pooling keeps the channels), after checking that the examples are images;
    /// errors name `layer`.
    func placement<Owner: Layer>(forInput inputShape: [Int], layer: Owner) throws
        -> (geometry: WindowGeometry, outputShape: [Int]) {
        let image = try layer.imageShape(of: inputShape)
        let g = try geometry(image, layer: layer.name)
        return (g, [g.outputHeight, g.outputWidth, image.channels])
    }

    /// Checks that an upstream gradient has the shape of the output a batch shaped
    /// `batchInputShape` gave (the batch size first), naming `layer`.
    func checkUpstream<Owner: Layer>(_ upstream: Tensor<Float>, batchInputShape: [Int], layer: Owner) throws {
        let expected = try [batchInputShape[0]]
            + placement(forInput: Array(batchInputShape.dropFirst()), layer: layer).outputShape
        guard upstream.shape == expected else {
            throw TrainingError.shapeMismatch(layer: layer.name, expected: expected, found: upstream.shape)
        }
    }

    func encode<Config: KerasConfigWriting>(to config: inout Config) {
        config.set("pool_size", poolSize.list)
        config.set("strides", strides.list)
        config.set("padding", padding.rawValue)
        config.set("data_format", "channels_last")
    }

    static func decode<Config: KerasConfigReading>(_ config: Config) throws -> Pooling2DOptions {
        try config.requireChannelsLast()
        let poolSize = try config.size2D("pool_size", default: Size2D(square: 2))
        // Keras: strides None means the pool size.
        let strides = try config.size2D("strides", default: poolSize)
        return Pooling2DOptions(poolSize: poolSize, strides: strides, padding: try config.padding(default: .valid))
    }
}
