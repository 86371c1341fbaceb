import Testing
@testable import HDF5

@Suite("Object paths are normalized to one spelling")
struct HDF5PathTests {
    @Test(arguments: [
        ("", "/"), ("/", "/"), ("//", "/"), ("a", "/a"), ("/a", "/a"), ("a/", "/a"), ("/a/", "/a"),
        ("a//b", "/a/b"), ("/a/b", "/a/b"), ("//a///b//", "/a/b"), ("/model/dense_1/kernel", "/model/dense_1/kernel"),
        ("/é/ü", "/é/ü"), ("é//ü/", "/é/ü"),
    ])
    func everySpellingOfAPathNormalizesToTheSameOne(input: String, expected: String) {
        #expect(HDF5Path.normalize(input) == expected)
    }

    @Test func componentsDropEmptyPieces() {
        #expect(HDF5Path.components("//a///b//c") == ["a", "b", "c"])
        #expect(HDF5Path.components("/").isEmpty)
        #expect(HDF5Path.join("/a/", "/b") == "/a/b")
    }
}
