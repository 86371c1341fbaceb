import Tensors

/// A pair of sizes along the height and width of an image (a kernel size, strides, a
/// dilation rate or a pool size), as Keras's two-element options.
public struct Size2D: Sendable, Hashable, CustomStringConvertible {
    /// The extent along the height (rows).
    public var height: Int
    /// The extent along the width (columns).
    public var width: Int

    /// A size of `height` rows and `width` columns.
    public init(_ height: Int, _ width: Int) {
        self.height = height
        self.width = width
    }

    /// The same size along both axes (Keras's integer shorthand, `kernel_size=3`).
    public init(square size: Int) { self.init(size, size) }

    /// `"3x3"`.
    public var description: String { "\(height)x\(width)" }

    var pair: (height: Int, width: Int) { (height, width) }
    var list: [Int] { [height, width] }
}

extension Layer {
    /// Checks that one example is an image `[height, width, channels]` (a batch is NHWC,
    /// Keras's `channels_last`) and returns its sizes.
    /// - Throws: ``TrainingError/invalidArgument(layer:message:)`` naming the layer, the input
    ///   shape and the fix (a `Reshape` in front, or a model input shaped as images).
    func imageShape(of inputShape: [Int]) throws -> (height: Int, width: Int, channels: Int) {
        guard inputShape.count == 3, inputShape.allSatisfy({ $0 > 0 }) else {
            let kind = Self.kerasClassName ?? typeName
            let hint = inputShape.count == 1
                ? "; reshape the features into images first, e.g. Reshape(targetShape: [8, 8, 1]) for 64 features, or build the model with inputShape: [height, width, channels]"
                : ""
            throw TrainingError.invalidArgument(layer: name, message:
                "\(kind) takes NHWC images [N, height, width, channels] with positive sizes, got inputs of shape "
                + "[N, \(inputShape.map(String.init).joined(separator: ", "))] (rank \(inputShape.count + 1))\(hint)")
        }
        return (inputShape[0], inputShape[1], inputShape[2])
    }

    /// Checks a batch against the image shape the layer was built for, naming a channel
    /// mismatch as such.
    func checkImages(_ input: Tensor<Float>) throws {
        guard let inputShape else {
            throw TrainingError.invalidArgument(layer: name, message: "the layer is not built (use it in a Sequential)")
        }
        if input.rank == 4, input.shape[3] != inputShape[2] {
            throw TrainingError.invalidArgument(layer: name, message:
                "the input has \(input.shape[3]) channels (shape \(input.shape)) but the layer was built for "
                + "\(inputShape[2]) (examples \(inputShape)); feed images with \(inputShape[2]) channels or rebuild the model")
        }
        try checkInput(input)
    }
}

/// Reading and writing Keras's two-element options.
extension KerasConfigReading {
    /// A `Size2D` option given as an integer or a two-element list, each entry in `1...limit`.
    func size2D(_ key: String, default fallback: Size2D? = nil, limit: Int = 1 << 16) throws -> Size2D {
        guard let value = self[key] else {
            if let fallback { return fallback }
            _ = try required(key)
            throw KerasConfigProblem.invalidOption(key, message: "is missing")
        }
        let entries: [Int]
        if let single = try? value.integer() {
            entries = [single, single]
        } else if let list = try? value.array().map({ try $0.integer() }), list.count == 2 {
            entries = list
        } else {
            throw KerasConfigProblem.invalidOption(key, message: "\(value.text) is not an integer or a list of two integers")
        }
        guard entries.allSatisfy({ (1...limit).contains($0) }) else {
            throw KerasConfigProblem.invalidOption(key, message: "\(value.text) has an entry outside 1...\(limit)")
        }
        return Size2D(entries[0], entries[1])
    }

    /// The `padding` option (`"valid"` or `"same"`, case-insensitive as Keras).
    func padding(default fallback: Padding) throws -> Padding {
        guard let value = self["padding"] else { return fallback }
        guard let text = try? value.string(), let padding = Padding(rawValue: text.lowercased()) else {
            throw KerasConfigProblem.unsupportedOption("padding", value: value.text)
        }
        return padding
    }

    /// Refuses a `data_format` other than `channels_last` (Batchwise tensors are NHWC).
    func requireChannelsLast() throws {
        guard let value = self["data_format"] else { return }
        guard (try? value.string()) == "channels_last" else {
            throw KerasConfigProblem.unsupportedOption("data_format", value: value.text)
        }
    }
}
