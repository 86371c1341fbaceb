import CHDF5
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Random rows from contiguous datasets in read-only files, read straight from the file.
///
/// libhdf5 1.10 spends ~2 ms building and walking a 128-block selection for one random batch.
/// When the stored bytes are exactly the in-memory bytes (contiguous, unfiltered, allocated,
/// stored type equal to the native type, default sec2 driver) and nothing can be pending in
/// libhdf5's caches (file opened read-only), each run of rows is one pread(2) at the offset
/// libhdf5 reports. Anything else goes through H5Dread.
extension HDF5Dataset {
    /// The byte offset of the raw data if direct reads are safe for this dataset. Inside the lock.
    static func directReadOffset(file: HDF5File, fileID: hid_t, datasetID: hid_t, layout: DatasetLayout) -> UInt64? {
        guard file.mode == .readOnly, layout.chunkShape == nil, layout.filters.isEmpty else { return nil }
        // A read-only open of a file this process also has open for writing shares the
        // writer's caches; the intent reveals it.
        var intent: UInt32 = 0
        guard H5Fget_intent(fileID, &intent) >= 0, intent & bw_H5F_ACC_RDWR() == 0 else {
            H5Eclear2(bw_H5E_DEFAULT())
            return nil
        }
        let fapl = H5Fget_access_plist(fileID)
        guard fapl >= 0 else { H5Eclear2(bw_H5E_DEFAULT()); return nil }
        defer { H5Pclose(fapl) }
        guard H5Pget_driver(fapl) == bw_H5FD_SEC2() else { return nil }
        let offset = H5Dget_offset(datasetID)
        H5Eclear2(bw_H5E_DEFAULT())  // an unallocated dataset reports HADDR_UNDEF with an error
        return offset == haddr_t.max ? nil : UInt64(offset)
    }

    /// Reads `runs` of rows with pread(2) if the stored type is exactly `T`'s native type;
    /// nil if the direct path does not apply. Inside the lock.
    func readRunsDirectLocked<T: HDF5Scalar>(_ type: T.Type, shape: [Int], runs: [Range<Int>]) throws -> [T]? {
        guard let base = directOffset else { return nil }
        let datasetID = try requireOpen()
        guard let memoryType = T.hdf5ElementType.memoryType() else { return nil }
        defer { memoryType.close() }
        let storedType = try call.check(H5Dget_type(datasetID), "get datatype")
        defer { H5Tclose(storedType) }
        guard try call.isTrue(H5Tequal(storedType, memoryType.id), "compare datatypes") else { return nil }
        var handle: UnsafeMutableRawPointer?
        try call.check(H5Fget_vfd_handle(try file.requireOpen(path), bw_H5P_DEFAULT(), &handle), "get file descriptor")
        guard let descriptor = handle?.load(as: Int32.self) else { return nil }

        let rowSize = shape.dropFirst().reduce(1, *)
        let rowBytes = rowSize * H5Tget_size(storedType)
        let total = runs.reduce(0) { $0 + $1.count } * rowSize
        try checkReadSize(T.self, count: total, datasetID: datasetID)
        return try ScalarBuffer.makeArray(T.self, count: total) { buffer in
            guard let buffer else { return }
            var written = 0
            for run in runs {
                var done = 0
                let length = run.count * rowBytes
                let fileOffset = off_t(base) + off_t(run.lowerBound * rowBytes)
                while done < length {
                    let count = pread(descriptor, buffer + written + done, length - done, fileOffset + off_t(done))
                    if count < 0 && errno == EINTR { continue }
                    guard count > 0 else {
                        let code = errno
                        throw HDF5Error.system(operation: "read rows", file: file.path, errno: code,
                                               message: count == 0 ? "unexpected end of file" : String(cString: strerror(code)))
                    }
                    done += count
                }
                written += length
            }
        }
    }
}
