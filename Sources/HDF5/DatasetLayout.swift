import CHDF5

/// What libhdf5 says about a dataset's type, extent, chunking and filters. Inside the lock.
struct DatasetLayout {
    var elementType: HDF5ElementType
    var shape: [Int]
    var isExtendible: Bool
    var chunkShape: [Int]?
    var filters: [HDF5Filter]
    var elementSize: Int

    var chunkBytes: Int { (chunkShape ?? []).reduce(elementSize, *) }
    /// Bytes of all chunks the current extent touches (edge chunks count in full, as the
    /// cache stores them whole); the plain array size if contiguous.
    var datasetBytes: Int { Self.storageBytes(shape: shape, chunkShape: chunkShape, elementSize: elementSize) }

    static func storageBytes(shape: [Int], chunkShape: [Int]?, elementSize: Int) -> Int {
        guard let chunkShape, chunkShape.count == shape.count else { return shape.reduce(elementSize, *) }
        let chunkCount = zip(shape, chunkShape).reduce(1) { count, pair in count * ((pair.0 + pair.1 - 1) / pair.1) }
        return chunkCount * chunkShape.reduce(elementSize, *)
    }

    init(datasetID: hid_t, call: HDF5Call) throws {
        let type = try call.check(H5Dget_type(datasetID), "get datatype")
        elementType = HDF5ElementType.classify(type)
        elementSize = max(1, H5Tget_size(type))
        H5Tclose(type)

        let space = try call.check(H5Dget_space(datasetID), "get dataspace")
        defer { H5Sclose(space) }
        let rank = Int(try call.check(H5Sget_simple_extent_ndims(space), "get rank"))
        var current = [hsize_t](repeating: 0, count: rank)
        var maximum = [hsize_t](repeating: 0, count: rank)
        if rank > 0 { try call.check(H5Sget_simple_extent_dims(space, &current, &maximum), "get dimensions") }
        shape = current.map { Int($0) }
        isExtendible = rank > 0 && maximum[0] == bw_H5S_UNLIMITED()

        let dcpl = try call.check(H5Dget_create_plist(datasetID), "get creation property list")
        defer { H5Pclose(dcpl) }
        if H5Pget_layout(dcpl) == H5D_CHUNKED {
            var chunks = [hsize_t](repeating: 0, count: max(rank, 1))
            let chunkRank = try call.check(H5Pget_chunk(dcpl, Int32(chunks.count), &chunks), "get chunk shape")
            chunkShape = chunks.prefix(Int(chunkRank)).map { Int($0) }
        } else {
            chunkShape = nil
        }
        filters = try Self.filters(of: dcpl, call: call)
    }

    private static func filters(of dcpl: hid_t, call: HDF5Call) throws -> [HDF5Filter] {
        let count = try call.check(H5Pget_nfilters(dcpl), "count filters")
        var result: [HDF5Filter] = []
        for index in 0..<UInt32(count) {
            var flags: UInt32 = 0
            var valueCount = 8
            var values = [UInt32](repeating: 0, count: 8)
            var name = [CChar](repeating: 0, count: 64)
            var config: UInt32 = 0
            let filter = H5Pget_filter2(dcpl, index, &flags, &valueCount, &values, name.count, &name, &config)
            switch filter {
            case H5Z_filter_t(H5Z_FILTER_DEFLATE): result.append(.gzip(level: valueCount > 0 ? Int(values[0]) : 0))
            case H5Z_filter_t(H5Z_FILTER_SHUFFLE): result.append(.shuffle)
            case ..<0: throw call.failure("get filter")
            default:
                let label = name.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                result.append(.other(label.isEmpty ? "filter \(filter)" : label))
            }
        }
        return result
    }
}
