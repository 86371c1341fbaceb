import Foundation
import Training

extension LayerSpec {
    /// The sliding window of a convolution or pooling item: its size, strides, padding and
    /// dilation as the item gives them.
    ///
    /// ```swift
    /// let specs = try LayerSpec.parse("conv2d:8:3x3:2:same:relu")
    /// // [.conv2d(filters: 8, window: Window(size: 3x3, strides: 2x2, padding: .same), activation: .relu)]
    /// ```
    public struct Window: Sendable, Equatable {
        /// The kernel or pool size.
        public var size: Size2D
        /// The strides; `nil` when the item names none (1 for convolutions, the pool size for pooling).
        public var strides: Size2D?
        /// `.valid` unless the item says `same`.
        public var padding: Padding
        /// The dilation rate of a convolution (1x1 unless the item says `dilation=SIZE`).
        public var dilationRate: Size2D

        /// A window of `size`, with the other options at their defaults unless given.
        public init(size: Size2D, strides: Size2D? = nil, padding: Padding = .valid, dilationRate: Size2D = Size2D(1, 1)) {
            self.size = size
            self.strides = strides
            self.padding = padding
            self.dilationRate = dilationRate
        }
    }

    /// The image items as `--help` lists them.
    static let imageGrammar = "conv2d:FILTERS:KERNEL[:STRIDES][:same|valid][:ACTIVATION][:dilation=SIZE], "
        + "depthwise_conv2d:KERNEL[:STRIDES][:same|valid][:ACTIVATION][:dilation=SIZE][:multiplier=N], "
        + "max_pooling2d:POOL[:STRIDES][:same|valid], average_pooling2d:POOL[:STRIDES][:same|valid], "
        + "global_average_pooling2d, global_max_pooling2d, zero_padding2d:P|HxW|TxBxLxR, reshape:D1xD2x..."

    /// Parses the input shape of a model built from items: one example's shape, `64` (rows of
    /// 64 features) or `8x8x1` (8x8 images with one channel), every size a positive integer.
    /// - Throws: ``WorkflowError/invalidSetting(file:setting:problem:)`` for ``WorkflowError/Setting/inputs``
    ///   naming the text and the bad size.
    ///
    /// ```swift
    /// let shape = try LayerSpec.parseInputShape("8x8x1")   // [8, 8, 1]
    /// ```
    public static func parseInputShape(_ text: String) throws -> [Int] {
        do {
            return try sizes(text.trimmingCharacters(in: .whitespaces), what: "input shape")
        } catch let problem as ItemProblem {
            throw WorkflowError.invalidSetting(file: nil, setting: .inputs, problem: problem.text
                + " (give the shape of one example: 64 for rows of 64 features, 8x8x1 for 8x8 one-channel images)")
        }
    }

    /// The image item `name` with `arguments`, or nil when `name` is not an image item.
    static func parseImageItem(_ name: String, _ arguments: [String]) throws -> LayerSpec? {
        switch name {
        case "conv2d":
            guard let filtersText = arguments.first, arguments.count >= 2 else {
                throw ItemProblem(text: "expected conv2d:FILTERS:KERNEL[:STRIDES][:same|valid][:ACTIVATION][:dilation=SIZE]")
            }
            guard let filters = Int(filtersText), filters > 0 else {
                throw ItemProblem(text: "filters '\(filtersText)' is not a positive integer")
            }
            let options = try windowOptions(Array(arguments.dropFirst()), sizeName: "kernel", keys: ["dilation"])
            return .conv2d(filters: filters, window: options.window, activation: options.activation ?? .linear)
        case "depthwise_conv2d":
            guard !arguments.isEmpty else {
                throw ItemProblem(text: "expected depthwise_conv2d:KERNEL[:STRIDES][:same|valid][:ACTIVATION][:dilation=SIZE][:multiplier=N]")
            }
            let options = try windowOptions(arguments, sizeName: "kernel", keys: ["dilation", "multiplier"])
            return .depthwiseConv2d(depthMultiplier: options.multiplier ?? 1, window: options.window,
                                    activation: options.activation ?? .linear)
        case "max_pooling2d", "average_pooling2d":
            guard !arguments.isEmpty else { throw ItemProblem(text: "expected \(name):POOL[:STRIDES][:same|valid]") }
            let options = try windowOptions(arguments, sizeName: "pool size", keys: [], activations: false)
            return name == "max_pooling2d" ? .maxPooling2d(options.window) : .averagePooling2d(options.window)
        case "global_average_pooling2d", "global_max_pooling2d":
            guard arguments.isEmpty else { throw ItemProblem(text: "expected \(name) without arguments") }
            return name == "global_average_pooling2d" ? .globalAveragePooling2d : .globalMaxPooling2d
        case "zero_padding2d":
            guard arguments.count == 1 else { throw ItemProblem(text: "expected zero_padding2d:P, zero_padding2d:HxW or zero_padding2d:TxBxLxR") }
            let amounts = try sizes(arguments[0], what: "padding", allowZero: true)
            switch amounts.count {
            case 1: return .zeroPadding2d(top: amounts[0], bottom: amounts[0], left: amounts[0], right: amounts[0])
            case 2: return .zeroPadding2d(top: amounts[0], bottom: amounts[0], left: amounts[1], right: amounts[1])
            case 4: return .zeroPadding2d(top: amounts[0], bottom: amounts[1], left: amounts[2], right: amounts[3])
            default:
                throw ItemProblem(text: "padding '\(arguments[0])' has \(amounts.count) sizes; give 1 (P), 2 (HxW) or 4 (TxBxLxR)")
            }
        case "reshape":
            guard arguments.count == 1 else { throw ItemProblem(text: "expected reshape:D1xD2x... (e.g. reshape:8x8x1)") }
            return .reshape(targetShape: try sizes(arguments[0], what: "target shape"))
        default:
            return nil
        }
    }

