// Micro-benchmark behind docs/perf/json.md (issue 14 item 7): the cost of writing a Keras
// model config with Batchwise's JSON writer and with the Codable alternative, in one process.
// Compiled together with the writer itself, in release mode:
//
//   swiftc -O -package-name Batchwise Sources/HDF5/JSONText.swift \
//       scripts/json-writer-microbench/main.swift -o /tmp/json-writer-microbench
//   /tmp/json-writer-microbench fixtures/keras-written/seed_model.config.json
//
// A: JSONText.serialize over [String: Any] (what the Keras encoders produce)
// B: a JSONValue enum (Codable) + JSONEncoder(.sortedKeys), the value built directly
// C: [String: Any] -> JSONValue -> JSONEncoder (switching only the call site)
// D: JSONSerialization(.sortedKeys) over [String: Any] (the writer before JSONText)
// Times are thread CPU time (CLOCK_THREAD_CPUTIME_ID), so other processes on the machine
// inflate them less than wall-clock time would: median of 15 rounds of 100 encodings.
import Foundation

enum JSONValue: Encodable {
    case null, bool(Bool), int(Int), float(Float), double(Double), string(String)
    case array([JSONValue]), object([String: JSONValue])
    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let v): try container.encode(v)
        case .int(let v): try container.encode(v)
        case .float(let v): try container.encode(v)
        case .double(let v): try container.encode(v)
        case .string(let v): try container.encode(v)
        case .array(let v): try container.encode(v)
        case .object(let v): try container.encode(v)
        }
    }
    init(_ any: Any) {
        switch any {
        case let v as String: self = .string(v)
        case let v as Bool where type(of: any) == Bool.self: self = .bool(v)
        case let v as Int where type(of: any) == Int.self: self = .int(v)
        case let v as Float where type(of: any) == Float.self: self = .float(v)
        case let v as Double where type(of: any) == Double.self: self = .double(v)
        case let v as [String: Any]: self = .object(v.mapValues(JSONValue.init))
        case let v as [Any]: self = .array(v.map(JSONValue.init))
        default: self = .null
        }
    }
}

// Swift-native tree like the encoders build (Bool/Int/Float/Double/NSNull), from the fixture.
func native(_ value: Any) -> Any {
    if let object = value as? [String: Any] { return object.mapValues(native) }
    if let array = value as? [Any] { return array.map(native) }
    if let string = value as? String { return string }
    if value is NSNull { return NSNull() }
    if let number = value as? NSNumber {
        let kind = String(cString: number.objCType)
        if kind == "c" { return number.boolValue }
        if kind == "d" || kind == "f" { return Float(number.doubleValue) }
        return number.intValue
    }
    return value
}

let path = CommandLine.arguments[1]
let parsed = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
let tree = native(parsed) as! [String: Any]
let value = JSONValue(tree)
let encoder = JSONEncoder(); encoder.outputFormatting = [.sortedKeys]

func cpuNanoseconds() -> UInt64 {
    var t = timespec(); clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}
func median(_ label: String, _ body: () throws -> Int) rethrows {
    var times: [Double] = []
    var sink = 0
    for _ in 0..<20 { sink &+= try body() }  // warm-up
    for _ in 0..<15 {
        let start = cpuNanoseconds()
        for _ in 0..<100 { sink &+= try body() }
        times.append(Double(cpuNanoseconds() - start) / 100 / 1000)
    }
    times.sort()
    print(String(format: "%-48@ median %7.1f us  (min %7.1f, max %7.1f)  [%d]", label as NSString, times[7], times[0], times[14], sink % 10))
}

let a = try JSONText.serialize(tree)
let b = String(decoding: try encoder.encode(value), as: UTF8.self)
print("bytes A \(a.utf8.count), B \(b.utf8.count), identical: \(a == b)")
if a != b {
    let ac = Array(a), bc = Array(b)
    if let i = zip(ac, bc).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
        print("first difference at \(i):\n A: \(String(ac[max(0,i-60)..<min(ac.count,i+40)]))\n B: \(String(bc[max(0,i-60)..<min(bc.count,i+40)]))")
    }
}
try median("A JSONText over [String: Any]") { try JSONText.serialize(tree).utf8.count }
try median("B JSONValue + JSONEncoder(.sortedKeys)") { try encoder.encode(value).count }
try median("C [String: Any] -> JSONValue -> JSONEncoder") { try encoder.encode(JSONValue(tree)).count }
try median("D JSONSerialization(.sortedKeys)") { try JSONSerialization.data(withJSONObject: tree, options: [.sortedKeys]).count }

let probe: [String: Any] = ["one": Float(1), "oneD": 1.0, "small": Float(1e-7), "slash": "a/b", "e": "é\u{7f}"]
print("A probe:", try JSONText.serialize(probe))
print("B probe:", String(decoding: try encoder.encode(JSONValue(probe)), as: UTF8.self))
