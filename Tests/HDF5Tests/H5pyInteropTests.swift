import Foundation
import Testing
@testable import HDF5

@Suite("Reading what h5py wrote (fixtures/hdf5/make_fixtures.py)")
struct H5pyInteropTests {
    @Test func everyDatasetMatchesTheValuesH5pyRecorded() throws {
        let expected = try ExpectedFixture.load()
        let file = try HDF5File.open(at: Fixtures.h5pyWritten)
        #expect(expected.datasets.count == 17)
        for (path, want) in expected.datasets {
            let dataset = try file.dataset(at: path)
            #expect(dataset.elementType.numpyName == want.dtype, "\(path)")
            #expect(try dataset.shape == want.shape, "\(path)")
            #expect(dataset.chunkShape == want.chunks, "\(path)")
            #expect(dataset.filters.contains(.gzip(level: 4)) == (want.compression == "gzip"), "\(path)")
            switch want.values {
            case .float(let values):
                #expect(try dataset.read(as: Double.self).values == values, "\(path)")
            case .int(let values):
                #expect(try dataset.read(as: Int64.self).values == values, "\(path)")
            case .uint(let values):
                #expect(try dataset.read(as: UInt64.self).values == values, "\(path)")
            case .bool(let values):
                #expect(try dataset.read(as: Bool.self).values == values, "\(path)")
            }
        }
    }

    @Test func nativeTypesReadWithoutWidening() throws {
        let file = try HDF5File.open(at: Fixtures.h5pyWritten)
        #expect(try file.read("numeric/float32", as: Float.self).values == (0..<12).map { Float($0) * 0.25 - 1.5 })
        #expect(try file.read("numeric/uint8", as: UInt8.self).values == [0, 0, 1, 255])
        #expect(try file.read("numeric/int16", as: Int16.self).values == [Int16.min, 0, 1, Int16.max])
        let rows = try file.dataset(at: "compressed/gzip_shuffle").readRows(95..<100, as: Float.self)
        guard case .float(let all)? = try ExpectedFixture.load().datasets["compressed/gzip_shuffle"]?.values else {
            Issue.record("fixture JSON lacks compressed/gzip_shuffle")
            return
        }
        let tail: [Float] = all[760..<800].map { Float($0) }
        #expect(rows.values == tail)
        #expect(rows.shape == [5, 8])
    }

    @Test func stringAndNumericAttributesOfBothStringKindsMatch() throws {
        let expected = try ExpectedFixture.load()
        let file = try HDF5File.open(at: Fixtures.h5pyWritten)
        #expect(expected.attributes.count == 10)
        for (key, want) in expected.attributes {
            let parts = key.split(separator: "@").map(String.init)
            let (path, name) = (parts[0], parts[1])
            switch (want.kind, want.value) {
            case (_, .string(let text)):
                #expect(try file.readAttribute(name, of: path, as: String.self) == text, "\(key)")
            case (_, .array(let items)) where want.kind.contains("str"):
                #expect(try file.readAttribute(name, of: path, as: [String].self).map { HDF5AttributeJSON.string($0) } == items, "\(key)")
            case ("float64", .double(let value)), ("float32", .double(let value)):
                #expect(try file.readAttribute(name, of: path, as: Double.self) == value, "\(key)")
            case ("int64", .int(let value)):
                #expect(try file.readAttribute(name, of: path, as: Int64.self) == value, "\(key)")
            case ("bool", .bool(let value)):
                #expect(try file.readAttribute(name, of: path, as: Bool.self) == value, "\(key)")
            case ("int32 array", .array(let items)):
                #expect(try file.readAttribute(name, of: path, as: [Int32].self).map { HDF5AttributeJSON.int(Int64($0)) } == items, "\(key)")
            default:
                Issue.record("unhandled fixture attribute \(key): \(want.kind)")
            }
        }
    }

    @Test func theTreeDescriptionReportsKindsShapesDtypesChunksAndAttributes() throws {
        let tree = try HDF5File.open(at: Fixtures.h5pyWritten).treeDescription()
        #expect(tree.path == "/")
        #expect(tree.kind == .group)
        #expect(tree.children?.map(\.name) == ["compressed", "empty", "extendible", "nested", "numeric", "scalar"])
        #expect(tree.attributes["layer_names"] == .array([.string("dense"), .string("batch_normalization")]))
        #expect(tree.attributes["count"] == .int(-42))
        #expect(tree.attributes["flag"] == .bool(true))
        let compressed = tree.children?.first { $0.name == "compressed" }?.children?.first { $0.name == "gzip_shuffle" }
        #expect(compressed?.path == "/compressed/gzip_shuffle")
        #expect(compressed?.kind == .dataset)
        #expect(compressed?.shape == [100, 8])
        #expect(compressed?.dtype == "float32")
        #expect(compressed?.chunks == [10, 8])
        #expect(compressed?.filters == ["shuffle", "gzip(4)"])
        #expect(compressed?.attributes["units"] == .string("radians"))
        let scalar = tree.children?.first { $0.name == "scalar" }
        #expect(scalar?.shape == [])
        #expect(scalar?.chunks == nil)

        let json = try JSONEncoder().encode(tree)
        let object = try JSONSerialization.jsonObject(with: json) as? [String: Any]
        #expect(object?["path"] as? String == "/")
        #expect(object?["kind"] as? String == "group")
        #expect((object?["children"] as? [Any])?.count == 6)
        #expect(try JSONDecoder().decode(HDF5Node.self, from: json) == tree)

        let ordered = tree.jsonText()
        #expect(ordered.hasPrefix("{\n  \"path\": \"/\",\n  \"kind\": \"group\",\n  \"attributes\": {"))
        let reparsed = try JSONDecoder().decode(HDF5Node.self, from: Data(ordered.utf8))
        #expect(reparsed == tree)
        #expect(try JSONDecoder().decode(HDF5Node.self, from: Data(tree.jsonText(indent: nil).utf8)) == tree)

        let text = tree.renderedText()
        #expect(text.contains("gzip_shuffle  float32 [100, 8]  chunks [10, 8]  shuffle, gzip(4)"))
        #expect(text.contains("@title = \"h5py fixture ✓\""))
    }
}
