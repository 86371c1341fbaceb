import Foundation
import Testing
import HDF5

@Suite struct JSONTextTests {
    /// Foundation's parser is the independent reference: what JSONText writes must parse back
    /// to the same tree.
    private func reparsed(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    @Test func writtenTreesParseBackToTheSameValues() throws {
        let tree: [String: Any] = [
            "text": "quote \" backslash \\ newline \n tab \t bell \u{07} é 🙂",
            "flags": [true, false], "int": -42, "int64": Int64(1) << 40, "float": Float(0.5),
            "double": 1e-7, "null": NSNull(), "nested": ["empty": [:] as [String: Any], "list": [] as [Any]],
        ]
        let parsed = try #require(try reparsed(JSONText.serialize(tree)) as? NSDictionary)
        #expect(parsed == (tree as NSDictionary))
    }

    @Test func floatsUseTheirShortestSpellingAndReadBackExactly() throws {
        let momentum: Float = 0.99
        let text = try JSONText.serialize([momentum])
        #expect(text == "[0.99]")
        let parsed = try #require(try reparsed(text) as? [NSNumber])
        #expect(Float(parsed[0].doubleValue) == momentum)
    }

    @Test func keysAreSortedSoTheSameModelGivesTheSameBytes() throws {
        let text = try JSONText.serialize(["b": 1, "a": ["d": 2, "c": 3]] as [String: Any])
        #expect(text == #"{"a":{"c":3,"d":2},"b":1}"#)
    }

    @Test func parsedJSONNumbersKeepTheirKind() throws {
        let parsed = try reparsed(#"{"i":3,"d":0.25,"t":true,"f":false}"#)
        #expect(try JSONText.serialize(parsed) == #"{"d":0.25,"f":false,"i":3,"t":true}"#)
    }

    @Test func parsedBooleansAreTheOnlyNumbersWrittenAsBooleans() throws {
        let parsed = try #require(try reparsed("[true, false, 1, 0, 1.5]") as? [NSNumber])
        #expect(parsed.map(JSONText.isBoolean) == [true, true, false, false, false])
        #expect(try JSONText.serialize(parsed) == "[true,false,1,0,1.5]")
    }

    @Test func orderedObjectsAndArraysAreLaidOutOnOneLineOrIndented() {
        let members: [(key: String, value: String)] = [("z", "1"), ("a", JSONText.array(["2", "3"], indent: nil, depth: 0))]
        #expect(JSONText.object(members, indent: nil, depth: 0) == #"{"z": 1, "a": [2, 3]}"#)
        #expect(JSONText.object(members, indent: "  ", depth: 1) == "{\n    \"z\": 1,\n    \"a\": [2, 3]\n  }")
        #expect(JSONText.object([], indent: "  ", depth: 0) == "{}")
        #expect(JSONText.array([], indent: "  ", depth: 0) == "[]")
    }

    @Test func nonFiniteNumbersAndUnknownTypesAreErrorsNamingThePath() {
        #expect(throws: JSONText.UnsupportedValue.self) { try JSONText.serialize(["a": [1.0, Double.nan]] as [String: Any]) }
        do {
            _ = try JSONText.serialize(["layer": ["when": Date()]] as [String: Any])
            Issue.record("a Date was written as JSON")
        } catch let error as JSONText.UnsupportedValue {
            #expect(error.path == "$.layer.when")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}
