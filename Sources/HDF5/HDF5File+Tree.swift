import CHDF5

/// Walking the whole file into an `HDF5Node` tree.
extension HDF5File {
    /// The tree below `path` (default: the whole file), with all attributes decoded.
    ///
    /// Only a missing `path` (or a closed file) throws. Below it, every entry is listed once:
    /// an entry libhdf5 cannot follow or open is still listed, with ``HDF5Node/error`` giving
    /// libhdf5's reason (a dangling soft link, a missing external file, an object written in
    /// a format this libhdf5 cannot decode); an object reached again is marked
    /// ``HDF5Node/sameAs`` instead of being described twice, so cycles end there; soft and
    /// external links are followed and marked with ``HDF5Node/link``. An attribute that cannot
    /// be read becomes `.unsupported("error: ...")`.
    ///
    /// ```swift
    /// let tree = try file.treeDescription()
    /// for node in tree.allNodes() where node.error != nil { print(node.path, node.error!) }
    /// ```
    public func treeDescription(from path: String = "/") throws -> HDF5Node {
        try HDF5Library.withLock {
            let target = HDF5Path.normalize(path)
            let fileID = try requireOpen(target)
            var walk = HDF5TreeWalk(file: self, fileID: fileID)
            if target == "/" { return walk.object(at: target, link: nil, within: .root) }
            guard try linkExistsLocked(target) else { throw HDF5Error.notFound(file: self.path, object: target) }
            return walk.entry(at: target, within: .root)
        }
    }

    /// Deeper nesting than this is marked as an error rather than risking the stack (no real
    /// file nests groups anywhere near it).
    static let maximumTreeDepth = 200
}

/// One walk of a file's links, remembering every object it has listed so that a second hard
/// link, or one back to a group above it (fuzz case 2825 made such a cycle), is marked
/// instead of being walked again. Runs inside the lock.
///
/// Soft and external links are followed (as h5py's `f[path]` follows them), and what they
/// reach is remembered apart from what hard links reach: the object's own hard-linked path
/// still lists it in full, so a soft link sorting before its target does not turn the target
/// into a "same as" mark. Cycles through them end at the groups above (`Context.ancestors`).
struct HDF5TreeWalk {
    let file: HDF5File
    let fileID: hid_t
    /// Objects listed so far through hard links only, by (file number, address): external
    /// links reach other files, whose addresses overlap this one's.
    private var listed: [ObjectKey: String] = [:]
    /// Objects described through soft or external links. Checked only for entries reached
    /// through links too, so each object is described at most twice however many soft links
    /// name it (a hostile file's lattice of soft links cannot make the walk exponential).
    private var followed: [ObjectKey: String] = [:]

    struct ObjectKey: Hashable {
        var fileNumber: UInt
        var address: haddr_t
    }

    /// Where an entry sits: the groups above it and whether a soft or external link was crossed.
    struct Context {
        var ancestors: [ObjectKey: String]
        var depth: Int
        var throughLink: Bool

        static let root = Context(ancestors: [:], depth: 0, throughLink: false)
    }

    init(file: HDF5File, fileID: hid_t) {
        self.file = file
        self.fileID = fileID
    }

    /// The entry the link at `path` names: the link itself if it is soft or external, then
    /// the object it reaches.
    mutating func entry(at path: String, within context: Context) -> HDF5Node {
        let call = HDF5Call(file: file.path, object: path)
        var info = H5L_info_t()
        guard H5Lget_info(fileID, path, &info, bw_H5P_DEFAULT()) >= 0 else {
            return HDF5Node(path: path, kind: .unknown, error: Self.reason(call.failure("get link info")))
        }
        switch info.type {
        case H5L_TYPE_HARD:
            return object(at: path, link: nil, within: context)
        case H5L_TYPE_SOFT, H5L_TYPE_EXTERNAL:
            do {
                return object(at: path, link: try link(at: path, info: info, call: call), within: context)
            } catch {
                return HDF5Node(path: path, kind: .unknown, error: Self.reason(error))
            }
        default:
            return HDF5Node(path: path, kind: .unknown,
                            error: "a user-defined link (type \(info.type.rawValue)), which libhdf5 cannot follow without its handler")
        }
    }

