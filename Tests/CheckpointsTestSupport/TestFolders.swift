import Foundation

/// The folders a test process made under the system temporary directory, removed when the
/// process exits. Tests write checkpoints, data files and model files into fresh folders
/// (``NativeFixtures/folder(_:)``) and most never removed them: every `swift test` left a few
/// hundred folders behind in `/tmp`. A test still reads its folder until it ends, so the
/// removal waits for the process's normal exit (`atexit`); a crashed run leaves its folders,
/// which is what one wants for looking into it.
package enum TestFolders {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var folders: [URL] = []
    /// Registers the exit handler once, on the first folder.
    private static let removalAtExit: Void = { atexit { TestFolders.removeAll() } }()

    /// Creates a fresh, empty folder named `prefix`-`label`-(unique) and registers it for removal at exit.
    package static func make(prefix: String, label: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(prefix)-\(label.filter(\.isLetter))-\(ProcessInfo.processInfo.globallyUniqueString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        register(url)
        return url
    }

    /// Removes `url` (a file or folder) when the process exits.
    package static func register(_ url: URL) {
        _ = removalAtExit
        lock.withLock { folders.append(url) }
    }

    /// How many folders wait for removal (for the test of this type).
    package static var registeredCount: Int { lock.withLock { folders.count } }

    static func removeAll() {
        for url in lock.withLock({ folders }) { try? FileManager.default.removeItem(at: url) }
    }
}
