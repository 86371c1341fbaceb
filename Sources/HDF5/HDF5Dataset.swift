import CHDF5

/// An open dataset: an n-dimensional array of one element type, read and written whole or
/// by rows (hyperslabs along the first dimension) without loading the rest.
///
/// The dataset stays open (keeping its chunk cache warm) until `close()`, its file closes,
/// or it is deallocated.
///
/// ```swift
/// let images = try file.dataset(at: "train/images")
/// let shape = try images.shape                           // [60000, 784]
/// let batch = try images.readRows(128..<256, as: Float.self)   // shape [128, 784]
/// let picked = try images.readRows(at: [5, 1, 99], as: Float.self)
/// ```
public final class HDF5Dataset: @unchecked Sendable {
    /// The file this dataset belongs to (kept alive while the dataset is).
    public let file: HDF5File
    /// Absolute path inside the file, e.g. "/train/images".
    public let path: String
    /// The stored element type.
    public let elementType: HDF5ElementType
    /// Chunk dimensions, or nil for contiguous/compact storage.
    public let chunkShape: [Int]?
    /// The filter pipeline (empty unless chunked).
    public let filters: [HDF5Filter]
    /// Whether the first dimension can grow (`append`).
    public let isExtendible: Bool
    /// Whether the chunk cache can hold at least one chunk (chunked datasets only).
    let cachesWholeChunks: Bool
    /// Raw-data offset when rows may be pread directly (see HDF5Dataset+DirectRows).
    let directOffset: UInt64?
    /// Guarded by HDF5Library's lock; -1 once closed.
    private var id: hid_t

    init(file: HDF5File, path: String, id: hid_t, elementType: HDF5ElementType,
         chunkShape: [Int]?, filters: [HDF5Filter], isExtendible: Bool, cachesWholeChunks: Bool, directOffset: UInt64?) {
        self.file = file
        self.path = path
        self.id = id
        self.elementType = elementType
        self.chunkShape = chunkShape
        self.filters = filters
        self.isExtendible = isExtendible
        self.cachesWholeChunks = cachesWholeChunks
        self.directOffset = directOffset
    }

    deinit {
        HDF5Library.withLock {
            file.unregister(self)
            closeID()
        }
    }

    /// Releases the libhdf5 handle. Idempotent; the object is unusable afterwards.
    public func close() throws {
        try HDF5Library.withLock {
            guard id >= 0 else { return }
            let result = H5Dclose(id)
            id = -1
            file.unregister(self)
            try call.check(result, "close dataset")
        }
    }

    /// Closes without reporting (file close and deinit). Call inside the lock.
    func closeID() {
        guard id >= 0 else { return }
        H5Dclose(id)
        H5Eclear2(bw_H5E_DEFAULT())
        id = -1
    }

    var call: HDF5Call { HDF5Call(file: file.path, object: path) }

    /// The open id, or `.closed`. Call inside the lock.
    func requireOpen() throws -> hid_t {
        guard id >= 0, file.id >= 0 else { throw HDF5Error.closed(file: file.path, object: path) }
        return id
    }

    /// The current dimensions ([] for a scalar); the first may grow through `append`.
    public var shape: [Int] {
        get throws { try HDF5Library.withLock { try currentShapeLocked() } }
    }

    /// Total number of elements (1 for a scalar).
    public var count: Int {
        get throws {
            let shape = try shape
            guard let count = DatasetLayout.checkedProduct(shape) else {
                throw HDF5Error.implausibleSize(file: file.path, object: path, shape: shape.map(String.init),
                                                reason: "the element count overflows a 64-bit integer")
            }
            return count
        }
    }

    func currentShapeLocked() throws -> [Int] {
        let space = try call.check(H5Dget_space(try requireOpen()), "get dataspace")
        defer { H5Sclose(space) }
        return try dimensions(of: space).current
    }

    func dimensions(of space: hid_t) throws -> (current: [Int], maximum: [Int?]) {
        let rank = Int(try call.check(H5Sget_simple_extent_ndims(space), "get rank"))
        var current = [hsize_t](repeating: 0, count: rank)
        var maximum = [hsize_t](repeating: 0, count: rank)
        if rank > 0 { try call.check(H5Sget_simple_extent_dims(space, &current, &maximum), "get dimensions") }
        let unlimited = bw_H5S_UNLIMITED()
        return (try DatasetLayout.dimensions(current, call: call), maximum.map { $0 == unlimited ? nil : Int(exactly: $0) })
    }

    /// Throws unless `T` can hold the stored type without loss.
    func checkReadable<T: HDF5Scalar>(_ type: T.Type) throws {
        guard elementType.convertsLosslessly(to: T.hdf5ElementType) else {
            throw HDF5Error.elementTypeMismatch(
                file: file.path, object: path, stored: elementType.numpyName, requested: "\(T.self) (\(T.hdf5ElementType))")
        }
    }

    /// Throws unless values of `T` can be stored in this dataset without loss.
    func checkWritable<T: HDF5Scalar>(_ type: T.Type) throws {
        guard T.hdf5ElementType.convertsLosslessly(to: elementType) else {
            throw HDF5Error.elementTypeMismatch(
                file: file.path, object: path, stored: elementType.numpyName, requested: "\(T.self) (\(T.hdf5ElementType))")
        }
    }

    /// H5Dread of `count` elements with the given selections into a fresh array. Inside the lock.
    func readLocked<T: HDF5Scalar>(_ type: T.Type, count: Int, memorySpace: hid_t, fileSpace: hid_t) throws -> [T] {
        let datasetID = try requireOpen()
        guard let memoryType = T.hdf5ElementType.memoryType() else {
            throw HDF5Error.elementTypeMismatch(file: file.path, object: path, stored: elementType.numpyName, requested: "\(T.self)")
        }
        defer { memoryType.close() }
        try checkReadSize(T.self, count: count, datasetID: datasetID)
        return try ScalarBuffer.makeArray(T.self, count: count) { buffer in
            guard let buffer else { return }
            try checkRead(H5Dread(datasetID, memoryType.id, memorySpace, fileSpace, bw_H5P_DEFAULT(), buffer), datasetID: datasetID)
        }
    }

    /// H5Dwrite of `values` with the given selections. Inside the lock.
    func writeLocked<T: HDF5Scalar>(_ values: [T], memorySpace: hid_t, fileSpace: hid_t) throws {
        let datasetID = try requireOpen()
        guard let memoryType = T.hdf5ElementType.memoryType() else {
            throw HDF5Error.elementTypeMismatch(file: file.path, object: path, stored: elementType.numpyName, requested: "\(T.self)")
        }
        defer { memoryType.close() }
        guard !values.isEmpty else { return }
        try ScalarBuffer.withBytes(of: values) { bytes in
            try call.check(H5Dwrite(datasetID, memoryType.id, memorySpace, fileSpace, bw_H5P_DEFAULT(), bytes), "write")
        }
    }
}
