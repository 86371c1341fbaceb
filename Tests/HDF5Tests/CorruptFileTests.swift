import Foundation
import Testing
@testable import HDF5

@Suite("Empty, truncated and foreign files give typed errors, silently")
struct CorruptFileTests {
    @Test func truncatedEmptyAndForeignFilesThrowWithTheLibraryReasonAndPrintNothing() throws {
        try withTemporaryDirectory { dir in
            let original = try Data(contentsOf: Fixtures.h5pyWritten)
            let truncated = dir.appendingPathComponent("truncated.h5")
            try original.prefix(original.count / 2).write(to: truncated)
            let empty = dir.appendingPathComponent("empty.h5")
            try Data().write(to: empty)
            let foreign = dir.appendingPathComponent("foreign.h5")
            try Data("{\"not\": \"hdf5\"}".utf8).write(to: foreign)

            var messages: [String] = []
            let output = capturingStandardError {
                for url in [truncated, empty, foreign] {
                    do {
                        _ = try HDF5File.open(at: url).treeDescription()
                        messages.append("opened")
                    } catch let HDF5Error.library(_, file, _, message) {
                        #expect(file == url.path)
                        messages.append(message)
                    } catch {
                        messages.append("other: \(error)")
                    }
                }
            }
            #expect(messages.count == 3)
            #expect(messages[0].contains("truncated file"))
            #expect(messages[1].contains("signature") || messages[1].contains("truncated"))
            #expect(messages[2].contains("file signature not found"))
            #expect(!output.contains("HDF5-DIAG"))
        }
    }
}
