import CHDF5

/// Whole-dataset and row-range reads and writes.
extension HDF5Dataset {
    /// Reads every element. Throws `.elementTypeMismatch` if `T` cannot hold the stored type.
    public func read<T: HDF5Scalar>(as type: T.Type = T.self) throws -> HDF5Array<T> {
        try HDF5Library.withLock {
            try checkReadable(T.self)
            let shape = try currentShapeLocked()
            guard let count = DatasetLayout.checkedProduct(shape) else {
                throw HDF5Error.implausibleSize(file: file.path, object: path, shape: shape.map(String.init),
                                                reason: "the element count overflows a 64-bit integer")
            }
            let all = bw_H5S_ALL()
            return HDF5Array(shape: shape, values: try readLocked(T.self, count: count, memorySpace: all, fileSpace: all))
        }
    }

    /// Reads every element, first checking the shape is `expectedShape`.
    public func read<T: HDF5Scalar>(as type: T.Type = T.self, expectingShape expectedShape: [Int]) throws -> HDF5Array<T> {
        let shape = try shape
        guard shape == expectedShape else {
            throw HDF5Error.shapeMismatch(file: file.path, object: path, expected: expectedShape, actual: shape)
        }
        return try read(as: T.self)
    }

    /// Reads rows `rows` (along the first dimension) without touching the others.
    public func readRows<T: HDF5Scalar>(_ rows: Range<Int>, as type: T.Type = T.self) throws -> HDF5Array<T> {
        try HDF5Library.withLock {
            try checkReadable(T.self)
            let shape = try currentShapeLocked()
            try checkRows(rows, shape: shape)
            let outShape = [rows.count] + shape.dropFirst()
            let count = outShape.reduce(1, *)
            if count == 0 { return HDF5Array(shape: outShape, values: []) }
            let (fileSpace, memorySpace) = try rowSpaces(shape: shape, runs: [rows])
            defer { H5Sclose(fileSpace); H5Sclose(memorySpace) }
            return HDF5Array(shape: outShape, values: try readLocked(T.self, count: count, memorySpace: memorySpace, fileSpace: fileSpace))
        }
    }

    /// Reads the rows at `indices` (any order, repeats allowed) in one libhdf5 read, so each
    /// chunk involved is read once. The result's rows follow `indices`.
    public func readRows<T: HDF5Scalar>(at indices: [Int], as type: T.Type = T.self) throws -> HDF5Array<T> {
        try HDF5Library.withLock {
            try checkReadable(T.self)
            let shape = try currentShapeLocked()
            guard !shape.isEmpty else { throw invalid("a scalar dataset has no rows") }
            if let bad = indices.first(where: { $0 < 0 || $0 >= shape[0] }) {
                throw invalid("row \(bad) is outside 0..<\(shape[0])")
            }
            let rowSize = shape.dropFirst().reduce(1, *)
            let outShape = [indices.count] + shape.dropFirst()
            let sorted = Array(Set(indices)).sorted()
            if sorted.isEmpty || rowSize == 0 {
                return HDF5Array(shape: outShape, values: ScalarBuffer.makeArray(T.self, count: 0) { _ in })
            }
            let runs = Self.runs(of: sorted)
            let unique: [T]
            // Per-run reads pay off only when decompressed chunks stay cached between runs;
            // otherwise one union read decompresses each chunk once per call.
            if let direct = try readRunsDirectLocked(T.self, shape: shape, runs: runs) {
                unique = direct
            } else if chunkShape != nil && cachesWholeChunks {
                unique = try readRunsLocked(T.self, shape: shape, runs: runs)
            } else {
                let (fileSpace, memorySpace) = try rowSpaces(shape: shape, runs: runs)
                defer { H5Sclose(fileSpace); H5Sclose(memorySpace) }
                unique = try readLocked(T.self, count: sorted.count * rowSize, memorySpace: memorySpace, fileSpace: fileSpace)
            }
            if sorted == indices { return HDF5Array(shape: outShape, values: unique) }
            var position: [Int: Int] = [:]
            for (offset, row) in sorted.enumerated() { position[row] = offset }
            var values: [T] = []
            values.reserveCapacity(indices.count * rowSize)
            for row in indices {
                let start = position[row]! * rowSize
                values.append(contentsOf: unique[start..<start + rowSize])
            }
            return HDF5Array(shape: outShape, values: values)
        }
    }

    /// Overwrites the whole dataset; `values.count` must equal the element count.
    public func write<T: HDF5Scalar>(_ values: [T]) throws {
        try HDF5Library.withLock {
            try checkWritable(T.self)
            let shape = try currentShapeLocked()
            guard values.count == shape.reduce(1, *) else {
                throw HDF5Error.shapeMismatch(file: file.path, object: path, expected: shape, actual: [values.count])
            }
            try writeLocked(values, memorySpace: bw_H5S_ALL(), fileSpace: bw_H5S_ALL())
        }
    }

    /// Overwrites whole rows starting at `row`; `values.count` must be a multiple of the row size.
    public func writeRows<T: HDF5Scalar>(_ values: [T], startingAt row: Int) throws {
        try HDF5Library.withLock {
            try checkWritable(T.self)
            let shape = try currentShapeLocked()
            let rows = try rowCount(of: values.count, shape: shape)
            try checkRows(row..<row + rows, shape: shape)
            if values.isEmpty { return }
            let (fileSpace, memorySpace) = try rowSpaces(shape: shape, runs: [row..<row + rows])
            defer { H5Sclose(fileSpace); H5Sclose(memorySpace) }
            try writeLocked(values, memorySpace: memorySpace, fileSpace: fileSpace)
        }
    }

