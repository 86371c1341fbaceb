import Foundation
import HDF5

/// A parsed JSON value together with its location (`config.layers[2].config.units`), so
/// every complaint about a Keras configuration says where the bad value is.
struct KerasJSON {
    let value: Any
    let path: String
    let file: String

    static func parse(_ text: String, file: String) throws -> KerasJSON {
        try JSONLimits.check(text, file: file)
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
            throw CheckpointError.invalidModelConfig(file: file, path: "$", message: "not valid JSON" + (detail.map { ": \($0)" } ?? ""))
        }
        return KerasJSON(value: object, path: "$", file: file)
    }

    func fail(_ message: String) -> CheckpointError {
        .invalidModelConfig(file: file, path: path, message: message)
    }

    var isNull: Bool { value is NSNull }

    /// The member `key`, or nil when absent or JSON null.
    subscript(key: String) -> KerasJSON? {
        guard let object = value as? [String: Any], let member = object[key], !(member is NSNull) else { return nil }
        return KerasJSON(value: member, path: path + "." + key, file: file)
    }

    func required(_ key: String) throws -> KerasJSON {
        guard value is [String: Any] else { throw fail("expected an object") }
        guard let member = self[key] else { throw fail("missing \"\(key)\"") }
        return member
    }

    var isObject: Bool { value is [String: Any] }
    var keys: [String] { (value as? [String: Any]).map { Array($0.keys) } ?? [] }

    func array() throws -> [KerasJSON] {
        guard let items = value as? [Any] else { throw fail("expected an array") }
        return items.enumerated().map { KerasJSON(value: $1, path: "\(path)[\($0)]", file: file) }
    }

    func string() throws -> String {
        guard let text = value as? String else { throw fail("expected a string, found \(self.text)") }
        return text
    }

    /// JSON `true`/`false` arrive as NSNumber too; they are not numbers here (and numbers
    /// are not booleans), so `"units": true` is a type error rather than 1. The rule is the
    /// JSON writer's, so what is read as a boolean is written back as one.
    private var isBoolean: Bool {
        guard let number = value as? NSNumber else { return false }
        return JSONText.isBoolean(number)
    }

    func number() throws -> Double {
        guard let number = value as? NSNumber, !isBoolean else { throw fail("expected a number, found \(text)") }
        return number.doubleValue
    }

    func integer() throws -> Int {
        let number = try number()
        guard number.rounded() == number, abs(number) < 1e15 else { throw fail("expected an integer, found \(number)") }
        return Int(number)
    }

    func bool() throws -> Bool {
        if isBoolean, let flag = value as? Bool { return flag }
        throw fail("expected true or false, found \(text)")
    }

    /// A short rendering for error messages.
    var text: String {
        if let string = value as? String { return string }
        if isNull { return "null" }
        if isBoolean, let flag = value as? Bool { return flag ? "true" : "false" }
        return (try? JSONText.serialize(value)) ?? "\(value)"
    }
}
