import CHDF5

/// Filters a read needs but the linked libhdf5 lacks (h5py's LZF, Blosc from hdf5plugin...).
///
/// libhdf5 reports them only as "required filter 'lzf' is not registered" deep in its error
/// stack; reads turn that into ``HDF5Error/filterUnavailable(file:object:filter:filterID:)``.
/// Only a failed read asks, so reads of chunks stored unfiltered (an optional filter that did
/// not compress them) still succeed.
extension HDF5Dataset {
    /// Checks an H5Dread status. Inside the lock.
    func checkRead(_ status: herr_t, datasetID: hid_t) throws {
        guard status < 0 else { return }
        let failure = call.failure("read")
        if let missing = Self.unavailableFilter(datasetID: datasetID) {
            throw HDF5Error.filterUnavailable(file: file.path, object: path, filter: missing.name, filterID: missing.id)
        }
        throw failure
    }

    /// The first filter of the dataset's pipeline that this libhdf5 cannot load, if any. Inside the lock.
    static func unavailableFilter(datasetID: hid_t) -> (name: String, id: Int)? {
        let dcpl = H5Dget_create_plist(datasetID)
        guard dcpl >= 0 else { H5Eclear2(bw_H5E_DEFAULT()); return nil }
        defer { H5Pclose(dcpl) }
        return unavailableFilters(dcpl: dcpl).first.map { ($0.name, $0.id) }
    }

    /// Every filter of a creation property list that this libhdf5 cannot load, with its
    /// position in the pipeline. Inside the lock.
    static func unavailableFilters(dcpl: hid_t) -> [(index: Int, name: String, id: Int)] {
        let count = max(0, H5Pget_nfilters(dcpl))
        var missing: [(index: Int, name: String, id: Int)] = []
        for index in 0..<UInt32(count) {
            var flags: UInt32 = 0, valueCount = 0, config: UInt32 = 0
            var name = [CChar](repeating: 0, count: 64)
            let filter = H5Pget_filter2(dcpl, index, &flags, &valueCount, nil, name.count, &name, &config)
            // H5Zfilter_avail searches the plugin path and leaves its failures on the stack.
            let available = filter >= 0 ? H5Zfilter_avail(filter) : 1
            H5Eclear2(bw_H5E_DEFAULT())
            if available == 0 {
                let label = name.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                missing.append((Int(index), label.isEmpty ? filterName(Int(filter)) : label, Int(filter)))
            }
        }
        return missing
    }

    /// Names of the registered filters h5py users meet most (https://portal.hdfgroup.org/documentation/hdf5-docs/registered_filter_plugins.html).
    static func filterName(_ id: Int) -> String {
        let known = [4: "szip", 307: "bzip2", 32000: "lzf", 32001: "blosc", 32004: "lz4", 32008: "bitshuffle",
                     32013: "zfp", 32015: "zstd", 32026: "blosc2"]
        return known[id] ?? "filter \(id)"
    }
}