    /// The options after a window item's name (and filters): the size first, then strides (a
    /// SIZE), `same`/`valid`, an activation and `key=value` options in any order, each once.
    private static func windowOptions(_ arguments: [String], sizeName: String, keys: Set<String>, activations: Bool = true) throws
        -> (window: Window, activation: Activation?, multiplier: Int?) {
        var window = Window(size: try size2D(arguments[0], what: sizeName))
        var activation: Activation?, multiplier: Int?
        var seen: Set<String> = []
        func once(_ option: String, _ argument: String) throws {
            guard seen.insert(option).inserted else { throw ItemProblem(text: "\(option) given twice ('\(argument)')") }
        }
        for argument in arguments.dropFirst() {
            if let padding = Padding(rawValue: argument) {
                try once("padding", argument)
                window.padding = padding
            } else if argument.first?.isNumber == true {
                try once("strides", argument)
                window.strides = try size2D(argument, what: "strides")
            } else if let equals = argument.firstIndex(of: "="), keys.contains(String(argument[..<equals])) {
                let key = String(argument[..<equals]), value = String(argument[argument.index(after: equals)...])
                try once(key, argument)
                if key == "dilation" {
                    window.dilationRate = try size2D(value, what: "dilation")
                } else {
                    guard let count = Int(value), count > 0 else {
                        throw ItemProblem(text: "multiplier '\(value)' is not a positive integer")
                    }
                    multiplier = count
                }
            } else if activations, Activation(rawValue: argument) != nil {
                try once("activation", argument)
                activation = try Self.activation(argument)
            } else {
                let accepted = ["STRIDES (e.g. 2 or 2x1)", "same", "valid"] + (activations ? ["an activation ("
                    + Activation.allCases.map(\.rawValue).joined(separator: ", ") + ")"] : []) + keys.sorted().map { "\($0)=..." }
                throw ItemProblem(text: "unknown option '\(argument)'; expected \(accepted.joined(separator: ", "))")
            }
        }
        return (window, activation, multiplier)
    }

    /// `3` (square) or `3x2` (height x width).
    private static func size2D(_ text: String, what: String) throws -> Size2D {
        let values = try sizes(text, what: what)
        switch values.count {
        case 1: return Size2D(square: values[0])
        case 2: return Size2D(values[0], values[1])
        default: throw ItemProblem(text: "\(what) '\(text)' has \(values.count) sizes; give 3 or 3x2")
        }
    }

    /// Sizes separated by `x`, each a positive integer (or zero with `allowZero`).
    private static func sizes(_ text: String, what: String, allowZero: Bool = false) throws -> [Int] {
        let parts = text.split(separator: "x", omittingEmptySubsequences: false)
        let values = parts.map { Int($0) }
        guard !text.isEmpty, values.allSatisfy({ $0 != nil && $0! >= (allowZero ? 0 : 1) }) else {
            throw ItemProblem(text: "\(what) '\(text)' is not \(allowZero ? "non-negative" : "positive") integers separated by 'x'")
        }
        return values.map { $0! }
    }
}
