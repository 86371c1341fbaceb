import Foundation

/// The limits every model configuration (Keras `config.json`, legacy `model_config`, the
/// architecture inside a native checkpoint) must respect. They are checked on the raw text
/// and on the decoded layer list, before any variable is allocated, so a hostile file costs
/// at most one scan of its text. Rationale in docs/reliability/data-and-configs.md.
///
/// ```swift
/// try JSONLimits.check(text, file: "config.json")   // throws for 100,000 nested "["
/// ```
public enum JSONLimits {
    /// Largest configuration text accepted (real Keras configs are a few KB per layer).
    public static let maximumBytes = 64 << 20
    /// Deepest nesting of arrays and objects accepted (Keras 3 functional configs reach ~8).
    public static let maximumDepth = 64
    /// Most layers a model may have.
    public static let maximumLayers = 10_000
    /// Most variables (kernels, biases, BN statistics) a model may hold: 250 M float32
    /// values, 1 GB, before optimizer slots.
    public static let maximumParameters = 250_000_000

    /// Rejects text that is too long or nests too deep, before the JSON parser sees it
    /// (Foundation's parser recurses per level; a parser without a cap would overflow the stack).
    public static func check(_ text: String, file: String) throws {
        let utf8 = text.utf8
        guard utf8.count <= maximumBytes else {
            throw CheckpointError.invalidModelConfig(
                file: file, path: "$", message: "the configuration is \(utf8.count) bytes; the limit is \(maximumBytes)")
        }
        var depth = 0
        var inString = false
        var escaped = false
        for (offset, byte) in utf8.enumerated() {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                guard depth <= maximumDepth else {
                    throw CheckpointError.invalidModelConfig(
                        file: file, path: "$",
                        message: "arrays and objects nest deeper than \(maximumDepth) levels (at byte \(offset))")
                }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
    }
}
