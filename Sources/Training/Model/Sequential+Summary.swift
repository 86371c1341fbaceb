import Foundation

extension Sequential {
    /// A Keras-like table of layers, output shapes and parameter counts.
    ///
    /// ```text
    /// Model: "sequential"
    /// ┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
    /// ┃ Layer (type)                            ┃ Output Shape           ┃       Param # ┃
    /// ┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
    /// │ dense (Dense)                           │ (None, 8)              │            16 │
    /// ...
    ///  Total params: 61 (244.00 B)
    /// ```
    public func summary() -> String {
        // The first column grows to fit the longest "name (Type)", so the table never breaks.
        let longest = layers.map { "\($0.name) (\($0.typeName))".count + 1 }.max() ?? 0
        let widths = (max(40, longest), 23, 14)
        func pad(_ s: String, _ w: Int, right: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(0, w - s.count))
            return right ? fill + s : s + fill
        }
        func bar(_ l: String, _ m: String, _ r: String, _ h: String) -> String {
            l + String(repeating: h, count: widths.0 + 1) + m + String(repeating: h, count: widths.1 + 1)
                + m + String(repeating: h, count: widths.2 + 1) + r
        }
        var lines = ["Model: \"\(name)\""]
        lines.append(bar("┏", "┳", "┓", "━"))
        lines.append("┃ " + pad("Layer (type)", widths.0) + "┃ " + pad("Output Shape", widths.1)
                     + "┃ " + pad("Param #", widths.2 - 1, right: true) + " ┃")
        lines.append(bar("┡", "╇", "┩", "━"))
        let rows = layerSummaries
        for (index, row) in rows.enumerated() {
            lines.append("│ " + pad("\(row.name) (\(row.typeName))", widths.0) + "│ "
                         + pad("(" + (["None"] + row.outputShape.map(String.init)).joined(separator: ", ") + ")", widths.1) + "│ " + pad("\(row.parameterCount)", widths.2 - 1, right: true) + " │")
            if index < rows.count - 1 { lines.append(bar("├", "┼", "┤", "─")) }
        }
        lines.append(bar("└", "┴", "┘", "─"))
        let counts = parameterCounts
        func bytes(_ n: Int) -> String {
            let b = Double(n * 4)
            if b < 1024 { return String(format: "%.2f B", b) }
            if b < 1024 * 1024 { return String(format: "%.2f KB", b / 1024) }
            return String(format: "%.2f MB", b / 1024 / 1024)
        }
        lines.append(" Total params: \(counts.total) (\(bytes(counts.total)))")
        lines.append(" Trainable params: \(counts.trainable) (\(bytes(counts.trainable)))")
        lines.append(" Non-trainable params: \(counts.nonTrainable) (\(bytes(counts.nonTrainable)))")
        return lines.joined(separator: "\n")
    }
}

/// One row of ``Sequential/summary()``: a layer's name and type, the shape of one example it
/// outputs (without the batch axis) and its parameter count.
public struct LayerSummary: Sendable, Equatable {
    /// The layer's name (`conv2d_1`).
    public var name: String
    /// The layer's type name (`Conv2D`).
    public var typeName: String
    /// The shape of one output example, e.g. `[8, 8, 4]` (Keras prints `(None, 8, 8, 4)`).
    public var outputShape: [Int]
    /// The number of values in the layer's variables, moving statistics included.
    public var parameterCount: Int
}

extension Sequential {
    /// The rows of ``summary()``, in layer order, for tools that lay them out themselves
    /// (`batchwise inspect --json`).
    ///
    /// ```swift
    /// for row in model.layerSummaries { print(row.name, row.outputShape, row.parameterCount) }
    /// ```
    public var layerSummaries: [LayerSummary] {
        var shape = inputShape
        return layers.map { layer in
            shape = (try? layer.outputShape(forInput: shape)) ?? shape   // built layers take their input
            return LayerSummary(name: layer.name, typeName: layer.typeName, outputShape: shape,
                                parameterCount: layer.variables.reduce(0) { $0 + $1.value.scalarCount })
        }
    }
}
