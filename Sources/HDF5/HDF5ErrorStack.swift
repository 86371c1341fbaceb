import CHDF5

/// Reads (and clears) libhdf5's error stack for the calling thread. Call inside the lock.
enum HDF5ErrorStack {
    private struct Entry {
        var function: String
        var description: String
    }

    /// "outermost description (innermost function: innermost description)", or a fallback.
    static func consumeMessage() -> String {
        var entries: [Entry] = []
        withUnsafeMutablePointer(to: &entries) { pointer in
            _ = H5Ewalk2(bw_H5E_DEFAULT(), H5E_WALK_DOWNWARD, { _, error, context in
                guard let error, let context else { return 0 }
                let list = context.assumingMemoryBound(to: [Entry].self)
                let function = error.pointee.func_name.map { String(cString: $0) } ?? "?"
                let description = error.pointee.desc.map { String(cString: $0) } ?? ""
                list.pointee.append(Entry(function: function, description: description))
                return 0
            }, pointer)
        }
        H5Eclear2(bw_H5E_DEFAULT())
        guard let outer = entries.first else { return "unknown libhdf5 error (empty error stack)" }
        guard let inner = entries.last, entries.count > 1 else {
            return "\(outer.description) (\(outer.function))"
        }
        return "\(outer.description) (\(inner.function): \(inner.description))"
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

    func failure(_ operation: String) -> HDF5Error {
        .library(operation: operation, file: file, object: object, message: HDF5ErrorStack.consumeMessage())
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
