import CHDF5

/// Attribute values as `batchwise inspect` and ``HDF5Node`` show them. Inside the lock.
extension AttributeIO {
    /// The value decoded into its JSON form: numbers, strings and bools as such, h5py's
    /// complex numbers and enum members as small objects, a null dataspace as `.empty`, and a
    /// multi-dimensional attribute as nested arrays of its shape.
    func jsonValue() throws -> HDF5AttributeJSON {
        let (type, typeClass, shape, isNull) = try withOpenAttribute { _, type, space in
            let rank = Int(try call.check(H5Sget_simple_extent_ndims(space), "get attribute rank"))
            var dims = [hsize_t](repeating: 0, count: rank)
            if rank > 0 { try call.check(H5Sget_simple_extent_dims(space, &dims, nil), "get attribute dimensions") }
            return (HDF5ElementType.classify(type), H5Tget_class(type), try DatasetLayout.dimensions(dims, call: call),
                    H5Sget_simple_extent_type(space) == H5S_NULL)
        }
        if isNull { return .empty(dtype: type.numpyName) }
        let values: [HDF5AttributeJSON]
        switch type {
        case _ where typeClass == H5T_ENUM && type != .bool: values = try readEnumMembers()
        case .string: values = try readStrings().map { .string($0) }
        case .float16, .float32, .float64: values = try readNumeric(Double.self).map { .double($0) }
        case .int8, .int16, .int32, .int64: values = try readNumeric(Int64.self).map { .int($0) }
        case .uint8, .uint16, .uint32, .uint64: values = try readNumeric(UInt64.self).map { .uint($0) }
        case .bool: values = try readNumeric(Bool.self).map { .bool($0) }
        case .other(let name) where name == "complex64" || name == "complex128": values = try readComplex()
        case .other(let name): return .unsupported(name)
        }
        return Self.shaped(values, shape)
    }

    /// `values` nested to `shape` (row-major): a scalar alone, one array per dimension.
    static func shaped(_ values: [HDF5AttributeJSON], _ shape: [Int]) -> HDF5AttributeJSON {
        if shape.isEmpty { return values.count == 1 ? values[0] : .array(values) }
        guard shape.count > 1, shape[0] > 0, values.count == shape.reduce(1, *), !values.isEmpty else { return .array(values) }
        let rowSize = values.count / shape[0]
        return .array((0..<shape[0]).map { row in
            shaped(Array(values[(row * rowSize)..<((row + 1) * rowSize)]), Array(shape.dropFirst()))
        })
    }

    /// h5py's complex numbers, converted by libhdf5 to a pair of doubles.
    private func readComplex() throws -> [HDF5AttributeJSON] {
        try withOpenAttribute { attribute, _, space in
            let pair = try call.check(H5Tcreate(H5T_COMPOUND, 16), "create complex type")
            defer { H5Tclose(pair) }
            try call.check(H5Tinsert(pair, "r", 0, bw_H5T_NATIVE_DOUBLE()), "create complex type")
            try call.check(H5Tinsert(pair, "i", 8, bw_H5T_NATIVE_DOUBLE()), "create complex type")
            let count = try checkedCount(space, elementBytes: 16)
            var parts = [Double](repeating: 0, count: 2 * count)
            if count > 0 { try call.check(H5Aread(attribute, pair, &parts), "read attribute \(name)") }
            return (0..<count).map { .complex(real: parts[2 * $0], imaginary: parts[2 * $0 + 1]) }
        }
    }

    /// Enum values with their member names (a value no member has is named by its number).
    private func readEnumMembers() throws -> [HDF5AttributeJSON] {
        try withOpenAttribute { attribute, type, space in
            let size = H5Tget_size(type)
            let count = try checkedCount(space, elementBytes: size)
            var bytes = [UInt8](repeating: 0, count: max(1, size * count))
            if count > 0 { try call.check(H5Aread(attribute, type, &bytes), "read attribute \(name)") }
            let members = HDF5ElementType.enumMembers(type)
            let signed = H5Tget_sign(type) != H5T_SGN_NONE
            let bigEndian = H5Tget_order(type) == H5T_ORDER_BE
            return (0..<count).map { index in
                let raw = bytes[(index * size)..<((index + 1) * size)]
                let value = HDF5ElementType.integer(bigEndian ? ArraySlice(raw.reversed()) : raw, signed: signed)
                return .enumMember(name: members.first { $0.value == value }?.name ?? "\(value)", value: value)
            }
        }
    }
}
