import Foundation
import Testing

/// The test helper `capturingStandardError` swaps the process's one descriptor 2; suites run in
/// parallel, so overlapping captures must still leave descriptor 2 where it was.
@Suite struct StandardErrorCaptureTests {
    private static func identity(of descriptor: Int32) -> (dev_t, ino_t)? {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return nil }
        return (status.st_dev, status.st_ino)
    }

    @Test func overlappingCapturesRestoreTheOriginalDescriptor() {
        let before = Self.identity(of: 2)
        // Kept so that a failure can put descriptor 2 back and this test's report is seen.
        let original = dup(2)
        defer { close(original) }
        let captured = LockedStrings()
        // Each body sleeps so that, unserialized, the captures would overlap (save A, save B,
        // restore A, restore B leaves descriptor 2 on A's deleted file).
        DispatchQueue.concurrentPerform(iterations: 4) { index in
            let text = capturingStandardError {
                _ = "capture \(index)\n".withCString { write(2, $0, strlen($0)) }
                usleep(20_000)
            }
            captured.append(text)
        }
        let after = Self.identity(of: 2)
        if before?.0 != after?.0 || before?.1 != after?.1 { dup2(original, 2) }
        #expect(before != nil && after != nil)
        #expect(before?.0 == after?.0 && before?.1 == after?.1,
                "descriptor 2 no longer refers to the file it did before the captures")
        for index in 0..<4 {
            #expect(captured.all.contains { $0.contains("capture \(index)\n") },
                    "capture \(index) lost its own line")
        }
    }
}

private final class LockedStrings: @unchecked Sendable {
    private let lock = NSLock()
    private var strings: [String] = []
    func append(_ string: String) { lock.withLock { strings.append(string) } }
    var all: [String] { lock.withLock { strings } }
}
