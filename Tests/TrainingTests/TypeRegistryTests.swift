import Foundation
import Testing
@testable import Training

/// The registries Plugins/TypeRegistryPlugin generates at build time (`KerasLayerTypes.all`,
/// `KerasOptimizerTypes.all`, `LearningRateScheduleTypes.all`) against a second, simpler reading
/// of the same sources: every type that defines a `kerasClassName` must be listed, since a
/// Keras file or checkpoint can only name a listed type, and no two listed types may share a
/// Keras name.
@Suite struct TypeRegistryTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/Training")

    /// The names of the types whose own code (at file scope, in their declaration or an
    /// extension) defines `static var/let kerasClassName`, protocols and their extensions left
    /// out. Reads the layout the codebase keeps (declarations start at column 0), not the
    /// conformances the generator follows.
    static func typesDefiningKerasClassName() throws -> Set<String> {
        let declaration = try Regex(#"^(?:@\S+\s+)*(?:(?:public|package|internal|final|open)\s+)*"#
            + #"(struct|class|enum|actor|extension|protocol)\s+(\w+)"#)
        let definition = try Regex(#"^\s*(?:public |package )?static (?:var|let) kerasClassName\b"#)
        var protocols: Set<String> = []
        var definers: [(kind: String, name: String)] = []
        let files = try #require(FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil))
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
        #expect(files.count > 20, "found only \(files.count) Swift files under \(sources.path)")
        for file in files {
            var current: (kind: String, name: String)?
            for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false) {
                if let match = try declaration.firstMatch(in: line),
                   let kind = match.output[1].substring, let name = match.output[2].substring {
                    current = (String(kind), String(name))
                    if kind == "protocol" { protocols.insert(String(name)) }
                } else if line.contains(definition), let current {
                    definers.append(current)
                }
            }
        }
        return Set(definers.filter { $0.kind != "protocol" && !protocols.contains($0.name) }.map(\.name))
    }

    @Test func everyTypeWithAKerasClassNameIsListed() throws {
        let layers = KerasLayerTypes.all.filter { $0.kerasClassName != nil }.map { "\($0)" }
        let listed = Set(layers + KerasOptimizerTypes.all.map { "\($0)" } + LearningRateScheduleTypes.all.map { "\($0)" })
        let defined = try Self.typesDefiningKerasClassName()
        #expect(defined.count >= 30, "the source scan found only \(defined.sorted())")
        #expect(defined.subtracting(listed).isEmpty, "not in any registry: \(defined.subtracting(listed).sorted())")
        let unexpected = listed.subtracting(defined).sorted()
        #expect(unexpected.isEmpty, "listed without a kerasClassName of their own: \(unexpected)")
    }

    @Test func everyListedTypeIsFoundByItsKerasName() {
        for type in KerasOptimizerTypes.all {
            #expect(KerasOptimizerTypes.type(named: type.kerasClassName) == type, "\(type)")
        }
        for type in LearningRateScheduleTypes.all {
            #expect(LearningRateScheduleTypes.type(named: type.kerasClassName) == type, "\(type)")
        }
        let layerNames = KerasLayerTypes.all.compactMap { $0.kerasClassName }
        #expect(Set(layerNames).count == layerNames.count, "layers sharing a Keras name: \(layerNames.sorted())")
    }

    @Test func theListsAreSortedByTypeName() {
        for names in [KerasLayerTypes.all.map { "\($0)" }, KerasOptimizerTypes.all.map { "\($0)" },
                      LearningRateScheduleTypes.all.map { "\($0)" }] {
            #expect(names == names.sorted() && Set(names).count == names.count, "\(names)")
        }
    }
}
