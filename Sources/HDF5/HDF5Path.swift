/// Path helpers: every path is taken relative to the root, with or without a leading "/".
enum HDF5Path {
    /// "a/b", "/a/b/" and "a//b" all become "/a/b"; "" becomes "/".
    static func normalize(_ path: String) -> String {
        // Every object access normalizes its path; most paths already are normal, and
        // splitting and re-joining them showed up in checkpoint-save profiles.
        if isNormalized(path) { return path }
        return "/" + components(path).joined(separator: "/")
    }

    static func components(_ path: String) -> [String] {
        path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true).map { String(Substring($0)) }
    }

    /// "/" or "/a/b": a leading slash, no empty component, no trailing slash.
    private static func isNormalized(_ path: String) -> Bool {
        var previousWasSlash = false
        var count = 0
        for byte in path.utf8 {
            let isSlash = byte == UInt8(ascii: "/")
            if count == 0 && !isSlash { return false }
            if isSlash && previousWasSlash { return false }
            previousWasSlash = isSlash
            count += 1
        }
        return count == 1 || (count > 1 && !previousWasSlash)
    }

    static func join(_ parent: String, _ name: String) -> String {
        normalize(parent + "/" + name)
    }
}