    /// What a soft or external link stores.
    private func link(at path: String, info: H5L_info_t, call: HDF5Call) throws -> HDF5Link {
        let size = info.u.val_size
        guard size > 0, size <= 1 << 20 else {
            throw HDF5Error.invalidArgument(file: file.path, object: path, reason: "the link value claims \(size) bytes")
        }
        var buffer = [UInt8](repeating: 0, count: size)
        try call.check(H5Lget_val(fileID, path, &buffer, size, bw_H5P_DEFAULT()), "read link")
        if info.type == H5L_TYPE_SOFT {
            return HDF5Link(kind: .soft, target: String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self))
        }
        return try buffer.withUnsafeBytes { raw in
            var flags: UInt32 = 0
            var fileName: UnsafePointer<CChar>?
            var objectName: UnsafePointer<CChar>?
            try call.check(H5Lunpack_elink_val(raw.baseAddress, size, &flags, &fileName, &objectName), "unpack external link")
            return HDF5Link(kind: .external, target: objectName.map { String(cString: $0) } ?? "",
                            file: fileName.map { String(cString: $0) } ?? "")
        }
    }

    /// The object reached at `path` (through `link`, if any), described unless it was listed
    /// before or cannot be opened.
    mutating func object(at path: String, link: HDF5Link?, within context: Context) -> HDF5Node {
        var node = HDF5Node(path: path, kind: .unknown, link: link)
        let call = HDF5Call(file: file.path, object: path)
        let object = H5Oopen(fileID, path, bw_H5P_DEFAULT())
        guard object >= 0 else {
            node.error = Self.reason(call.failure("open object"))
            return node
        }
        defer { H5Oclose(object) }
        node.kind = HDF5File.kind(ofOpenObject: object)
        var info = H5O_info_t()
        guard H5Oget_info2(object, &info, UInt32(H5O_INFO_BASIC)) >= 0 else {
            node.error = Self.reason(call.failure("get object info"))
            return node
        }
        let key = ObjectKey(fileNumber: UInt(info.fileno), address: info.addr)
        let throughLink = context.throughLink || link != nil
        if let first = context.ancestors[key] ?? listed[key] ?? (throughLink ? followed[key] : nil) {
            node.sameAs = first
            return node
        }
        if throughLink { followed[key] = path } else { listed[key] = path }
        guard context.depth < HDF5File.maximumTreeDepth else {
            node.error = "groups nest deeper than \(HDF5File.maximumTreeDepth) levels; the file is probably corrupted"
            return node
        }
        do {
            for name in try HDF5File.attributeNamesLocked(object, call: call) {
                node.attributes[name] = Self.attributeValue(AttributeIO(objectID: object, name: name, call: call))
            }
            switch node.kind {
            case .group:
                node.children = []
                var inner = Context(ancestors: context.ancestors, depth: context.depth + 1, throughLink: throughLink)
                inner.ancestors[key] = path
                for name in try file.linkNamesLocked(path) {
                    node.children?.append(entry(at: HDF5Path.join(path, name), within: inner))
                }
            case .dataset:
                try Self.describeDataset(object, into: &node, call: call)
            case .other, .unknown:
                break
            }
        } catch {
            node.error = Self.reason(error)
        }
        return node
    }

    private static func describeDataset(_ dataset: hid_t, into node: inout HDF5Node, call: HDF5Call) throws {
        let layout = try DatasetLayout(datasetID: dataset, call: call)
        let space = try call.check(H5Dget_space(dataset), "get dataspace")
        defer { H5Sclose(space) }
        node.shape = H5Sget_simple_extent_type(space) == H5S_NULL ? nil : layout.shape
        let type = try call.check(H5Dget_type(dataset), "get datatype")
        defer { H5Tclose(type) }
        node.dtype = HDF5ElementType.displayName(type)
        node.chunks = layout.chunkShape
        var filters = layout.filters.map(\.description)
        let dcpl = try call.check(H5Dget_create_plist(dataset), "get creation property list")
        defer { H5Pclose(dcpl) }
        for missing in HDF5Dataset.unavailableFilters(dcpl: dcpl) where filters.indices.contains(missing.index) {
            filters[missing.index] += " (unavailable)"
        }
        node.filters = filters
    }

    /// An attribute's value, or the reason it cannot be read: one bad attribute must not hide
    /// the object's others.
    private static func attributeValue(_ io: AttributeIO) -> HDF5AttributeJSON {
        do {
            return try io.jsonValue()
        } catch {
            return .unsupported("error: " + reason(error))
        }
    }

    /// The reason to print beside an entry: libhdf5's own message (the file and path are
    /// already the node's), or the error's description.
    static func reason(_ error: any Error) -> String {
        switch error {
        case let HDF5Error.library(operation, _, _, message): "\(operation) failed: \(message)"
        case let HDF5Error.unsupportedFormat(_, _, version, feature, message):
            "written in a newer HDF5 format than the linked libhdf5 \(version) can read (\(feature): \(message))"
        case let HDF5Error.implausibleSize(_, _, shape, reason): "claims shape [\(shape.joined(separator: ", "))]: \(reason)"
        case let error as HDF5Error: error.errorDescription ?? "\(error)"
        default: "\(error)"
        }
    }
}
