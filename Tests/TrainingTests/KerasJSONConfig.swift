import Foundation
import HDF5
@testable import Training

/// A Keras layer config parsed with JSONSerialization, for tests that decode Keras's own
/// `layer.get_config()` (stored in fixtures) and compare what layers encode with it.
struct KerasJSONConfig: KerasConfigReading {
    let value: Any

    init(json: String) throws { value = try JSONSerialization.jsonObject(with: Data(json.utf8)) }
    init(value: Any) { self.value = value }

    struct Problem: Error { let message: String }

    subscript(key: String) -> KerasJSONConfig? {
        guard let member = (value as? [String: Any])?[key], !(member is NSNull) else { return nil }
        return KerasJSONConfig(value: member)
    }
    func required(_ key: String) throws -> KerasJSONConfig {
        guard let member = self[key] else { throw Problem(message: "missing \(key)") }
        return member
    }
    func number() throws -> Double {
        guard let number = value as? NSNumber, !isBoolean else { throw Problem(message: "\(text) is not a number") }
        return number.doubleValue
    }
    func integer() throws -> Int {
        let number = try number()
        guard number == number.rounded() else { throw Problem(message: "\(text) is not an integer") }
        return Int(number)
    }
    func bool() throws -> Bool {
        guard isBoolean, let flag = value as? Bool else { throw Problem(message: "\(text) is not a boolean") }
        return flag
    }
    func string() throws -> String {
        guard let string = value as? String else { throw Problem(message: "\(text) is not a string") }
        return string
    }
    func array() throws -> [KerasJSONConfig] {
        guard let items = value as? [Any] else { throw Problem(message: "\(text) is not an array") }
        return items.map(KerasJSONConfig.init(value:))
    }
    var text: String { "\(value)" }
    var maximumWidth: Int { 1 << 20 }

    private var isBoolean: Bool { (value as? NSNumber).map(JSONText.isBoolean) ?? false }
}

/// What a layer encodes, as plain values.
struct KerasConfigRecorder: KerasConfigWriting {
    var members: [String: Any] = [:]
    mutating func set(_ key: String, _ value: Int) { members[key] = value }
    mutating func set(_ key: String, _ value: Double) { members[key] = value }
    mutating func set(_ key: String, _ value: Bool) { members[key] = value }
    mutating func set(_ key: String, _ value: String) { members[key] = value }
    mutating func set(_ key: String, _ value: [Int]) { members[key] = value }
    mutating func set(_ key: String, _ value: [[Int]]) { members[key] = value }
    mutating func setNull(_ key: String) { members[key] = NSNull() }
    mutating func setInitializer(_ key: String, className: String, seeded: Bool) { members[key] = className }
}
