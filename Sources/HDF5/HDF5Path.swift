/// Path helpers: every path is taken relative to the root, with or without a leading "/".
enum HDF5Path {
    /// "a/b", "/a/b/" and "a//b" all become "/a/b"; "" becomes "/".
    static func normalize(_ path: String) -> String {
        "/" + components(path).joined(separator: "/")
    }

    static func components(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    static func join(_ parent: String, _ name: String) -> String {
        normalize(parent + "/" + name)
    }
}
