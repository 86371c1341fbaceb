import Foundation

/// Batchwise's one JSON writer (package access): the Keras configs and native checkpoints of
/// the Checkpoints module, `batchwise inspect --json` (`HDF5Node/jsonText(indent:)`) and the
/// seed experiment's report all spell strings, numbers, booleans, objects and arrays here.
///
/// It lives in HDF5 because HDF5 is the lowest module that writes JSON. It is hand-written
/// rather than `JSONEncoder` over a `Codable` value tree because that encoder writes `0.0` as
/// `0` and `/` as `\/` (so the bytes of saved files would change) and cannot lay out
/// `inspect --json` (fields in a fixed order, `": "` separators); it was also 1.2x–1.9x
/// slower in a release-build micro-benchmark, and Foundation's `JSONSerialization`, which
/// bridges every value through `NSNumber`/`NSDictionary`, 10x–15x (docs/perf/json.md).
///
/// `serialize(_:)` writes the open `[String: Any]` trees that describe Keras configs: keys
/// sorted so the same model always gives the same bytes, and exactly the value kinds the
/// encoders produce; anything else throws, so an unexpected type is a bug report, not bad JSON.
/// Numbers use Swift's shortest round-tripping spelling, so a `Float` momentum of `0.99` is
/// written as `0.99` (not its widened `Double` digits) and reads back as the same `Float`.
package enum JSONText {
    /// A value `serialize(_:)` cannot write, and where it is (`$.layers[2].config.rate`).
    package struct UnsupportedValue: Error, CustomStringConvertible {
        package let path: String
        package let type: String
        package var description: String { "cannot write a \(type) as JSON at \(path)" }
    }

    /// Compact JSON for `value` with every object's keys sorted.
    /// - Throws: `UnsupportedValue` for a non-finite number or a type that is not a string,
    ///   `Bool`, integer, `Float`, `Double`, `NSNull`, `NSNumber`, array or `[String: Any]`.
    package static func serialize(_ value: Any) throws -> String {
        var output = ""
        output.reserveCapacity(4096)
        try write(value, path: "$", into: &output)
        return output
    }

    /// An object whose member values are already JSON, in the order given; `indent` nil
    /// writes one line (`{"a": 1, "b": [2]}`), otherwise one member per line, nested `depth` deep.
    package static func object(_ members: [(key: String, value: String)], indent: String?, depth: Int) -> String {
        if members.isEmpty { return "{}" }
        return enclosed("{", members.map { quote($0.key) + ": " + $0.value }, "}", indent: indent, depth: depth)
    }

    /// An array whose items are already JSON, laid out as `object(_:indent:depth:)` does.
    package static func array(_ items: [String], indent: String?, depth: Int) -> String {
        if items.isEmpty { return "[]" }
        return enclosed("[", items, "]", indent: indent, depth: depth)
    }

    /// A JSON string literal for `text`.
    package static func quote(_ text: String) -> String {
        "\"" + escaping(text, quotes: true) { $0.value < 0x20 } + "\""
    }

    /// The one rule for telling a JSON `true`/`false` from a number once Foundation's parser
    /// has made both `NSNumber`s: booleans are the CFBoolean class (on Linux a parsed `1` also
    /// answers `as? Bool`, and on Darwin an `Int8` also has `objCType` "c").
    package static func isBoolean(_ number: NSNumber) -> Bool {
        String(describing: type(of: number)).contains("Boolean")
    }

    /// `text` with `\n`, `\r`, `\t` and the other scalars `needsEscape` selects written as
    /// JSON escapes (`\u001b`); with `quotes`, `"` and `\` too.
    static func escaping(_ text: String, quotes: Bool, where needsEscape: (Unicode.Scalar) -> Bool) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"" where quotes: out += "\\\""
            case "\\" where quotes: out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where needsEscape(scalar):
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func enclosed(_ open: String, _ items: [String], _ close: String, indent: String?, depth: Int) -> String {
        guard let indent else { return open + items.joined(separator: ", ") + close }
        let inner = String(repeating: indent, count: depth + 1)
        let outer = String(repeating: indent, count: depth)
        return open + "\n" + items.map { inner + $0 }.joined(separator: ",\n") + "\n" + outer + close
    }

    private static func write(_ value: Any, path: String, into output: inout String) throws {
        // Exact types first, without casts: on Linux a Swift `Bool` or `Int` also matches
        // `as NSNumber`, a parsed JSON number (an `NSNumber`) also matches `as Bool`, and
        // casting a Swift collection to a class bridges the whole collection first.
        let valueType = type(of: value)
        if valueType == String.self {
            output += quote(value as! String)
        } else if valueType == Bool.self {
            output += (value as! Bool) ? "true" : "false"
        } else if valueType == Int.self {
            output += String(value as! Int)
        } else if valueType == Int64.self {
            output += String(value as! Int64)
        } else if valueType == Int32.self {
            output += String(value as! Int32)
        } else if valueType == UInt64.self {
            output += String(value as! UInt64)
        } else if valueType == Float.self {
            let float = value as! Float
            try writeNumber(float.isFinite, float.description, path: path, into: &output)
        } else if valueType == Double.self {
            let double = value as! Double
            try writeNumber(double.isFinite, double.description, path: path, into: &output)
        } else if let object = value as? [String: Any] {
            output += "{"
            for (index, key) in object.keys.sorted().enumerated() {
                if index > 0 { output += "," }
                output += quote(key)
                output += ":"
                try write(object[key]!, path: "\(path).\(key)", into: &output)
            }
            output += "}"
        } else if let array = value as? [Any] {
            output += "["
            for (index, element) in array.enumerated() {
                if index > 0 { output += "," }
                try write(element, path: "\(path)[\(index)]", into: &output)
            }
            output += "]"
        } else if let string = value as? String {
            output += quote(string)
        } else if value is NSNull {
            output += "null"
        } else if let number = value as? NSNumber {
            try writeNumber(number, path: path, into: &output)
        } else {
            throw UnsupportedValue(path: path, type: String(describing: valueType))
        }
    }

    private static func writeNumber(_ isFinite: Bool, _ spelling: String, path: String,
                                    into output: inout String) throws {
        guard isFinite else { throw UnsupportedValue(path: path, type: "non-finite number \(spelling)") }
        output += spelling
    }

    /// Numbers that come from parsed JSON (a Keras compile config carried over).
    private static func writeNumber(_ number: NSNumber, path: String, into output: inout String) throws {
        if isBoolean(number) {
            output += number.boolValue ? "true" : "false"
            return
        }
        let kind = String(cString: number.objCType)
        if kind == "d" || kind == "f" {
            try writeNumber(number.doubleValue.isFinite, number.doubleValue.description, path: path, into: &output)
        } else {
            output += String(number.int64Value)
        }
    }
}
