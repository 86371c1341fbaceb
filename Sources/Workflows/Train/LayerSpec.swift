import Foundation
import Training

/// One layer of a compact layer specification, the text `batchwise train --layers` takes:
/// comma-separated items such as `batch_normalization,dense:8:sigmoid,dropout:0.2,dense:1:sigmoid`.
///
/// | Item | Layer |
/// |---|---|
/// | `dense:UNITS[:ACTIVATION]` | ``/Training/Dense`` (activation `linear` unless given) |
/// | `batch_normalization` | ``/Training/BatchNormalization`` with Keras's defaults |
/// | `layer_normalization` | ``/Training/LayerNormalization`` with Keras's defaults |
/// | `group_normalization:GROUPS` | ``/Training/GroupNormalization`` (GROUPS must divide the width) |
/// | `dropout:RATE` | ``/Training/Dropout``, `0 <= RATE < 1` |
/// | `relu`, `softmax` | ``/Training/ReLU``, ``/Training/Softmax`` |
/// | `flatten` | ``/Training/Flatten`` |
/// | `activation:NAME` | ``/Training/ActivationLayer`` (`linear`, `relu`, `sigmoid`, `tanh`, `softmax`) |
/// | `conv2d:FILTERS:KERNEL[:STRIDES][:same\|valid][:ACTIVATION][:dilation=SIZE]` | ``/Training/Conv2D`` (strides 1, `valid`, `linear` unless given) |
/// | `depthwise_conv2d:KERNEL[:STRIDES][:same\|valid][:ACTIVATION][:dilation=SIZE][:multiplier=N]` | ``/Training/DepthwiseConv2D`` |
/// | `max_pooling2d:POOL[:STRIDES][:same\|valid]`, `average_pooling2d:...` | ``/Training/MaxPooling2D``, ``/Training/AveragePooling2D`` (strides = POOL unless given) |
/// | `global_average_pooling2d`, `global_max_pooling2d` | ``/Training/GlobalAveragePooling2D``, ``/Training/GlobalMaxPooling2D`` |
/// | `zero_padding2d:P`, `zero_padding2d:HxW`, `zero_padding2d:TOPxBOTTOMxLEFTxRIGHT` | ``/Training/ZeroPadding2D`` |
/// | `reshape:D1xD2x...` | ``/Training/Reshape`` (e.g. `reshape:8x8x1`) |
///
/// A SIZE (KERNEL, STRIDES, POOL, dilation) is `3` (square) or `3x2` (height x width). The
/// optional arguments of the image items are told apart by their form, so any may be left out.
/// The input of a model built from the items is one example's shape, `64` or `8x8x1`
/// (``parseInputShape(_:)``).
///
/// The text is parsed once into these values; a bad item is a
/// ``WorkflowError/invalidLayerSpec(spec:item:position:problem:)`` naming it and its position.
///
/// ```swift
/// let specs = try LayerSpec.parse("batch_normalization,dense:8:sigmoid,dense:1:sigmoid")
/// let model = try Sequential(inputFeatures: 1, specs.map { $0.makeLayer() }, seed: 7)
/// ```
public enum LayerSpec: Sendable, Equatable {
    /// `dense:UNITS[:ACTIVATION]`.
    case dense(units: Int, activation: Activation)
    /// `batch_normalization`.
    case batchNormalization
    /// `layer_normalization`.
    case layerNormalization
    /// `group_normalization:GROUPS`.
    case groupNormalization(groups: Int)
    /// `dropout:RATE`.
    case dropout(rate: Double)
    /// `relu`.
    case relu
    /// `softmax`.
    case softmax
    /// `flatten`.
    case flatten
    /// `activation:NAME`.
    case activation(Activation)
    /// `conv2d:FILTERS:KERNEL[:STRIDES][:same|valid][:ACTIVATION][:dilation=SIZE]`.
    case conv2d(filters: Int, window: Window, activation: Activation)
    /// `depthwise_conv2d:KERNEL[:STRIDES][:same|valid][:ACTIVATION][:dilation=SIZE][:multiplier=N]`.
    case depthwiseConv2d(depthMultiplier: Int, window: Window, activation: Activation)
    /// `max_pooling2d:POOL[:STRIDES][:same|valid]`.
    case maxPooling2d(Window)
    /// `average_pooling2d:POOL[:STRIDES][:same|valid]`.
    case averagePooling2d(Window)
    /// `global_average_pooling2d`.
    case globalAveragePooling2d
    /// `global_max_pooling2d`.
    case globalMaxPooling2d
    /// `zero_padding2d:P`, `zero_padding2d:HxW` or `zero_padding2d:TOPxBOTTOMxLEFTxRIGHT`.
    case zeroPadding2d(top: Int, bottom: Int, left: Int, right: Int)
    /// `reshape:D1xD2x...`.
    case reshape(targetShape: [Int])

    /// The item names, with their arguments, as `--help` lists them.
    public static let grammar = "dense:UNITS[:ACTIVATION], batch_normalization, layer_normalization, group_normalization:GROUPS, "
        + "dropout:RATE, relu, softmax, flatten, activation:NAME, " + imageGrammar + " (ACTIVATION/NAME: "
        + Activation.allCases.map(\.rawValue).joined(separator: ", ") + "; SIZE: 3 or 3x2)"

