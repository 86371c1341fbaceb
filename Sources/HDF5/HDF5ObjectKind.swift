/// What a link in a group points to.
///
/// ```swift
/// for child in try file.children(of: "/") where child.kind == .dataset { print(child.name) }
/// ```
public enum HDF5ObjectKind: String, Sendable, Codable {
    /// A group: a folder of named children.
    case group
    /// A dataset: an n-dimensional array of one element type.
    case dataset
    /// A named datatype or anything else that is neither a group nor a dataset.
    case other
    /// Not known: the link dangles, or libhdf5 cannot open the object
    /// (``HDF5Node/error`` says why).
    case unknown
}