    /// Grows the first dimension by `values.count / rowSize` rows and writes them.
    /// Requires a dataset created with `extendible: true`.
    public func append<T: HDF5Scalar>(_ values: [T]) throws {
        try HDF5Library.withLock {
            try checkWritable(T.self)
            guard isExtendible else { throw invalid("dataset is not extendible (create it with extendible: true)") }
            let shape = try currentShapeLocked()
            let rows = try rowCount(of: values.count, shape: shape)
            guard rows > 0 else { return }
            var newShape = shape.map { hsize_t($0) }
            newShape[0] += hsize_t(rows)
            try call.check(H5Dset_extent(try requireOpen(), newShape), "extend")
            let grown = newShape.map { Int($0) }
            let (fileSpace, memorySpace) = try rowSpaces(shape: grown, runs: [shape[0]..<shape[0] + rows])
            defer { H5Sclose(fileSpace); H5Sclose(memorySpace) }
            try writeLocked(values, memorySpace: memorySpace, fileSpace: fileSpace)
        }
    }

    // MARK: - Helpers (inside the lock)

    private func invalid(_ reason: String) -> HDF5Error {
        .invalidArgument(file: file.path, object: path, reason: reason)
    }

    private func checkRows(_ rows: Range<Int>, shape: [Int]) throws {
        guard !shape.isEmpty else { throw invalid("a scalar dataset has no rows") }
        guard rows.lowerBound >= 0, rows.upperBound <= shape[0] else {
            throw invalid("rows \(rows) are outside 0..<\(shape[0])")
        }
    }

    private func rowCount(of valueCount: Int, shape: [Int]) throws -> Int {
        guard !shape.isEmpty else { throw invalid("a scalar dataset has no rows") }
        let rowSize = shape.dropFirst().reduce(1, *)
        guard rowSize > 0, valueCount % rowSize == 0 else {
            throw HDF5Error.shapeMismatch(file: file.path, object: path, expected: [-1] + shape.dropFirst(), actual: [valueCount])
        }
        return valueCount / rowSize
    }

    /// Consecutive runs of sorted unique rows, e.g. [1, 2, 3, 7] -> [1..<4, 7..<8].
    static func runs(of sortedRows: [Int]) -> [Range<Int>] {
        var runs: [Range<Int>] = []
        for row in sortedRows {
            if let last = runs.last, last.upperBound == row {
                runs[runs.count - 1] = last.lowerBound..<row + 1
            } else {
                runs.append(row..<row + 1)
            }
        }
        return runs
    }

    /// One H5Dread per run of consecutive rows. For chunked datasets libhdf5 1.10 maps an
    /// irregular (OR-ed) selection to chunks element by element, which made a 128-row random
    /// batch several times slower than these regular single-hyperslab reads.
    private func readRunsLocked<T: HDF5Scalar>(_ type: T.Type, shape: [Int], runs: [Range<Int>]) throws -> [T] {
        let datasetID = try requireOpen()
        guard let memoryType = T.hdf5ElementType.memoryType() else {
            throw HDF5Error.elementTypeMismatch(file: file.path, object: path, stored: elementType.numpyName, requested: "\(T.self)")
        }
        defer { memoryType.close() }
        let rowSize = shape.dropFirst().reduce(1, *)
        let total = runs.reduce(0) { $0 + $1.count } * rowSize
        let rowBytes = rowSize * (T.self == Bool.self ? 1 : MemoryLayout<T>.stride)
        let dims = shape.map { hsize_t($0) }
        let fileSpace = try call.check(H5Screate_simple(Int32(dims.count), dims, nil), "create dataspace")
        defer { H5Sclose(fileSpace) }
        try checkReadSize(T.self, count: total, datasetID: datasetID)
        return try ScalarBuffer.makeArray(T.self, count: total) { buffer in
            guard let buffer else { return }
            var offset = 0
            for run in runs {
                var start = [hsize_t](repeating: 0, count: dims.count)
                var count = dims
                start[0] = hsize_t(run.lowerBound)
                count[0] = hsize_t(run.count)
                try call.check(H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, start, nil, count, nil), "select rows")
                let memorySpace = try call.check(H5Screate_simple(Int32(count.count), count, nil), "create memory dataspace")
                defer { H5Sclose(memorySpace) }
                try checkRead(H5Dread(datasetID, memoryType.id, memorySpace, fileSpace, bw_H5P_DEFAULT(), buffer + offset), datasetID: datasetID)
                offset += run.count * rowBytes
            }
        }
    }

    /// A file space selecting `runs` of whole rows and a matching contiguous memory space.
    private func rowSpaces(shape: [Int], runs: [Range<Int>]) throws -> (file: hid_t, memory: hid_t) {
        let dims = shape.map { hsize_t($0) }
        let fileSpace = try call.check(H5Screate_simple(Int32(dims.count), dims, nil), "create dataspace")
        do {
            var first = true
            for run in runs {
                var start = [hsize_t](repeating: 0, count: dims.count)
                var count = dims
                start[0] = hsize_t(run.lowerBound)
                count[0] = hsize_t(run.count)
                try call.check(H5Sselect_hyperslab(fileSpace, first ? H5S_SELECT_SET : H5S_SELECT_OR, start, nil, count, nil), "select rows")
                first = false
            }
            var memoryDims = dims
            memoryDims[0] = hsize_t(runs.reduce(0) { $0 + $1.count })
            let memorySpace = try call.check(H5Screate_simple(Int32(dims.count), memoryDims, nil), "create memory dataspace")
            return (fileSpace, memorySpace)
        } catch {
            H5Sclose(fileSpace)
            throw error
        }
    }
}
