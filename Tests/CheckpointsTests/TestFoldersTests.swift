import CheckpointsTestSupport
import Foundation
import Testing

/// The fixtures' folders are registered for removal when the test process exits (the removal
/// itself runs after every test, so it is checked by a whole run leaving nothing in its
/// temporary directory: see docs/TESTING.md).
@Suite struct TestFoldersTests {
    @Test("a fixture folder is fresh, empty, named after its test and registered for removal at exit")
    func fixtureFolderIsRegistered() throws {
        let before = TestFolders.registeredCount
        let folder = try NativeFixtures.folder()
        #expect(TestFolders.registeredCount >= before + 1)
        #expect(folder.lastPathComponent.hasPrefix("bw-native-fixtureFolderIsRegistered-"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
        #expect(folder.path.hasPrefix(FileManager.default.temporaryDirectory.path))
    }
}
