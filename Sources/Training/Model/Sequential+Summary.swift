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
        var shape = inputShape
        for (index, layer) in layers.enumerated() {
            shape = (try? layer.outputShape(forInput: shape)) ?? shape   // built layers take their input
            let params = layer.variables.reduce(0) { $0 + $1.value.scalarCount }
            lines.append("│ " + pad("\(layer.name) (\(layer.typeName))", widths.0) + "│ "
                         + pad("(" + (["None"] + shape.map(String.init)).joined(separator: ", ") + ")", widths.1) + "│ " + pad("\(params)", widths.2 - 1, right: true) + " │")
            if index < layers.count - 1 { lines.append(bar("├", "┼", "┤", "─")) }
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
