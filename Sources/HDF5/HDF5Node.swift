/// A snapshot of a file's object tree: groups with children, datasets with shape, dtype,
/// chunking and filters, and everything's attributes. Encodes to the JSON printed by
/// `batchwise inspect --json`.
///
/// One bad link or object does not spoil the rest: an entry that cannot be described is
/// still listed, marked by ``HDF5Node/link`` (soft and external links, with their target),
/// ``HDF5Node/sameAs`` (an object already listed under another path, e.g. a hard link that closes a
/// cycle) and ``HDF5Node/error`` (why libhdf5 could not open or describe it).
///
/// ```swift
/// let tree = try HDF5File.open(at: url).treeDescription()
/// print(tree.renderedText())
/// let json = try JSONEncoder().encode(tree)   // {"path":"/","kind":"group",...}
/// ```
public struct HDF5Node: Codable, Equatable, Sendable {
    /// The object's absolute path, e.g. `/model/dense/kernel`.
    public var path: String
    /// Whether the object is a group or a dataset.
    public var kind: HDF5ObjectKind
    /// Every attribute of the object, by name.
    public var attributes: [String: HDF5AttributeJSON]
    /// Groups only: the children in name order.
    public var children: [HDF5Node]?
    /// Datasets only: current dimensions ([] for a scalar; nil for a null dataspace, h5py's `Empty`).
    public var shape: [Int]?
    /// Datasets only: numpy spelling of the element type.
    public var dtype: String?
    /// Datasets only: chunk dimensions, nil if contiguous.
    public var chunks: [Int]?
    /// Datasets only: the filter pipeline, e.g. ["shuffle", "gzip(4)"]; a filter the linked
    /// libhdf5 does not have is marked, e.g. "lzf (unavailable)".
    public var filters: [String]?
    /// Set when the entry is a soft or external link (followed when its target exists).
    public var link: HDF5Link?
    /// The path where this object is already listed: it was reached again (a second hard
    /// link, or a link back to a group above it, which would otherwise loop forever) and is
    /// not described twice.
    public var sameAs: String?
    /// Why the entry could not be described (libhdf5's reason): a dangling soft link, a missing
    /// external file or object, an object this libhdf5 cannot decode. Nil when all is well.
    public var error: String?

    /// A node as ``HDF5File/treeDescription(from:)`` builds it; the optional fields apply to groups or datasets only.
    public init(path: String, kind: HDF5ObjectKind, attributes: [String: HDF5AttributeJSON] = [:],
                children: [HDF5Node]? = nil, shape: [Int]? = nil, dtype: String? = nil,
                chunks: [Int]? = nil, filters: [String]? = nil,
                link: HDF5Link? = nil, sameAs: String? = nil, error: String? = nil) {
        self.path = path
        self.kind = kind
        self.attributes = attributes
        self.children = children
        self.shape = shape
        self.dtype = dtype
        self.chunks = chunks
        self.filters = filters
        self.link = link
        self.sameAs = sameAs
        self.error = error
    }

    /// This node and every node below it, depth first in listing order.
    public func allNodes() -> [HDF5Node] {
        [self] + (children ?? []).flatMap { $0.allNodes() }
    }

    /// A dataset described here (not only marked), whose chunks and filters are known.
    var isDescribedDataset: Bool { kind == .dataset && error == nil && sameAs == nil }

    /// A dataset with a null dataspace (h5py's `Empty`): a type, no elements, not even a scalar.
    var hasNullDataspace: Bool { isDescribedDataset && shape == nil }

    /// The node's last path component ("/" for the root).
    public var name: String { path == "/" ? "/" : String(path.split(separator: "/").last ?? "") }

    private enum CodingKeys: String, CodingKey {
        case path, kind, shape, dtype, chunks, filters, link, sameAs = "same_as", error, attributes, children
    }

    private struct NameKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Encodes with the keys of `batchwise inspect --json`, leaving out the fields that do not apply to the node's kind.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(path, forKey: .path)
        try container.encode(kind, forKey: .kind)
        if hasNullDataspace { try container.encodeNil(forKey: .shape) } else { try container.encodeIfPresent(shape, forKey: .shape) }
        try container.encodeIfPresent(dtype, forKey: .dtype)
        if isDescribedDataset { try container.encode(chunks, forKey: .chunks) }  // null = contiguous
        try container.encodeIfPresent(filters, forKey: .filters)
        try container.encodeIfPresent(link, forKey: .link)
        try container.encodeIfPresent(sameAs, forKey: .sameAs)
        try container.encodeIfPresent(error, forKey: .error)
        // Sorted, so the output is stable from run to run.
        var attributeContainer = container.nestedContainer(keyedBy: NameKey.self, forKey: .attributes)
        for name in attributes.keys.sorted() {
            try attributeContainer.encode(attributes[name], forKey: NameKey(stringValue: name))
        }
        try container.encodeIfPresent(children, forKey: .children)
    }

    /// Decodes the JSON written by ``encode(to:)``.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        path = try container.decode(String.self, forKey: .path)
        kind = try container.decode(HDF5ObjectKind.self, forKey: .kind)
        attributes = try container.decodeIfPresent([String: HDF5AttributeJSON].self, forKey: .attributes) ?? [:]
        children = try container.decodeIfPresent([HDF5Node].self, forKey: .children)
        shape = try container.decodeIfPresent([Int].self, forKey: .shape)
        dtype = try container.decodeIfPresent(String.self, forKey: .dtype)
        chunks = try container.decodeIfPresent([Int].self, forKey: .chunks)
        filters = try container.decodeIfPresent([String].self, forKey: .filters)
        link = try container.decodeIfPresent(HDF5Link.self, forKey: .link)
        sameAs = try container.decodeIfPresent(String.self, forKey: .sameAs)
        error = try container.decodeIfPresent(String.self, forKey: .error)
    }
}
