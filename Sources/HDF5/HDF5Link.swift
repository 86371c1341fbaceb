/// A soft or external link, as ``HDF5Node/link`` records it for the entry it names.
///
/// ```swift
/// let tree = try file.treeDescription()
/// for node in tree.allNodes() where node.link?.kind == .external {
///     print(node.path, "->", node.link!.file ?? "", node.link!.target)
/// }
/// ```
public struct HDF5Link: Codable, Equatable, Sendable {
    /// How the link names its object.
    public enum Kind: String, Codable, Sendable {
        /// A path in the same file, resolved when used (it may dangle).
        case soft
        /// An object path in another file, opened when used (file or object may be missing).
        case external
    }

    /// Soft or external.
    public var kind: Kind
    /// The path the link stores: in this file (soft) or in ``HDF5Link/file`` (external).
    public var target: String
    /// External links only: the other file's name as stored in the link.
    public var file: String?

    /// A link as the tree walk reads it from the file.
    public init(kind: Kind, target: String, file: String? = nil) {
        self.kind = kind
        self.target = target
        self.file = file
    }

    /// `-> /target` or `-> other.h5:/target`, as the text tree prints it.
    var arrow: String { "-> " + (file.map { "\($0):" } ?? "") + target }
}
