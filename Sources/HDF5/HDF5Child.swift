/// One entry of a group listing: its name (not path) and kind.
///
/// ```swift
/// let names = try file.children(of: "model").map(\.name)
/// ```
public struct HDF5Child: Hashable, Sendable {
    /// The entry's name inside its group (one path component).
    public var name: String
    /// Whether the entry is a group or a dataset; `.unknown` when the link dangles or libhdf5
    /// cannot open its object (``HDF5File/treeDescription(from:)`` says why).
    public var kind: HDF5ObjectKind

    /// An entry as ``HDF5File/children(of:)`` reports it.
    public init(name: String, kind: HDF5ObjectKind) {
        self.name = name
        self.kind = kind
    }
}
