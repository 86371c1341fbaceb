import CHDF5

/// The write path for files made of many small datasets written once (checkpoints, Keras
/// weights): create, write and close in one go, with no ``HDF5Dataset`` handle to build.
extension HDF5File {
    /// Writes `values` as a new contiguous dataset at `path` (intermediate groups are created,
    /// an existing link there is replaced) and keeps no handle to it.
    ///
    /// Same result as ``write(_:shape:to:options:)`` without options, in about a third of the
    /// libhdf5 calls: wrapping each new dataset in an ``HDF5Dataset`` (layout queries, shape
    /// checks, the registry) was most of the Swift-side cost of a checkpoint save.
    ///
    /// ```swift
    /// try file.writeUnretained(kernel.scalars, shape: kernel.shape, to: "/model/dense/kernel")
    /// ```
    package func writeUnretained<T: HDF5Scalar>(_ values: [T], shape: [Int]? = nil, to path: String) throws {
        try HDF5Library.withLock {
            let target = HDF5Path.normalize(path)
            let shape = shape ?? [values.count]
            guard target != "/", shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == values.count,
                  let fileType = T.hdf5ElementType.fileType() else {
                // The general path owns the error messages for every malformed request.
                _ = try write(values, shape: shape, to: path)
                return
            }
            defer { fileType.close() }
            guard let memoryType = T.hdf5ElementType.memoryType() else {
                _ = try write(values, shape: shape, to: path)
                return
            }
            defer { memoryType.close() }
            let fileID = try requireOpen(target)
            let call = HDF5Call(file: self.path, object: target)
            let dims = shape.map { hsize_t($0) }
            let space = try call.check(shape.isEmpty ? H5Screate(H5S_SCALAR) : H5Screate_simple(Int32(dims.count), dims, nil),
                                       "create dataspace")
            defer { H5Sclose(space) }
            let lcpl = try call.check(H5Pcreate(bw_H5P_LINK_CREATE()), "create link property list")
            defer { H5Pclose(lcpl) }
            try call.check(H5Pset_create_intermediate_group(lcpl, 1), "set intermediate group creation")
            var id = H5Dcreate2(fileID, target, fileType.id, space, lcpl, bw_H5P_DEFAULT(), bw_H5P_DEFAULT())
            if id < 0 {
                let failure = call.failure("create dataset")
                guard try linkExistsLocked(target) else { throw failure }
                try remove(target)
                id = try call.check(H5Dcreate2(fileID, target, fileType.id, space, lcpl, bw_H5P_DEFAULT(), bw_H5P_DEFAULT()),
                                    "create dataset")
            }
            do {
                if !values.isEmpty {
                    try ScalarBuffer.withBytes(of: values) { bytes in
                        try call.check(H5Dwrite(id, memoryType.id, bw_H5S_ALL(), bw_H5S_ALL(), bw_H5P_DEFAULT(), bytes), "write")
                    }
                }
            } catch {
                H5Dclose(id)
                throw error
            }
            try call.check(H5Dclose(id), "close dataset")
        }
    }
}
