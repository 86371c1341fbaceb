import Tensors

/// The options ``Conv2D`` and ``DepthwiseConv2D`` share — the window (kernel size, strides,
/// dilation, padding), the activation and the bias switch — with the checks, the window
/// placement, the kernel initializer and the Keras options that both layers treat alike.
/// The layers differ only in how many outputs each window gives (filters, or input channels
/// times the depth multiplier) and in the name of their kernel (`kernel`, `depthwise`), so
/// those are arguments here.
struct ConvolutionOptions: Sendable, Hashable {
    let kernelSize: Size2D
    let strides: Size2D
    let dilationRate: Size2D
    let padding: Padding
    let activation: Activation
    let useBias: Bool

    /// The window placement on examples shaped `inputShape`, after checking that they are
    /// images and that every option (and `outputsPerChannel`, reported as filters) is valid;
    /// errors name `layer`.
    func geometry<Owner: Layer>(forInput inputShape: [Int], outputsPerChannel: Int, layer: Owner) throws -> WindowGeometry {
        let image = try layer.imageShape(of: inputShape)
        try layer.checkWindowOptions(filters: outputsPerChannel, kernelSize: kernelSize, strides: strides, dilationRate: dilationRate)
        return try WindowGeometry(input: (image.height, image.width), window: kernelSize.pair, strides: strides.pair,
                                  dilation: dilationRate.pair, padding: padding, layer: layer.name)
    }

    /// A Glorot-uniform kernel `[kh, kw, channels, outputs]` drawn from `seed`. Keras takes
    /// the fans from the 4-D kernel shape, `kh·kw·channels` and `kh·kw·outputs`, for both layers.
    func glorotKernel(channels: Int, outputs: Int, seed: UInt64) -> Tensor<Float> {
        let taps = kernelSize.height * kernelSize.width
        return DenseMath.glorotUniform(shape: [kernelSize.height, kernelSize.width, channels, outputs],
                                       fanIn: taps * channels, fanOut: taps * outputs, seed: seed)
    }

    /// Writes the shared options under Keras's names; `kernelKey` (`kernel`, `depthwise`) names
    /// the kernel's initializer, regularizer and constraint.
    func encode<Config: KerasConfigWriting>(to config: inout Config, kernelKey: String) {
        config.set("kernel_size", kernelSize.list)
        config.set("strides", strides.list)
        config.set("padding", padding.rawValue)
        config.set("data_format", "channels_last")
        config.set("dilation_rate", dilationRate.list)
        config.set("activation", activation.kerasName)
        config.set("use_bias", useBias)
        config.setInitializer("\(kernelKey)_initializer", className: "GlorotUniform", seeded: true)
        config.setInitializer("bias_initializer", className: "Zeros", seeded: false)
        for key in ["\(kernelKey)_regularizer", "bias_regularizer", "activity_regularizer", "\(kernelKey)_constraint",
                    "bias_constraint"] {
            config.setNull(key)
        }
    }

    /// Reads the shared options with Keras's defaults, refusing strides and dilation that both
    /// exceed 1 as Keras does. The layers check `data_format` and their own options first, so
    /// that a config with several problems reports the same one as before this was shared.
    static func decode<Config: KerasConfigReading>(_ config: Config) throws -> ConvolutionOptions {
        let strides = try config.size2D("strides", default: Size2D(1, 1))
        let dilation = try config.size2D("dilation_rate", default: Size2D(1, 1))
        guard strides == Size2D(1, 1) || dilation == Size2D(1, 1) else {
            throw KerasConfigProblem.invalidOption("dilation_rate", message: "\(dilation) with strides \(strides): both cannot exceed 1")
        }
        return ConvolutionOptions(kernelSize: try config.size2D("kernel_size"), strides: strides, dilationRate: dilation,
                                  padding: try config.padding(default: .valid), activation: try config.activation(),
                                  useBias: try config["use_bias"]?.bool() ?? true)
    }
}

extension Layer {
    /// Checks the options every convolution shares, naming the layer and the option.
    func checkWindowOptions(filters: Int, kernelSize: Size2D, strides: Size2D, dilationRate: Size2D) throws {
        for (option, size) in [("kernel size", kernelSize), ("strides", strides), ("dilation rate", dilationRate)]
        where size.height < 1 || size.width < 1 {
            throw TrainingError.invalidArgument(layer: name, message: "\(option) \(size) must be positive")
        }
        guard filters > 0 else {
            throw TrainingError.invalidArgument(layer: name, message: "the number of filters must be positive, got \(filters)")
        }
        guard strides == Size2D(1, 1) || dilationRate == Size2D(1, 1) else {
            throw TrainingError.invalidArgument(layer: name, message:
                "strides \(strides) and dilation rate \(dilationRate) cannot both exceed 1 (Keras refuses it too)")
        }
    }
}
