import CHDF5

/// Walking the whole file into an `HDF5Node` tree.
extension HDF5File {
    /// The tree below `path` (default: the whole file), with all attributes decoded.
    public func treeDescription(from path: String = "/") throws -> HDF5Node {
        try HDF5Library.withLock {
            let target = HDF5Path.normalize(path)
            guard let kind = try objectKindLocked(target) else { throw HDF5Error.notFound(file: self.path, object: target) }
            return try nodeLocked(target, kind: kind, ancestors: [])
        }
    }

    /// Deeper nesting than this is refused rather than risking the stack (no real file nests
    /// groups anywhere near it).
    static let maximumTreeDepth = 200

    /// `ancestors` holds the object addresses of the groups above `target`: a corrupted (or
    /// odd but legal) hard link back to one of them would otherwise recurse until the stack
    /// overflows, which fuzzing found (case 2825).
    private func nodeLocked(_ target: String, kind: HDF5ObjectKind, ancestors: Set<haddr_t>) throws -> HDF5Node {
        let fileID = try requireOpen(target)
        let call = HDF5Call(file: path, object: target)
        var node = HDF5Node(path: target, kind: kind)
        let object = try call.check(H5Oopen(fileID, target, bw_H5P_DEFAULT()), "open object")
        defer { H5Oclose(object) }
        var info = H5O_info_t()
        try call.check(H5Oget_info2(object, &info, UInt32(H5O_INFO_BASIC)), "get object info")
        guard !ancestors.contains(info.addr) else {
            throw HDF5Error.invalidArgument(file: path, object: target,
                                            reason: "this group links back to a group above it (a cycle); the tree cannot be described")
        }
        guard ancestors.count < Self.maximumTreeDepth else {
            throw HDF5Error.invalidArgument(file: path, object: target,
                                            reason: "groups nest deeper than \(Self.maximumTreeDepth) levels; the file is probably corrupted")
        }
        for name in try Self.attributeNamesLocked(object, call: call) {
            node.attributes[name] = try Self.attributeJSON(AttributeIO(objectID: object, name: name, call: call))
        }
        switch kind {
        case .group:
            node.children = try linkNamesLocked(target).map { name in
                let childPath = HDF5Path.join(target, name)
                return try nodeLocked(childPath, kind: objectKindLocked(childPath) ?? .other, ancestors: ancestors.union([info.addr]))
            }
        case .dataset:
            let layout = try DatasetLayout(datasetID: object, call: call)
            node.shape = layout.shape
            node.dtype = layout.elementType.numpyName
            node.chunks = layout.chunkShape
            node.filters = layout.filters.map(\.description)
        case .other:
            break
        }
        return node
    }

    private static func attributeJSON(_ io: AttributeIO) throws -> HDF5AttributeJSON {
        let (type, shape) = try io.describe()
        let values: [HDF5AttributeJSON]
        switch type {
        case .string: values = try io.readStrings().map { .string($0) }
        case .float16, .float32, .float64: values = try io.readNumeric(Double.self).map { .double($0) }
        case .int8, .int16, .int32, .int64: values = try io.readNumeric(Int64.self).map { .int($0) }
        case .uint8, .uint16, .uint32, .uint64: values = try io.readNumeric(UInt64.self).map { .uint($0) }
        case .bool: values = try io.readNumeric(Bool.self).map { .bool($0) }
        case .other(let name): return .unsupported(name)
        }
        return shape.isEmpty && values.count == 1 ? values[0] : .array(values)
    }
}
