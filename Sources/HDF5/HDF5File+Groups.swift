import CHDF5

/// Groups and links: create (with intermediate groups), test, list, remove.
extension HDF5File {
    /// Creates the group at `path` and any missing intermediate groups. Existing groups are fine.
    public func createGroup(_ path: String) throws {
        try HDF5Library.withLock {
            let target = HDF5Path.normalize(path)
            let fileID = try requireOpen(target)
            guard target != "/" else { return }
            let call = HDF5Call(file: self.path, object: target)
            let lcpl = try call.check(H5Pcreate(bw_H5P_LINK_CREATE()), "create link property list")
            defer { H5Pclose(lcpl) }
            try call.check(H5Pset_create_intermediate_group(lcpl, 1), "set intermediate group creation")
            // Try to create first: a new group (the usual case) then costs one call, and only
            // a failure pays for finding out whether the group was already there.
            let group = H5Gcreate2(fileID, target, lcpl, bw_H5P_DEFAULT(), bw_H5P_DEFAULT())
            guard group >= 0 else {
                let failure = call.failure("create group")
                if try objectKindLocked(target) == .group { return }
                throw failure
            }
            try call.check(H5Gclose(group), "close group")
        }
    }

    /// Whether an object (group, dataset...) exists at `path`. "/" always exists.
    public func exists(_ path: String) throws -> Bool {
        try HDF5Library.withLock { try objectKindLocked(HDF5Path.normalize(path)) != nil }
    }

    /// The kind of object at `path`; throws `.notFound` if there is none.
    public func kind(of path: String) throws -> HDF5ObjectKind {
        try HDF5Library.withLock {
            let target = HDF5Path.normalize(path)
            guard let kind = try objectKindLocked(target) else {
                throw HDF5Error.notFound(file: self.path, object: target)
            }
            return kind
        }
    }

    /// The links of the group at `path`, in name order, with the kind of each target.
    public func children(of path: String = "/") throws -> [HDF5Child] {
        try HDF5Library.withLock {
            let target = HDF5Path.normalize(path)
            let kind = try objectKindLocked(target)
            guard let kind else { throw HDF5Error.notFound(file: self.path, object: target) }
            guard kind == .group else {
                throw HDF5Error.wrongKind(file: self.path, object: target, expected: "group", actual: kind.rawValue)
            }
            // A link that dangles or reaches an object libhdf5 cannot open is listed as
            // `.unknown` rather than failing the whole listing.
            return try linkNamesLocked(target).map { name in
                HDF5Child(name: name, kind: (try? objectKindLocked(HDF5Path.join(target, name))) ?? .unknown)
            }
        }
    }

    /// Removes the link at `path` (the space is reclaimed by libhdf5 only on repack).
    public func remove(_ path: String) throws {
        try HDF5Library.withLock {
            let target = HDF5Path.normalize(path)
            let fileID = try requireOpen(target)
            guard target != "/" else {
                throw HDF5Error.invalidArgument(file: self.path, object: target, reason: "cannot remove the root group")
            }
            guard try objectKindLocked(target) != nil else { throw HDF5Error.notFound(file: self.path, object: target) }
            try HDF5Call(file: self.path, object: target).check(H5Ldelete(fileID, target, bw_H5P_DEFAULT()), "remove")
        }
    }

    /// nil if nothing is there. Call inside the lock.
    /// Whether a link exists at `target` — cheaper than ``objectKindLocked(_:)``, which also
    /// opens the object; enough for "replace if present". Call inside the lock.
    func linkExistsLocked(_ target: String) throws -> Bool {
        let fileID = try requireOpen(target)
        if target == "/" { return true }
        // One call answers when every intermediate group exists; it fails (rather than saying
        // false) when one is missing, and only then is the path walked component by component.
        let direct = H5Lexists(fileID, target, bw_H5P_DEFAULT())
        if direct >= 0 { return direct > 0 }
        H5Eclear2(bw_H5E_DEFAULT())
        let call = HDF5Call(file: path, object: target)
        var prefix = ""
        for component in HDF5Path.components(target) {
            prefix += "/" + component
            guard try call.isTrue(H5Lexists(fileID, prefix, bw_H5P_DEFAULT()), "test link") else { return false }
        }
        return true
    }

    func objectKindLocked(_ target: String) throws -> HDF5ObjectKind? {
        let fileID = try requireOpen(target)
        let call = HDF5Call(file: path, object: target)
        if target == "/" { return .group }
        // Common case first: one H5Oopen resolves the whole path. Only if it fails is the path
        // walked, to tell "nothing there" (nil) from a library failure (thrown).
        let direct = H5Oopen(fileID, target, bw_H5P_DEFAULT())
        if direct >= 0 {
            defer { H5Oclose(direct) }
            return Self.kind(ofOpenObject: direct)
        }
        H5Eclear2(bw_H5E_DEFAULT())
        // H5Lexists fails (rather than returning false) when an intermediate link is missing.
        var prefix = ""
        for component in HDF5Path.components(target) {
            prefix += "/" + component
            guard try call.isTrue(H5Lexists(fileID, prefix, bw_H5P_DEFAULT()), "test link") else { return nil }
        }
        guard try call.isTrue(H5Oexists_by_name(fileID, target, bw_H5P_DEFAULT()), "test object") else { return nil }
        let object = try call.check(H5Oopen(fileID, target, bw_H5P_DEFAULT()), "open object")
        defer { H5Oclose(object) }
        return Self.kind(ofOpenObject: object)
    }

    static func kind(ofOpenObject object: hid_t) -> HDF5ObjectKind {
        switch H5Iget_type(object) {
        case H5I_GROUP: return .group
        case H5I_DATASET: return .dataset
        default: return .other
        }
    }

    /// Link names of a group in increasing name order. Call inside the lock.
    func linkNamesLocked(_ group: String) throws -> [String] {
        let fileID = try requireOpen(group)
        var names: [String] = []
        let status = withUnsafeMutablePointer(to: &names) { pointer in
            H5Literate_by_name(fileID, group, H5_INDEX_NAME, H5_ITER_INC, nil, { _, name, _, context in
                guard let name, let context else { return -1 }
                context.assumingMemoryBound(to: [String].self).pointee.append(String(cString: name))
                return 0
            }, pointer, bw_H5P_DEFAULT())
        }
        try HDF5Call(file: path, object: group).check(status, "list group")
        return names
    }
}
