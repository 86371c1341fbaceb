import CHDF5

/// What libhdf5 says about a dataset's type, extent, chunking and filters. Inside the lock.
struct DatasetLayout {
    var elementType: HDF5ElementType
    var shape: [Int]
    var isExtendible: Bool
    var chunkShape: [Int]?
    var filters: [HDF5Filter]
    var elementSize: Int

    /// Bytes of one chunk (the element size when contiguous).
    var chunkBytes: Int
    /// Bytes of all chunks the current extent touches (edge chunks count in full, as the
    /// cache stores them whole); the plain array size if contiguous.
    var datasetBytes: Int

    /// For a chunked dataset of rank >= 1: the first chunk dimension and the bytes of every
    /// chunk covering that many rows (one chunk times the chunks across the other dimensions).
    var rowBand: (rows: Int, bytes: Int)? {
        guard let chunkShape, chunkShape.count == shape.count, let rows = chunkShape.first else { return nil }
        let across = zip(shape.dropFirst(), chunkShape.dropFirst()).map { extent, size in
            size > 0 ? max(1, extent / size + (extent % size == 0 ? 0 : 1)) : 1
        }
        return Self.checkedProduct(across, chunkBytes).map { (rows, $0) }
    }

    /// `nil` when the product overflows `Int`: only a corrupted dataspace gets there, and it
    /// must become a typed error rather than a trap.
    static func storageBytes(shape: [Int], chunkShape: [Int]?, elementSize: Int) -> Int? {
        guard let chunkShape, chunkShape.count == shape.count else { return checkedProduct(shape, elementSize) }
        guard chunkShape.allSatisfy({ $0 > 0 }), let chunk = checkedProduct(chunkShape, elementSize) else { return nil }
        let chunksPerDimension = zip(shape, chunkShape).map { extent, size in extent / size + (extent % size == 0 ? 0 : 1) }
        return checkedProduct(chunksPerDimension, chunk)
    }

    /// `initial` times every factor, or nil on overflow or a negative factor.
    static func checkedProduct(_ factors: [Int], _ initial: Int = 1) -> Int? {
        var product = initial
        for factor in factors {
            guard factor >= 0 else { return nil }
            let (result, overflow) = product.multipliedReportingOverflow(by: factor)
            if overflow { return nil }
            product = result
        }
        return product
    }

    /// Dimensions as `Int`, throwing (instead of trapping) on values beyond `Int.max`.
    static func dimensions(_ values: [hsize_t], call: HDF5Call) throws -> [Int] {
        try values.map { value in
            guard let dimension = Int(exactly: value) else {
                throw HDF5Error.implausibleSize(file: call.file, object: call.object, shape: values.map { "\($0)" },
                                                reason: "dimension \(value) does not fit in a 64-bit signed integer")
            }
            return dimension
        }
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
        shape = try Self.dimensions(current, call: call)
        isExtendible = rank > 0 && maximum[0] == bw_H5S_UNLIMITED()

        let dcpl = try call.check(H5Dget_create_plist(datasetID), "get creation property list")
        defer { H5Pclose(dcpl) }
        if H5Pget_layout(dcpl) == H5D_CHUNKED {
            var chunks = [hsize_t](repeating: 0, count: max(rank, 1))
            let chunkRank = try call.check(H5Pget_chunk(dcpl, Int32(chunks.count), &chunks), "get chunk shape")
            chunkShape = try Self.dimensions(Array(chunks.prefix(Int(chunkRank))), call: call)
        } else {
            chunkShape = nil
        }
        filters = try Self.filters(of: dcpl, call: call)
        guard let chunk = Self.checkedProduct(chunkShape ?? [], elementSize),
              let total = Self.storageBytes(shape: shape, chunkShape: chunkShape, elementSize: elementSize) else {
            throw HDF5Error.implausibleSize(
                file: call.file, object: call.object, shape: shape.map(String.init),
                reason: "\(elementSize)-byte elements\(chunkShape.map { " in chunks of \($0)" } ?? "") need more bytes than a 64-bit size can count; the file is probably corrupted")
        }
        chunkBytes = chunk
        datasetBytes = total
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
