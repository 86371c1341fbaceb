import CHDF5
import Foundation

/// The element count of a read comes from the file's dataspace, which a corrupted file can
/// set to anything (fuzzing found 2^57 elements in a 30 KB file). Allocating that count
/// aborts the process, so every read first checks it against what can exist.
///
/// ```swift
/// // in an HDF5Dataset method, inside the lock, before ScalarBuffer.makeArray:
/// try dataset.checkReadSize(Float.self, count: count, datasetID: id)
/// ```
extension HDF5Dataset {
    /// Throws ``HDF5Error/implausibleSize(file:object:shape:reason:)`` unless `count`
    /// elements of `T` fit in memory and, for contiguous or compact storage, the stored bytes
    /// they need fit in the dataset's allocated storage and in the file.
    ///
    /// Chunked datasets are bounded by memory only: chunks never written read as the fill
    /// value and compressed chunks expand, so a legitimate read may exceed the stored bytes.
    /// A dataset whose storage was never allocated reads as fill values, likewise memory-bounded.
    func checkReadSize<T: HDF5Scalar>(_ type: T.Type, count: Int, datasetID: hid_t) throws {
        let stride = T.self == Bool.self ? 1 : MemoryLayout<T>.stride
        guard let bytes = DatasetLayout.checkedProduct([count], stride) else {
            throw implausible(count, "\(count) elements of \(T.self) overflow a 64-bit byte count")
        }
        let memory = ProcessInfo.processInfo.physicalMemory
        guard UInt64(bytes) <= memory else {
            throw implausible(count, "reading it needs \(bytes) bytes, more than this machine's \(memory) bytes of memory")
        }
        guard chunkShape == nil else { return }
        let stored = H5Dget_storage_size(datasetID)
        H5Eclear2(bw_H5E_DEFAULT())   // 0 is also the error value; either way nothing is allocated
        guard stored > 0 else { return }
        let type = try call.check(H5Dget_type(datasetID), "get datatype")
        let elementSize = H5Tget_size(type)
        H5Tclose(type)
        guard let needed = DatasetLayout.checkedProduct([count], max(elementSize, 1)) else {
            throw implausible(count, "\(count) elements of \(elementSize) bytes overflow a 64-bit byte count")
        }
        var fileSize: hsize_t = 0
        try call.check(H5Fget_filesize(try file.requireOpen(path), &fileSize), "get file size")
        let available = min(stored, fileSize)
        guard UInt64(needed) <= available else {
            throw implausible(count, "\(count) elements of \(elementSize) bytes need \(needed) bytes, but the dataset stores "
                + "\(stored) bytes in a file of \(fileSize) bytes; the file is probably corrupted")
        }
    }

    private func implausible(_ count: Int, _ reason: String) -> HDF5Error {
        let shape = (try? currentShapeLocked()).map { $0.map(String.init) } ?? ["\(count) elements"]
        return .implausibleSize(file: file.path, object: path, shape: shape, reason: reason)
    }
}
