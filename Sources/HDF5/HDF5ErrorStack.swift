import CHDF5

/// Reads (and clears) libhdf5's error stack for the calling thread. Call inside the lock.
enum HDF5ErrorStack {
    private struct Entry {
        var function: String
        var description: String
        /// libhdf5's minor error class, e.g. "Wrong version number".
        var minor: String
    }

    /// What one failure left on the stack: the message, and the entry saying the file holds
    /// a structure version this libhdf5 does not know (nil for every other failure).
    struct Failure {
        var message: String
        var versionMismatch: (feature: String, description: String)?
    }

    /// Reads and clears the stack; the message is "outermost description (innermost
    /// function: innermost description)", or a fallback.
    static func consume() -> Failure {
        var entries: [Entry] = []
        withUnsafeMutablePointer(to: &entries) { pointer in
            _ = H5Ewalk2(bw_H5E_DEFAULT(), H5E_WALK_DOWNWARD, { _, error, context in
                guard let error, let context else { return 0 }
                let list = context.assumingMemoryBound(to: [Entry].self)
                let function = error.pointee.func_name.map { String(cString: $0) } ?? "?"
                let description = error.pointee.desc.map { String(cString: $0) } ?? ""
                var minor = [CChar](repeating: 0, count: 128)
                _ = H5Eget_msg(error.pointee.min_num, nil, &minor, minor.count)
                list.pointee.append(Entry(function: function, description: description,
                                          minor: minor.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }))
                return 0
            }, pointer)
        }
        H5Eclear2(bw_H5E_DEFAULT())
        let mismatch = entries.last(where: isVersionMismatch).map { (feature(ofFunction: $0.function), $0.description) }
        guard let outer = entries.first else { return Failure(message: "unknown libhdf5 error (empty error stack)") }
        guard let inner = entries.last, entries.count > 1 else {
            return Failure(message: "\(outer.description) (\(outer.function))", versionMismatch: mismatch)
        }
        return Failure(message: "\(outer.description) (\(inner.function): \(inner.description))", versionMismatch: mismatch)
    }

    /// libhdf5 classifies most "this structure has a version I do not know" failures as
    /// "Wrong version number"; the superblock check says "bad superblock version number".
    private static func isVersionMismatch(_ entry: Entry) -> Bool {
        entry.minor == "Wrong version number"
            || (entry.description.contains("version") && (entry.description.hasPrefix("bad") || entry.description.hasPrefix("wrong")))
    }

    /// The on-disk structure a libhdf5 decoding function reads, for messages a user can act on.
    static func feature(ofFunction function: String) -> String {
        let features: [(prefix: String, name: String)] = [
            ("H5O__layout", "dataset layout message (e.g. a virtual dataset or a newer chunk index)"),
            ("H5O__dtype", "datatype message"), ("H5O__sdspace", "dataspace message"),
            ("H5O__pline", "filter pipeline message"), ("H5O__fill", "fill value message"),
            ("H5O__attr", "attribute message"), ("H5O__link", "link message"), ("H5O__linfo", "link info message"),
            ("H5O__ginfo", "group info message"), ("H5O__ainfo", "attribute info message"),
            ("H5O__efl", "external storage message"), ("H5O__mtime", "modification time message"),
            ("H5O__", "object header"), ("H5F__super", "superblock"), ("H5F__cache_super", "superblock"),
            ("H5F__", "file structure"), ("H5HF", "fractal heap"), ("H5B2", "version 2 B-tree"),
            ("H5FA", "fixed array chunk index"), ("H5EA", "extensible array chunk index"), ("H5SM", "shared message table"),
        ]
        return features.first { function.hasPrefix($0.prefix) }?.name ?? function
    }
}

/// Failure-checking helpers used by every wrapper; they read the error stack into `HDF5Error`.
struct HDF5Call {
    let file: String
    let object: String

    @discardableResult
    func check(_ result: hid_t, _ operation: String) throws -> hid_t {
        if result < 0 { throw failure(operation) }
        return result
    }

    @discardableResult
    func check(_ result: herr_t, _ operation: String) throws -> herr_t {
        if result < 0 { throw failure(operation) }
        return result
    }

    /// For htri_t results: negative is failure, positive is true.
    func isTrue(_ result: htri_t, _ operation: String) throws -> Bool {
        if result < 0 { throw failure(operation) }
        return result > 0
    }

    /// The failure on libhdf5's error stack as an `HDF5Error`: `.unsupportedFormat` when the
    /// file holds a structure version this libhdf5 cannot decode, `.library` otherwise.
    func failure(_ operation: String) -> HDF5Error {
        let failure = HDF5ErrorStack.consume()
        if let mismatch = failure.versionMismatch {
            return .unsupportedFormat(file: file, object: object, libraryVersion: HDF5Library.version,
                                      feature: mismatch.feature, message: mismatch.description)
        }
        return .library(operation: operation, file: file, object: object, message: failure.message)
    }
}

/// Closes an id of any kind, ignoring failure (used on error paths and in deinit).
func closeQuietly(_ id: hid_t) {
    guard id >= 0 else { return }
    switch H5Iget_type(id) {
    case H5I_FILE: H5Fclose(id)
    case H5I_GROUP: H5Gclose(id)
    case H5I_DATASET: H5Dclose(id)
    case H5I_DATASPACE: H5Sclose(id)
    case H5I_DATATYPE: H5Tclose(id)
    case H5I_ATTR: H5Aclose(id)
    case H5I_GENPROP_LST: H5Pclose(id)
    default: H5Idec_ref(id)
    }
    H5Eclear2(bw_H5E_DEFAULT())
}
