import CHDF5

/// Creating, writing and opening datasets.
extension HDF5File {
    /// Creates an empty dataset (filled with zeros) at `path`, creating intermediate groups.
    /// `shape` [] makes a scalar dataset; a first dimension of 0 is fine (append later).
    @discardableResult
    public func createDataset<T: HDF5Scalar>(
        _ path: String, of type: T.Type, shape: [Int], options: HDF5DatasetOptions = .contiguous
    ) throws -> HDF5Dataset {
        try HDF5Library.withLock {
            let target = HDF5Path.normalize(path)
            let fileID = try requireOpen(target)
            let call = HDF5Call(file: self.path, object: target)
            guard target != "/" else { throw HDF5Error.invalidArgument(file: self.path, object: target, reason: "empty dataset path") }
            guard shape.allSatisfy({ $0 >= 0 }) else {
                throw HDF5Error.invalidArgument(file: self.path, object: target, reason: "negative dimension in \(shape)")
            }
            guard let fileType = T.hdf5ElementType.fileType() else {
                throw HDF5Error.invalidArgument(file: self.path, object: target, reason: "\(T.self) cannot be stored")
            }
            defer { fileType.close() }
            let chunks: [Int]?
            do {
                chunks = try options.resolvedChunkShape(for: shape, elementSize: T.hdf5ElementType.byteSize ?? 1)
            } catch let problem as ChunkShapeProblem {
                throw HDF5Error.invalidArgument(file: self.path, object: target, reason: problem.reason)
            }
            let space = try makeSpace(shape: shape, extendible: options.extendible, call: call)
            defer { H5Sclose(space) }
            let dcpl = try call.check(H5Pcreate(bw_H5P_DATASET_CREATE()), "create dataset property list")
            defer { H5Pclose(dcpl) }
            if let chunks {
                try call.check(H5Pset_chunk(dcpl, Int32(chunks.count), chunks.map { hsize_t($0) }), "set chunking")
                if options.shuffle { try call.check(H5Pset_shuffle(dcpl), "set shuffle") }
                if let level = options.gzipLevel {
                    guard (0...9).contains(level) else {
                        throw HDF5Error.invalidArgument(file: self.path, object: target, reason: "gzip level \(level) is not in 0...9")
                    }
                    try call.check(H5Pset_deflate(dcpl, UInt32(level)), "set gzip")
                }
            }
            let lcpl = try call.check(H5Pcreate(bw_H5P_LINK_CREATE()), "create link property list")
            defer { H5Pclose(lcpl) }
            try call.check(H5Pset_create_intermediate_group(lcpl, 1), "set intermediate group creation")
            let id = try call.check(H5Dcreate2(fileID, target, fileType.id, space, lcpl, dcpl, bw_H5P_DEFAULT()), "create dataset")
            // Wrapping the new id (rather than closing and reopening by name) saves a path walk
            // per dataset, which dominated checkpoint saves.
            return try datasetLocked(openID: id, target: target, chunkCache: .automatic)
        }
    }

    /// Creates (or replaces) a dataset at `path` holding `values` with `shape`, in one call.
    /// `shape` defaults to 1-D `[values.count]`.
    @discardableResult
    public func write<T: HDF5Scalar>(
        _ values: [T], shape: [Int]? = nil, to path: String, options: HDF5DatasetOptions = .contiguous
    ) throws -> HDF5Dataset {
        try HDF5Library.withLock {
            let target = HDF5Path.normalize(path)
            let shape = shape ?? [values.count]
            guard shape.reduce(1, *) == values.count else {
                throw HDF5Error.shapeMismatch(file: self.path, object: target, expected: shape, actual: [values.count])
            }
            let dataset: HDF5Dataset
            do {
                // Creating first and looking for an old link only when that fails keeps the
                // common case (a new name) to one libhdf5 call.
                dataset = try createDataset(target, of: T.self, shape: shape, options: options)
            } catch let failure as HDF5Error {
                guard case .library = failure, try linkExistsLocked(target) else { throw failure }
                try remove(target)
                dataset = try createDataset(target, of: T.self, shape: shape, options: options)
            }
            try dataset.write(values)
            return dataset
        }
    }

    /// Opens the dataset at `path`. See `HDF5ChunkCache` for why the cache is sized by default.
    public func dataset(at path: String, chunkCache: HDF5ChunkCache = .automatic) throws -> HDF5Dataset {
        try HDF5Library.withLock { try openDatasetLocked(HDF5Path.normalize(path), chunkCache: chunkCache) }
    }

