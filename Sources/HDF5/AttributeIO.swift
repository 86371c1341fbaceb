import CHDF5
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads and writes one attribute of an open object. Every method runs inside the lock.
struct AttributeIO {
    let objectID: hid_t
    let name: String
    let call: HDF5Call

    // MARK: Writing

    func writeNumeric<T: HDF5Scalar>(_ values: [T], scalar: Bool) throws {
        guard let fileType = T.hdf5ElementType.fileType(), let memoryType = T.hdf5ElementType.memoryType() else {
            throw HDF5Error.invalidArgument(file: call.file, object: call.object, reason: "\(T.self) cannot be stored")
        }
        defer { fileType.close(); memoryType.close() }
        let attribute = try create(type: fileType.id, count: values.count, scalar: scalar)
        defer { H5Aclose(attribute) }
        if values.isEmpty { return }
        try ScalarBuffer.withBytes(of: values) { bytes in
            try call.check(H5Awrite(attribute, memoryType.id, bytes), "write attribute \(name)")
        }
    }

    func writeStrings(_ strings: [String], scalar: Bool, storage: HDF5StringStorage) throws {
        let type = try call.check(H5Tcopy(bw_H5T_C_S1()), "copy string type")
        defer { H5Tclose(type) }
        switch storage {
        case .variableLength:
            try call.check(H5Tset_size(type, bw_H5T_VARIABLE()), "set string size")
            try call.check(H5Tset_cset(type, H5T_CSET_UTF8), "set string encoding")
            let attribute = try create(type: type, count: strings.count, scalar: scalar)
            defer { H5Aclose(attribute) }
            let pointers = strings.map { strdup($0) }
            defer { pointers.forEach { free($0) } }
            var constPointers = pointers.map { UnsafePointer<CChar>($0) }
            try call.check(H5Awrite(attribute, type, &constPointers), "write attribute \(name)")
        case .fixedLength:
            let width = max(1, strings.map(\.utf8.count).max() ?? 1)
            let ascii = strings.allSatisfy { $0.utf8.allSatisfy { $0 < 128 } }
            try call.check(H5Tset_size(type, width), "set string size")
            try call.check(H5Tset_strpad(type, H5T_STR_NULLPAD), "set string padding")
            try call.check(H5Tset_cset(type, ascii ? H5T_CSET_ASCII : H5T_CSET_UTF8), "set string encoding")
            var bytes = [UInt8](repeating: 0, count: width * strings.count)
            for (index, string) in strings.enumerated() {
                for (offset, byte) in string.utf8.enumerated() { bytes[index * width + offset] = byte }
            }
            let attribute = try create(type: type, count: strings.count, scalar: scalar)
            defer { H5Aclose(attribute) }
            if !strings.isEmpty { try call.check(H5Awrite(attribute, type, bytes), "write attribute \(name)") }
        }
    }

    /// Replaces any existing attribute of that name.
    private func create(type: hid_t, count: Int, scalar: Bool) throws -> hid_t {
        if try call.isTrue(H5Aexists(objectID, name), "test attribute \(name)") {
            try call.check(H5Adelete(objectID, name), "replace attribute \(name)")
        }
        let space = scalar
            ? H5Screate(H5S_SCALAR)
            : H5Screate_simple(1, [hsize_t(count)], nil)
        try call.check(space, "create attribute dataspace")
        defer { H5Sclose(space) }
        return try call.check(H5Acreate2(objectID, name, type, space, bw_H5P_DEFAULT(), bw_H5P_DEFAULT()), "create attribute \(name)")
    }

    // MARK: Reading

    /// The stored element type and the attribute's shape ([] for scalar).
    func describe() throws -> (type: HDF5ElementType, shape: [Int]) {
        try withOpenAttribute { attribute, type, space in
            let rank = Int(try call.check(H5Sget_simple_extent_ndims(space), "get attribute rank"))
            var dims = [hsize_t](repeating: 0, count: rank)
            if rank > 0 { try call.check(H5Sget_simple_extent_dims(space, &dims, nil), "get attribute dimensions") }
            return (HDF5ElementType.classify(type), try DatasetLayout.dimensions(dims, call: call))
        }
    }

