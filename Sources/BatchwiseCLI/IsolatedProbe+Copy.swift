import Foundation

extension IsolatedProbe {
    /// Has a child load the user's `files` (`probe-file KIND ARGUMENTS --copy-to COPY`) and
    /// write a Batchwise-made copy of what it loaded, then runs `body` with that copy, so that
    /// this process's libhdf5 never parses the user's files. `body` gets nil when
    /// `options.noIsolation` is set, or when the child loaded the files but could not write the
    /// copy: then it reads the originals. The copy is deleted when `body` returns.
    ///
    /// ```swift
    /// try IsolatedProbe.withLoadedCopy(.model, arguments: ["--file", path], files: [path],
    ///                                  copyName: "model.keras", options: isolation) { copy in
    ///     print(try ModelFiles.loadModel(copy ?? URL(fileURLWithPath: path)).summary())
    /// }
    /// ```
    /// - Throws: the child's one-line error, or ``ProbeFailure`` if it crashed or hung.
    static func withLoadedCopy<T>(_ kind: ProbeKind, arguments: [String], files: [String], copyName: String,
                                  options: IsolationOptions, _ body: (URL?) throws -> T) throws -> T {
        guard !options.noIsolation else { return try body(nil) }
        let folder = temporaryFolder("\(kind.rawValue)-copy")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let copy = folder.appendingPathComponent(copyName)
        let named = files.joined(separator: " and ")
        let result = try run([kind.rawValue] + arguments + ["--copy-to", copy.path], file: named, options: options)
        switch ProbeStatus(rawValue: result.status) {
        case .done?: return try body(copy)
        case .noCopy?: return try body(nil)
        default: throw CommandError(result.message.isEmpty ? "cannot load \(named)" : result.message)
        }
    }
}
