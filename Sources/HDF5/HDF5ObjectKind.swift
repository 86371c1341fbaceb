/// What a link in a group points to.
///
/// ```swift
/// for child in try file.children(of: "/") where child.kind == .dataset { print(child.name) }
/// ```
public enum HDF5ObjectKind: String, Sendable, Codable {
    case group
    case dataset
    /// A named datatype or anything else that is neither a group nor a dataset.
    case other
}
