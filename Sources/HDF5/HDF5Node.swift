/// A snapshot of a file's object tree: groups with children, datasets with shape, dtype,
/// chunking and filters, and everything's attributes. Encodes to the JSON printed by
/// `batchwise inspect --json`.
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
    /// Datasets only: current dimensions ([] for a scalar).
    public var shape: [Int]?
    /// Datasets only: numpy spelling of the element type.
    public var dtype: String?
    /// Datasets only: chunk dimensions, nil if contiguous.
    public var chunks: [Int]?
    /// Datasets only: the filter pipeline, e.g. ["shuffle", "gzip(4)"].
    public var filters: [String]?

    /// A node as ``HDF5File/treeDescription(from:)`` builds it; the optional fields apply to groups or datasets only.
    public init(path: String, kind: HDF5ObjectKind, attributes: [String: HDF5AttributeJSON] = [:],
                children: [HDF5Node]? = nil, shape: [Int]? = nil, dtype: String? = nil,
                chunks: [Int]? = nil, filters: [String]? = nil) {
        self.path = path
        self.kind = kind
        self.attributes = attributes
        self.children = children
        self.shape = shape
        self.dtype = dtype
        self.chunks = chunks
        self.filters = filters
    }

    /// The node's last path component ("/" for the root).
    public var name: String { path == "/" ? "/" : String(path.split(separator: "/").last ?? "") }

    private enum CodingKeys: String, CodingKey {
        case path, kind, shape, dtype, chunks, filters, attributes, children
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
        try container.encodeIfPresent(shape, forKey: .shape)
        try container.encodeIfPresent(dtype, forKey: .dtype)
        if kind == .dataset { try container.encode(chunks, forKey: .chunks) }  // null = contiguous
        try container.encodeIfPresent(filters, forKey: .filters)
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
    }
}
