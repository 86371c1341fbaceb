import Tensors

/// Keras `ZeroPadding2D`: adds rows of zeros above and below and columns of zeros left and
/// right of each NHWC image.
///
/// Input `[N, H, W, C]`, output `[N, top + H + bottom, left + W + right, C]`; O(output)
/// forward, O(input) backward (a crop of the upstream gradient).
///
/// ```swift
/// let pad = ZeroPadding2D(top: 1, bottom: 1, left: 2, right: 2)
/// ```
public struct ZeroPadding2D: Layer {
    public static let namePrefix = "zero_padding2d"
    public var name: String
    public var isTrainable = true
    /// Rows added above.
    public let top: Int
    /// Rows added below.
    public let bottom: Int
    /// Columns added on the left.
    public let left: Int
    /// Columns added on the right.
    public let right: Int
    public private(set) var inputShape: [Int]?

    /// A padding layer; every amount must be ≥ 0.
    public init(top: Int = 1, bottom: Int = 1, left: Int = 1, right: Int = 1, name: String? = nil) {
        self.top = top
        self.bottom = bottom
        self.left = left
        self.right = right
        self.name = name ?? ""
    }

    /// `[top + H + bottom, left + W + right, C]`.
    public func outputShape(forInput inputShape: [Int]) throws -> [Int] {
        let image = try imageShape(of: inputShape)
        guard [top, bottom, left, right].allSatisfy({ $0 >= 0 }) else {
            throw TrainingError.invalidArgument(layer: name, message:
                "padding (top \(top), bottom \(bottom), left \(left), right \(right)) must not be negative")
        }
        return [top + image.height + bottom, left + image.width + right, image.channels]
    }

    public mutating func build(inputShape: [Int], seed: UInt64) throws -> [Int] {
        let output = try outputShape(forInput: inputShape)
        try checkRebuild(inputShape)
        self.inputShape = inputShape
        return output
    }

    public func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> LayerOutput<Void> {
        try checkImages(input)
        return LayerOutput(output: PoolingMath.zeroPad(input, top: top, bottom: bottom, left: left, right: right))
    }

    public func backward(_ upstream: Tensor<Float>, tape: Void, gradients: inout LayerGradients,
                         needsInputGradient: Bool) throws -> Tensor<Float>? {
        guard needsInputGradient, let inputShape else { return nil }
        let expected = [upstream.shape.first ?? 0] + (try outputShape(forInput: inputShape))
        guard upstream.shape == expected else {
            throw TrainingError.shapeMismatch(layer: name, expected: expected, found: upstream.shape)
        }
        return PoolingMath.zeroPadBackward(upstream: upstream, top: top, left: left, inputShape: [upstream.shape[0]] + inputShape)
    }

    public var variables: [NamedVariable] { [] }

    public mutating func setVariable(_ localName: String, to value: Tensor<Float>) throws {
        throw TrainingError.unknownVariable(name: "\(name)/\(localName)", available: [])
    }
}

// MARK: Keras config

extension ZeroPadding2D {
    public static var kerasClassName: String? { "ZeroPadding2D" }

    public func encodeKerasConfig<Config: KerasConfigWriting>(to config: inout Config) {
        config.set("padding", [[top, bottom], [left, right]])
        config.set("data_format", "channels_last")
    }

    /// Keras's `padding` is an integer, a pair `(rows, columns)` or `((top, bottom), (left, right))`.
    public static func decodeKerasConfig<Config: KerasConfigReading>(_ config: Config, name: String) throws -> ZeroPadding2D {
        try config.requireChannelsLast()
        guard let value = config["padding"] else { return ZeroPadding2D(name: name) }
        let limit = config.maximumWidth
        func amount(_ item: Config) throws -> Int {
            let n = try item.integer()
            guard (0...limit).contains(n) else {
                throw KerasConfigProblem.invalidOption("padding", message: "\(value.text) has an entry outside 0...\(limit)")
            }
            return n
        }
        if (try? value.integer()) != nil {
            let n = try amount(value)
            return ZeroPadding2D(top: n, bottom: n, left: n, right: n, name: name)
        }
        guard let items = try? value.array(), items.count == 2 else {
            throw KerasConfigProblem.invalidOption("padding", message: "\(value.text) is not an integer, a pair or a pair of pairs")
        }
        if let rows = try? items[0].array(), let columns = try? items[1].array(), rows.count == 2, columns.count == 2 {
            return ZeroPadding2D(top: try amount(rows[0]), bottom: try amount(rows[1]),
                                 left: try amount(columns[0]), right: try amount(columns[1]), name: name)
        }
        let rows = try amount(items[0]), columns = try amount(items[1])
        return ZeroPadding2D(top: rows, bottom: rows, left: columns, right: columns, name: name)
    }
}