    func readNumeric<T: HDF5Scalar>(_ requested: T.Type) throws -> [T] {
        try withOpenAttribute { attribute, type, space in
            let stored = HDF5ElementType.classify(type)
            guard stored.convertsLosslessly(to: T.hdf5ElementType), let memoryType = T.hdf5ElementType.memoryType() else {
                throw HDF5Error.elementTypeMismatch(file: call.file, object: "\(call.object)@\(name)",
                                                    stored: stored.numpyName, requested: "\(T.self)")
            }
            defer { memoryType.close() }
            let count = try checkedCount(space, elementBytes: MemoryLayout<T>.stride)
            return try ScalarBuffer.makeArray(T.self, count: count) { buffer in
                guard let buffer else { return }
                try call.check(H5Aread(attribute, memoryType.id, buffer), "read attribute \(name)")
            }
        }
    }

    /// Reads fixed- or variable-length strings (Keras and h5py write both).
    func readStrings() throws -> [String] {
        try withOpenAttribute { attribute, type, space in
            guard H5Tget_class(type) == H5T_STRING else {
                throw HDF5Error.elementTypeMismatch(file: call.file, object: "\(call.object)@\(name)",
                                                    stored: HDF5ElementType.classify(type).numpyName, requested: "String")
            }
            let count = try checkedCount(space, elementBytes: max(H5Tget_size(type), MemoryLayout<UnsafeRawPointer>.stride))
            if try call.isTrue(H5Tis_variable_str(type), "inspect string type") {
                let memoryType = try call.check(H5Tcopy(bw_H5T_C_S1()), "copy string type")
                defer { H5Tclose(memoryType) }
                try call.check(H5Tset_size(memoryType, bw_H5T_VARIABLE()), "set string size")
                try call.check(H5Tset_cset(memoryType, H5Tget_cset(type)), "set string encoding")
                var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
                try call.check(H5Aread(attribute, memoryType, &pointers), "read attribute \(name)")
                defer { _ = bw_vlen_reclaim(memoryType, space, &pointers) }
                return pointers.map { $0.map { String(cString: $0) } ?? "" }
            }
            let width = H5Tget_size(type)
            let padding = H5Tget_strpad(type)
            var bytes = [UInt8](repeating: 0, count: max(1, width * count))
            try call.check(H5Aread(attribute, type, &bytes), "read attribute \(name)")
            return (0..<count).map { index in
                var slice = bytes[(index * width)..<((index + 1) * width)]
                if let end = slice.firstIndex(of: 0) { slice = slice[..<end] }
                if padding == H5T_STR_SPACEPAD { while slice.last == 0x20 { slice = slice.dropLast() } }
                return String(decoding: slice, as: UTF8.self)
            }
        }
    }

    /// The attribute's element count, refusing counts a corrupted dataspace made up: the
    /// buffer (count × `elementBytes`) must not overflow or exceed physical memory.
    func checkedCount(_ space: hid_t, elementBytes: Int) throws -> Int {
        let points = H5Sget_simple_extent_npoints(space)
        guard points >= 0 else { throw call.failure("count attribute \(name) elements") }
        let memory = ProcessInfo.processInfo.physicalMemory
        guard let count = Int(exactly: points), let bytes = DatasetLayout.checkedProduct([count], max(elementBytes, 1)),
              UInt64(bytes) <= memory else {
            throw HDF5Error.implausibleSize(file: call.file, object: "\(call.object)@\(name)", shape: ["\(points) elements"],
                                            reason: "\(points) elements of \(elementBytes) bytes do not fit in memory; the file is probably corrupted")
        }
        return count
    }

    func withOpenAttribute<R>(_ body: (_ attribute: hid_t, _ type: hid_t, _ space: hid_t) throws -> R) throws -> R {
        guard try call.isTrue(H5Aexists(objectID, name), "test attribute \(name)") else {
            throw HDF5Error.notFound(file: call.file, object: "\(call.object)@\(name)")
        }
        let attribute = try call.check(H5Aopen(objectID, name, bw_H5P_DEFAULT()), "open attribute \(name)")
        defer { H5Aclose(attribute) }
        let type = try call.check(H5Aget_type(attribute), "get attribute type")
        defer { H5Tclose(type) }
        let space = try call.check(H5Aget_space(attribute), "get attribute dataspace")
        defer { H5Sclose(space) }
        return try body(attribute, type, space)
    }
}

/// Lets `setAttribute`/`readAttribute` reach the element type of `[T]` without knowing T.
protocol NumericAttributeArray {
    func writeAttribute(with io: AttributeIO) throws
    static func readAttribute(with io: AttributeIO) throws -> Self
}

extension Array: NumericAttributeArray where Element: HDF5Scalar {
    func writeAttribute(with io: AttributeIO) throws { try io.writeNumeric(self, scalar: false) }
    static func readAttribute(with io: AttributeIO) throws -> [Element] { try io.readNumeric(Element.self) }
}
