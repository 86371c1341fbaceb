import CHDF5

/// Attributes on the root, groups and datasets, addressed by object path.
extension HDF5File {
    /// Writes (or replaces) attribute `name` on the object at `path`.
    /// Scalars make scalar attributes, arrays 1-D ones; strings are variable-length UTF-8
    /// unless `storage` is `.fixedLength`.
    public func setAttribute<V: HDF5AttributeValue>(
        _ name: String, _ value: V, on path: String = "/", storage: HDF5StringStorage = .variableLength
    ) throws {
        try withObject(path) { io in
            let io = AttributeIO(objectID: io.objectID, name: name, call: io.call)
            switch value {
            case let string as String: try io.writeStrings([string], scalar: true, storage: storage)
            case let strings as [String]: try io.writeStrings(strings, scalar: false, storage: storage)
            case let scalar as any HDF5Scalar: try Self.writeScalar(scalar, io: io)
            case let array as any NumericAttributeArray: try array.writeAttribute(with: io)
            default:
                throw HDF5Error.invalidArgument(file: self.path, object: path, reason: "unsupported attribute type \(V.self)")
            }
        }
    }

    private static func writeScalar<T: HDF5Scalar>(_ value: T, io: AttributeIO) throws {
        try io.writeNumeric([value], scalar: true)
    }

    /// Reads attribute `name` of the object at `path` as `String`, `[String]`, a scalar or an array.
    /// A one-element array reads as a scalar and a scalar as a one-element array.
    public func readAttribute<V: HDF5AttributeValue>(_ name: String, of path: String = "/", as type: V.Type = V.self) throws -> V {
        try withObject(path) { io in
            let io = AttributeIO(objectID: io.objectID, name: name, call: io.call)
            if V.self == String.self { return try Self.single(io.readStrings(), io: io) as! V }
            if V.self == [String].self { return try io.readStrings() as! V }
            if let scalarType = V.self as? any HDF5Scalar.Type { return try Self.readScalar(scalarType, io: io) as! V }
            if let arrayType = V.self as? any NumericAttributeArray.Type { return try arrayType.readAttribute(with: io) as! V }
            throw HDF5Error.invalidArgument(file: self.path, object: path, reason: "unsupported attribute type \(V.self)")
        }
    }

    private static func readScalar<T: HDF5Scalar>(_ type: T.Type, io: AttributeIO) throws -> T {
        try single(io.readNumeric(T.self), io: io)
    }

    private static func single<T>(_ values: [T], io: AttributeIO) throws -> T {
        guard values.count == 1 else {
            throw HDF5Error.shapeMismatch(file: io.call.file, object: "\(io.call.object)@\(io.name)", expected: [1], actual: [values.count])
        }
        return values[0]
    }

    /// Names of the attributes of the object at `path`, in name order.
    public func attributeNames(of path: String = "/") throws -> [String] {
        try withObject(path) { io in try Self.attributeNamesLocked(io.objectID, call: io.call) }
    }

    /// Whether the object at `path` has attribute `name`.
    public func hasAttribute(_ name: String, of path: String = "/") throws -> Bool {
        try withObject(path) { io in try io.call.isTrue(H5Aexists(io.objectID, name), "test attribute \(name)") }
    }

    /// Deletes attribute `name` of the object at `path`.
    public func removeAttribute(_ name: String, of path: String = "/") throws {
        try withObject(path) { io in
            guard try io.call.isTrue(H5Aexists(io.objectID, name), "test attribute \(name)") else {
                throw HDF5Error.notFound(file: self.path, object: "\(io.call.object)@\(name)")
            }
            try io.call.check(H5Adelete(io.objectID, name), "remove attribute \(name)")
        }
    }

    /// The stored element type and shape ([] for scalar) of an attribute.
    public func attributeInfo(_ name: String, of path: String = "/") throws -> (elementType: HDF5ElementType, shape: [Int]) {
        try withObject(path) { io in
            let described = try AttributeIO(objectID: io.objectID, name: name, call: io.call).describe()
            return (described.type, described.shape)
        }
    }

    /// Opens the object at `path` for the duration of `body` (inside the lock).
    func withObject<R>(_ path: String, _ body: (AttributeIO) throws -> R) throws -> R {
        try HDF5Library.withLock {
            let target = HDF5Path.normalize(path)
            let fileID = try requireOpen(target)
            let call = HDF5Call(file: self.path, object: target)
            var object = H5Oopen(fileID, target, bw_H5P_DEFAULT())
            if object < 0 {
                // Tell "nothing there" apart from a library failure only on this slow path:
                // a walk per attribute dominated checkpoint saves.
                H5Eclear2(bw_H5E_DEFAULT())
                guard try objectKindLocked(target) != nil else { throw HDF5Error.notFound(file: self.path, object: target) }
                object = try call.check(H5Oopen(fileID, target, bw_H5P_DEFAULT()), "open object")
            }
            defer { H5Oclose(object) }
            return try body(AttributeIO(objectID: object, name: "", call: call))
        }
    }

    static func attributeNamesLocked(_ object: hid_t, call: HDF5Call) throws -> [String] {
        var names: [String] = []
        let status = withUnsafeMutablePointer(to: &names) { pointer in
            H5Aiterate2(object, H5_INDEX_NAME, H5_ITER_INC, nil, { _, name, _, context in
                guard let name, let context else { return -1 }
                context.assumingMemoryBound(to: [String].self).pointee.append(String(cString: name))
                return 0
            }, pointer)
        }
        try call.check(status, "list attributes")
        return names
    }
}
