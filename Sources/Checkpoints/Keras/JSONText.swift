import Foundation
import HDF5

/// Serializes the `[String: Any]` trees that describe Keras configs, with keys sorted so the
/// same model always gives the same bytes.
///
/// Foundation's `JSONSerialization` bridges every value through `NSNumber`/`NSDictionary`
/// and dynamic casts, which made producing one small model config cost about 5 ms — as much
/// as writing the whole checkpoint. This writer handles exactly the value kinds the encoders
/// produce and throws on anything else, so an unexpected type is a bug report, not bad JSON.
///
/// Numbers use Swift's shortest round-tripping spelling, so a `Float` momentum of `0.99` is
/// written as `0.99` (not its widened `Double` digits) and reads back as the same `Float`.
enum JSONText {
    struct UnsupportedValue: Error, CustomStringConvertible {
        let path: String
        let type: String
        var description: String { "cannot write a \(type) as JSON at \(path)" }
    }

    static func serialize(_ value: Any) throws -> String {
        var output = ""
        output.reserveCapacity(4096)
        try write(value, path: "$", into: &output)
        return output
    }

    private static func write(_ value: Any, path: String, into output: inout String) throws {
        // Exact types first, without casts: on Linux a Swift `Bool` or `Int` also matches
        // `as NSNumber`, a parsed JSON number (an `NSNumber`) also matches `as Bool`, and
        // casting a Swift collection to a class bridges the whole collection first.
        let valueType = type(of: value)
        if valueType == String.self {
            writeString(value as! String, into: &output)
        } else if valueType == Bool.self {
            output += (value as! Bool) ? "true" : "false"
        } else if valueType == Int.self {
            output += String(value as! Int)
        } else if valueType == Int64.self {
            output += String(value as! Int64)
        } else if valueType == Int32.self {
            output += String(value as! Int32)
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
                writeString(key, into: &output)
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
            writeString(string, into: &output)
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
        if String(describing: type(of: number)).contains("Boolean") {
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

    private static func writeString(_ string: String, into output: inout String) {
        output += HDF5Node.quote(string)
    }
}