    /// Parses a whole specification (items separated by commas, spaces around them ignored).
    /// - Throws: ``WorkflowError/invalidLayerSpec(spec:item:position:problem:)`` for the first
    ///   bad item (position 1 is the first item).
    public static func parse(_ text: String) throws -> [LayerSpec] {
        let items = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard items != [""] else {
            throw WorkflowError.invalidLayerSpec(spec: text, item: "", position: 1, problem: "the specification names no layer")
        }
        return try items.enumerated().map { index, item in
            do {
                return try parseItem(item)
            } catch let problem as ItemProblem {
                throw WorkflowError.invalidLayerSpec(spec: text, item: item, position: index + 1, problem: problem.text)
            }
        }
    }

    /// A fresh, unbuilt layer; the model that builds it draws its initial weights.
    public func makeLayer() -> any Layer {
        switch self {
        case let .dense(units, activation): Dense(units: units, activation: activation)
        case .batchNormalization: BatchNormalization()
        case .layerNormalization: LayerNormalization()
        case let .groupNormalization(groups): GroupNormalization(groups: groups)
        case let .dropout(rate): Dropout(rate: rate)
        case .relu: ReLU()
        case .softmax: Softmax()
        case .flatten: Flatten()
        case let .activation(activation): ActivationLayer(activation)
        case let .conv2d(filters, window, activation):
            Conv2D(filters: filters, kernelSize: window.size, strides: window.strides ?? Size2D(1, 1), padding: window.padding,
                   dilationRate: window.dilationRate, activation: activation)
        case let .depthwiseConv2d(multiplier, window, activation):
            DepthwiseConv2D(kernelSize: window.size, strides: window.strides ?? Size2D(1, 1), padding: window.padding,
                            depthMultiplier: multiplier, dilationRate: window.dilationRate, activation: activation)
        case let .maxPooling2d(window): MaxPooling2D(poolSize: window.size, strides: window.strides, padding: window.padding)
        case let .averagePooling2d(window): AveragePooling2D(poolSize: window.size, strides: window.strides, padding: window.padding)
        case .globalAveragePooling2d: GlobalAveragePooling2D()
        case .globalMaxPooling2d: GlobalMaxPooling2D()
        case let .zeroPadding2d(top, bottom, left, right): ZeroPadding2D(top: top, bottom: bottom, left: left, right: right)
        case let .reshape(targetShape): Reshape(targetShape: targetShape)
        }
    }

    /// Why one item is bad; ``parse(_:)`` wraps it with the item and its position.
    struct ItemProblem: Error {
        let text: String
    }

    private static func parseItem(_ item: String) throws -> LayerSpec {
        let parts = item.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let name = parts[0]
        let arguments = Array(parts.dropFirst())
        func expectArguments(_ range: ClosedRange<Int>, usage: String) throws {
            guard range.contains(arguments.count) else { throw ItemProblem(text: "expected \(usage)") }
        }
        switch name {
        case "dense":
            try expectArguments(1...2, usage: "dense:UNITS or dense:UNITS:ACTIVATION")
            guard let units = Int(arguments[0]), units > 0 else {
                throw ItemProblem(text: "units '\(arguments[0])' is not a positive integer")
            }
            return .dense(units: units, activation: try activation(arguments.count == 2 ? arguments[1] : "linear"))
        case "group_normalization":
            try expectArguments(1...1, usage: "group_normalization:GROUPS")
            guard let groups = Int(arguments[0]), groups > 0 else {
                throw ItemProblem(text: "groups '\(arguments[0])' is not a positive integer")
            }
            return .groupNormalization(groups: groups)
        case "dropout":
            try expectArguments(1...1, usage: "dropout:RATE")
            guard let rate = Double(arguments[0]), rate >= 0, rate < 1 else {
                throw ItemProblem(text: "rate '\(arguments[0])' is not a number in [0, 1)")
            }
            return .dropout(rate: rate)
        case "activation":
            try expectArguments(1...1, usage: "activation:NAME")
            return .activation(try activation(arguments[0]))
        case "batch_normalization", "layer_normalization", "relu", "softmax", "flatten":
            try expectArguments(0...0, usage: "\(name) without arguments")
            let plain: [String: LayerSpec] = ["batch_normalization": .batchNormalization, "layer_normalization": .layerNormalization,
                                              "relu": .relu, "softmax": .softmax, "flatten": .flatten]
            return plain[name]!
        case "":
            throw ItemProblem(text: "empty item (two commas in a row, or a comma at an end)")
        default:
            guard let image = try parseImageItem(name, arguments) else {
                throw ItemProblem(text: "unknown layer '\(name)'; known: \(grammar)")
            }
            return image
        }
    }

    static func activation(_ name: String) throws -> Activation {
        guard let activation = Activation(rawValue: name) else {
            throw ItemProblem(text: "unknown activation '\(name)'; known: "
                + Activation.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return activation
    }
}
