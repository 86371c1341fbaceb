/// Attribute shortcuts on a dataset (same semantics as the `HDF5File` methods).
extension HDF5Dataset {
    /// Writes attribute `name` on this dataset.
    public func setAttribute<V: HDF5AttributeValue>(_ name: String, _ value: V, storage: HDF5StringStorage = .variableLength) throws {
        try file.setAttribute(name, value, on: path, storage: storage)
    }

    /// Reads attribute `name` of this dataset.
    public func readAttribute<V: HDF5AttributeValue>(_ name: String, as type: V.Type = V.self) throws -> V {
        try file.readAttribute(name, of: path, as: V.self)
    }

    /// Names of this dataset's attributes.
    public func attributeNames() throws -> [String] {
        try file.attributeNames(of: path)
    }
}
