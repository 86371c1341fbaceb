import Foundation
import Testing
@testable import HDF5

/// Files written by other producers (fixtures/hdf5-real-world/make_files.py: h5py 3.16 with
/// HDF5 2.0, hdf5plugin, netCDF4, PyTables). The path lists are those of `h5ls -r` (1.10.8).
extension Fixtures {
    static let realWorld = directory.deletingLastPathComponent().appendingPathComponent("hdf5-real-world")

    static func realWorldTree(_ name: String) throws -> HDF5Node {
        let file = try HDF5File.open(at: realWorld.appendingPathComponent(name), mode: .readOnly)
        defer { try? file.close() }
        return try file.treeDescription()
    }
}

@Suite("Files from other producers: every object listed, the bad ones marked")
struct RealWorldFileTests {
    private func nodes(_ tree: HDF5Node) -> [String: HDF5Node] {
        Dictionary(uniqueKeysWithValues: tree.allNodes().map { ($0.path, $0) })
    }

    @Test func danglingSoftLinksMissingExternalsAndCyclesAreMarkedAndTheRestListed() throws {
        var tree: HDF5Node?
        let noise = try capturingStandardError { tree = try Fixtures.realWorldTree("links.h5") }
        // Other tests may write to stderr meanwhile; libhdf5 would print "HDF5-DIAG".
        #expect(!noise.contains("HDF5-DIAG") && !noise.contains("H5G__") && !noise.contains("H5L__"))
        let all = try #require(tree).allNodes()
        // Every path h5ls -r lists, in the same order.
        #expect(all.map(\.path) == [
            "/", "/cycle", "/cycle/a", "/cycle/a/back", "/cycle/a/leaf", "/cycle/twin", "/data", "/data/alias", "/data/grp",
            "/data/grp/dotdot", "/data/grp/kept", "/data/grp/missing", "/data/values", "/ext", "/ext/missing_file",
            "/ext/missing_object", "/ext/present", "/zzz_after",
        ])
        let node = nodes(try #require(tree))

        let missing = try #require(node["/data/grp/missing"])
        #expect(missing.kind == .unknown && missing.link == HDF5Link(kind: .soft, target: "/no/such/path"))
        #expect(missing.error?.contains("component not found") == true, "\(missing.error ?? "")")
        let dotdot = try #require(node["/data/grp/dotdot"])
        #expect(dotdot.kind == .unknown && dotdot.link == HDF5Link(kind: .soft, target: ".."))
        #expect(dotdot.error?.contains("unable to open object") == true)

        let missingFile = try #require(node["/ext/missing_file"])
        #expect(missingFile.link == HDF5Link(kind: .external, target: "/x", file: "does_not_exist.h5"))
        #expect(missingFile.kind == .unknown && missingFile.error?.contains("external link file name = 'does_not_exist.h5'") == true)
        let missingObject = try #require(node["/ext/missing_object"])
        #expect(missingObject.link == HDF5Link(kind: .external, target: "/nope", file: "links_target.h5"))
        #expect(missingObject.error?.contains("'nope' doesn't exist") == true, "\(missingObject.error ?? "")")
        // Followed when the target exists (found beside links.h5, whatever the working directory).
        let present = try #require(node["/ext/present"])
        #expect(present.link == HDF5Link(kind: .external, target: "/payload", file: "links_target.h5"))
        #expect(present.kind == .dataset && present.shape == [2, 3] && present.dtype == "int32" && present.error == nil)
        #expect(present.attributes["origin"] == .string("links_target.h5"))

        // A hard link to an ancestor, and a second name for a dataset: listed once, marked after.
        #expect(node["/cycle/a/back"]?.sameAs == "/cycle" && node["/cycle/a/back"]?.kind == .group)
        #expect(node["/cycle/a/back"]?.children == nil)
        #expect(node["/cycle/twin"]?.sameAs == "/cycle/a/leaf" && node["/cycle/twin"]?.shape == nil)
        // A resolving soft link is followed; its target is still described under its own path.
        #expect(node["/data/alias"]?.link == HDF5Link(kind: .soft, target: "/data/values"))
        #expect(node["/data/alias"]?.shape == [4] && node["/data/values"]?.shape == [4] && node["/data/values"]?.sameAs == nil)
        #expect(node["/zzz_after"]?.dtype == "uint8")
        let marked = all.filter { $0.error != nil }.map(\.path)
        #expect(marked == ["/data/grp/dotdot", "/data/grp/missing", "/ext/missing_file", "/ext/missing_object"])
    }

    @Test func childrenOfAGroupWithDanglingLinksListsThemAsUnknown() throws {
        let file = try HDF5File.open(at: Fixtures.realWorld.appendingPathComponent("links.h5"))
        defer { try? file.close() }
        #expect(try file.children(of: "/data/grp") == [
            HDF5Child(name: "dotdot", kind: .unknown), HDF5Child(name: "kept", kind: .dataset), HDF5Child(name: "missing", kind: .unknown),
        ])
        #expect(try file.children(of: "/ext").map(\.kind) == [.unknown, .unknown, .dataset])
        // A subtree below a bad link is described on its own.
        #expect(try file.treeDescription(from: "/data/grp/missing").error != nil)
        #expect(throws: HDF5Error.notFound(file: file.path, object: "/data/nothing")) { try file.treeDescription(from: "/data/nothing") }
    }

    @Test func theWalkMarksMarkersInJSONAndTextAndRoundTrips() throws {
        let tree = try Fixtures.realWorldTree("links.h5")
        let json = tree.jsonText(indent: nil)
        #expect(json.contains(#"{"path": "/data/grp/missing", "kind": "unknown", "link": {"kind": "soft", "target": "/no/such/path"}, "error": "#))
        #expect(json.contains(#"{"path": "/cycle/a/back", "kind": "group", "same_as": "/cycle", "attributes": {}}"#))
        #expect(json.contains(#""link": {"kind": "external", "target": "/payload", "file": "links_target.h5"}"#))
        #expect(try JSONDecoder().decode(HDF5Node.self, from: Data(json.utf8)) == tree)
        #expect(try JSONDecoder().decode(HDF5Node.self, from: JSONEncoder().encode(tree)) == tree)
        let text = tree.renderedText()
        #expect(text.contains("\n      missing  -> /no/such/path  (soft link)  ERROR: open object failed: unable to open object"))
        #expect(text.contains("\n    present  -> links_target.h5:/payload  int32 [2, 3]  contiguous  (external link)\n"))
        #expect(text.contains("\n      back  (group, same as /cycle)\n"))
        #expect(text.contains("\n    twin  (dataset, same as /cycle/a/leaf)\n"))
    }

    @Test func complexEnumNullAndMultiDimensionalValuesAreDescribedWithoutLoss() throws {
        let tree = try Fixtures.realWorldTree("types.h5")
        let node = nodes(tree)
        #expect(node["/complex64"]?.dtype == "complex64" && node["/complex64"]?.shape == [2])
        #expect(node["/complex128"]?.dtype == "complex128")
        #expect(node["/complex128"]?.attributes["phase"] == .complex(real: 1, imaginary: -1))
        #expect(node["/enum"]?.dtype == "enum(int16){BLUE: 42, GREEN: 1, RED: 0}")
        #expect(node["/enum"]?.attributes["favourite"] == .enumMember(name: "BLUE", value: 42))
        // A null dataspace is not a scalar.
        #expect(node["/null"]?.kind == .dataset && node["/null"]?.shape == nil && node["/null"]?.dtype == "float32")
        #expect(node["/scalar"]?.shape == [])
        #expect(tree.attributes["null_attr"] == .empty(dtype: "int32"))
        #expect(tree.attributes["scalar_attr"] == .int(5))
        #expect(tree.attributes["matrix"] == .array([.array([.int(0), .int(1), .int(2)]), .array([.int(3), .int(4), .int(5)])]))
        let cube = (0..<2).map { i in HDF5AttributeJSON.array((0..<2).map { j in .array((0..<2).map { k in .double(Double(4 * i + 2 * j + k)) }) }) }
        #expect(tree.attributes["cube"] == .array(cube))
        #expect(tree.attributes["control"] == .string("line1\nline2\ttab\u{1b}[31mred"))

        let json = tree.jsonText()
        #expect(json.contains(#""phase": {"real": 1.0, "imag": -1.0}"#))
        #expect(json.contains(#""favourite": {"enum": "BLUE", "value": 42}"#))
        #expect(json.contains(#""null_attr": {"empty": "int32"}"#))
        #expect(json.contains("\"path\": \"/null\",\n      \"kind\": \"dataset\",\n      \"shape\": null,"))
        // JSON does not tell 2.0 from 2, so the float cube decodes as integers; the rest round-trips.
        var withoutCube = tree
        withoutCube.attributes["cube"] = nil
        #expect(try JSONDecoder().decode(HDF5Node.self, from: Data(withoutCube.jsonText().utf8)) == withoutCube)
        #expect(try JSONDecoder().decode(HDF5Node.self, from: JSONEncoder().encode(withoutCube)) == withoutCube)

        let text = tree.renderedText()
        #expect(text.contains(#"  @control = "line1\nline2\ttab\u001b[31mred""#))
        #expect(text.contains(#"  @control_list = ["a\rb", "c\u0007d"]"#))
        #expect(!text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
        #expect(text.contains("  null  float32 NULL  contiguous"))
        #expect(text.contains("  @null_attr = Empty(int32)"))
        #expect(text.contains("    @phase = (1.0-1.0j)"))
        #expect(text.contains("    @favourite = BLUE"))
        #expect(text.contains("  @matrix = [[0, 1, 2], [3, 4, 5]]"))
    }

    @Test func enumsReadAsTheirBaseIntegersAndComplexRefusesNumericReads() throws {
        let file = try HDF5File.open(at: Fixtures.realWorld.appendingPathComponent("types.h5"))
        defer { try? file.close() }
        #expect(try file.dataset(at: "enum").elementType == .int16)
        #expect(try file.read("enum", as: Int16.self).values == [0, 1, 42])
        #expect(try file.read("enum", as: Int64.self).values == [0, 1, 42])
        #expect(try file.readAttribute("favourite", of: "enum", as: Int16.self) == 42)
        #expect(throws: HDF5Error.elementTypeMismatch(file: file.path, object: "/complex64", stored: "complex64", requested: "Double (float64)")) {
            try file.read("complex64", as: Double.self)
        }
    }

    @Test func readingADatasetWhoseFilterIsUnavailableNamesTheFilterAndTheDataset() throws {
        let file = try HDF5File.open(at: Fixtures.realWorld.appendingPathComponent("filters.h5"))
        defer { try? file.close() }
        #expect(try file.read("gzip", as: Float.self).values == [Float](repeating: 0, count: 16).indices.flatMap { _ in [1, 2, 3, 4] as [Float] })
        #expect(throws: HDF5Error.filterUnavailable(file: file.path, object: "/lzf", filter: "lzf", filterID: 32000)) {
            try file.read("lzf", as: Float.self)
        }
        #expect(throws: HDF5Error.filterUnavailable(file: file.path, object: "/blosc", filter: "blosc", filterID: 32001)) {
            try file.dataset(at: "blosc").readRows(2..<5, as: Float.self)
        }
        #expect(throws: HDF5Error.filterUnavailable(file: file.path, object: "/lzf", filter: "lzf", filterID: 32000)) {
            try file.dataset(at: "lzf").readRows(at: [0, 9], as: Float.self)
        }
        let message = HDF5Error.filterUnavailable(file: file.path, object: "/lzf", filter: "lzf", filterID: 32000).errorDescription ?? ""
        #expect(message.contains("\(file.path):/lzf") && message.contains("lzf filter"))
        let tree = try file.treeDescription()
        #expect(nodes(tree)["/lzf"]?.filters == ["lzf (unavailable)"])
        #expect(nodes(tree)["/blosc"]?.filters == ["blosc (unavailable)"])
        #expect(nodes(tree)["/gzip"]?.filters == ["gzip(4)"])
    }

    @Test func anObjectInANewerFormatNamesTheLibraryVersionAndTheFeature() throws {
        let file = try HDF5File.open(at: Fixtures.realWorld.appendingPathComponent("newer_format.h5"))
        defer { try? file.close() }
        do {
            _ = try file.dataset(at: "virtual")
            Issue.record("opened a virtual dataset written by HDF5 2.0")
        } catch let HDF5Error.unsupportedFormat(errorFile, object, version, feature, message) {
            #expect(errorFile == file.path && object == "/virtual")
            #expect(version == HDF5Library.version)
            #expect(feature.hasPrefix("dataset layout message"))
            #expect(message.contains("VDS"), "\(message)")
        }
        let tree = try file.treeDescription()
        #expect(tree.allNodes().map(\.path) == ["/", "/plain", "/source", "/virtual"])
        let virtual = try #require(nodes(tree)["/virtual"])
        #expect(virtual.kind == .unknown)
        #expect(virtual.error?.contains("newer HDF5 format than the linked libhdf5 \(HDF5Library.version)") == true, "\(virtual.error ?? "")")
        #expect(try file.read("source", as: Int32.self).values == Array(0..<8))
    }

    @Test func aSuperblockVersionFromTheFutureIsAnUnsupportedFormatError() throws {
        try withTemporaryDirectory { dir in
            // userblock.h5 has a version-0 superblock (no checksum) after its 512-byte userblock.
            var bytes = [UInt8](try Data(contentsOf: Fixtures.realWorld.appendingPathComponent("userblock.h5")))
            #expect(Array(bytes[512..<520]) == [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a] && bytes[520] == 0)
            bytes[520] = 9
            let url = dir.appendingPathComponent("future.h5")
            try Data(bytes).write(to: url)
            do {
                _ = try HDF5File.open(at: url)
                Issue.record("opened a file with superblock version 9")
            } catch let HDF5Error.unsupportedFormat(_, _, version, feature, message) {
                #expect(version == HDF5Library.version && feature == "superblock" && message.contains("superblock version"), "\(message)")
            }
        }
    }

    @Test func netCDF4PyTablesAndUserblockFilesDescribeCompletely() throws {
        let netcdf = try Fixtures.realWorldTree("netcdf4.nc")
        #expect(netcdf.allNodes().map(\.path) == ["/", "/forecast", "/forecast/skill", "/lat", "/temp", "/time"])
        #expect(nodes(netcdf)["/temp"]?.attributes["scale_factor"] == .array([.double(0.01)]))
        #expect(nodes(netcdf)["/temp"]?.filters == ["shuffle", "gzip(4)"])
        #expect(nodes(netcdf)["/lat"]?.attributes["CLASS"] == .string("DIMENSION_SCALE"))
        let tables = try Fixtures.realWorldTree("pytables.h5")
        #expect(tables.allNodes().map(\.path) == ["/", "/detector", "/detector/gains", "/detector/readout", "/image"])
        #expect(nodes(tables)["/detector/readout"]?.dtype == "compound{count: int32, energy: float64, name: string}")
        #expect(nodes(tables)["/image"]?.attributes["TITLE"] == .empty(dtype: "string"))
        let userblock = try Fixtures.realWorldTree("userblock.h5")
        #expect(userblock.allNodes().map(\.path) == ["/", "/x"])
        for tree in [netcdf, tables, userblock] {
            #expect(tree.allNodes().allSatisfy { $0.error == nil && $0.sameAs == nil })
        }
        let file = try HDF5File.open(at: Fixtures.realWorld.appendingPathComponent("userblock.h5"))
        defer { try? file.close() }
        #expect(try file.read("x", as: Double.self).values == [0, 1, 2])
    }
}
