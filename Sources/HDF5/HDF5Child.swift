/// One entry of a group listing: its name (not path) and kind.
///
/// ```swift
/// let names = try file.children(of: "model").map(\.name)
/// ```
public struct HDF5Child: Hashable, Sendable {
    public var name: String
    public var kind: HDF5ObjectKind

    public init(name: String, kind: HDF5ObjectKind) {
        self.name = name
        self.kind = kind
    }
}