    /// Reads a whole dataset in one call: `try file.read("x", as: Float.self)`.
    public func read<T: HDF5Scalar>(_ path: String, as type: T.Type = T.self) throws -> HDF5Array<T> {
        try HDF5Library.withLock {
            let dataset = try openDatasetLocked(HDF5Path.normalize(path), chunkCache: .libraryDefault)
            defer { try? dataset.close() }
            return try dataset.read(as: T.self)
        }
    }

    private func makeSpace(shape: [Int], extendible: Bool, call: HDF5Call) throws -> hid_t {
        if shape.isEmpty { return try call.check(H5Screate(H5S_SCALAR), "create scalar dataspace") }
        let dims = shape.map { hsize_t($0) }
        var maximum = dims
        if extendible { maximum[0] = bw_H5S_UNLIMITED() }
        return try call.check(H5Screate_simple(Int32(dims.count), dims, maximum), "create dataspace")
    }

    func openDatasetLocked(_ target: String, chunkCache: HDF5ChunkCache) throws -> HDF5Dataset {
        let fileID = try requireOpen(target)
        // Common case first: one H5Oopen. Only when it fails or finds something else does the
        // slower component-by-component walk run, to name what is wrong (missing vs wrong kind).
        if target != "/" {
            let object = H5Oopen(fileID, target, bw_H5P_DEFAULT())
            if object >= 0 {
                if H5Iget_type(object) == H5I_DATASET {
                    return try datasetLocked(openID: object, target: target, chunkCache: chunkCache)
                }
                H5Oclose(object)
            }
            H5Eclear2(bw_H5E_DEFAULT())
        }
        let call = HDF5Call(file: path, object: target)
        guard let kind = try objectKindLocked(target) else { throw HDF5Error.notFound(file: path, object: target) }
        guard kind == .dataset else {
            throw HDF5Error.wrongKind(file: path, object: target, expected: "dataset", actual: kind.rawValue)
        }
        let id = try call.check(H5Dopen2(fileID, target, bw_H5P_DEFAULT()), "open dataset")
        return try datasetLocked(openID: id, target: target, chunkCache: chunkCache)
    }

    /// Wraps an open dataset id (taking ownership: it is closed on error), reopening it with a
    /// sized chunk cache when `chunkCache` asks for one.
    private func datasetLocked(openID: hid_t, target: String, chunkCache: HDF5ChunkCache) throws -> HDF5Dataset {
        let fileID = try requireOpen(target)
        let call = HDF5Call(file: path, object: target)
        var id = openID
        do {
            let layout = try DatasetLayout(datasetID: id, call: call)
            let cache = chunkCache.parameters(chunkBytes: layout.chunkBytes, datasetBytes: layout.datasetBytes,
                                              band: layout.rowBand)
            if layout.chunkShape != nil, let cache {
                // The cache is fixed at open time, so reopen with a sized access list.
                let dapl = try call.check(H5Pcreate(bw_H5P_DATASET_ACCESS()), "create dataset access list")
                defer { H5Pclose(dapl) }
                try call.check(H5Pset_chunk_cache(dapl, cache.slots, cache.bytes, 0.75), "set chunk cache")
                H5Dclose(id)
                id = -1
                id = try call.check(H5Dopen2(fileID, target, dapl), "open dataset")
            }
            var cacheBytes = cache?.bytes ?? 0
            if layout.chunkShape != nil && chunkCache == .libraryDefault {
                // The dataset inherits the file's raw-data chunk cache size.
                let fapl = try call.check(H5Fget_access_plist(fileID), "get file access list")
                defer { H5Pclose(fapl) }
                var metadataSlots: Int32 = 0
                var slots = 0
                var w0 = 0.0
                try call.check(H5Pget_cache(fapl, &metadataSlots, &slots, &cacheBytes, &w0), "get chunk cache")
            }
            let dataset = HDF5Dataset(file: self, path: target, id: id, elementType: layout.elementType,
                                      chunkShape: layout.chunkShape, filters: layout.filters, isExtendible: layout.isExtendible,
                                      cachesWholeChunks: cacheBytes >= layout.chunkBytes,
                                      directOffset: HDF5Dataset.directReadOffset(file: self, fileID: fileID, datasetID: id, layout: layout))
            register(dataset)
            return dataset
        } catch {
            if id >= 0 { H5Dclose(id) }
            throw error
        }
    }
}
