/// Storage layout and filters for a new dataset.
///
/// Chunking is chosen automatically (about 1 MiB per chunk, whole rows) when compression,
/// shuffle or extendibility need it and `chunkShape` is nil.
///
/// ```swift
/// let options = HDF5DatasetOptions(gzipLevel: 4, shuffle: true, extendible: true)
/// let log = try file.createDataset("log", of: Float.self, shape: [0, 8], options: options)
/// try log.append(row)
/// ```
public struct HDF5DatasetOptions: Sendable, Equatable {
    /// Chunk dimensions (same rank as the dataset), or nil for contiguous/automatic.
    public var chunkShape: [Int]?
    /// Deflate level 0...9, or nil for no compression.
    public var gzipLevel: Int?
    /// Apply the shuffle filter before compression.
    public var shuffle: Bool
    /// Make the first dimension unlimited so rows can be appended.
    public var extendible: Bool

    /// Options for ``HDF5File/createDataset(_:of:shape:options:)``; the defaults give contiguous, unfiltered storage.
    public init(chunkShape: [Int]? = nil, gzipLevel: Int? = nil, shuffle: Bool = false, extendible: Bool = false) {
        self.chunkShape = chunkShape
        self.gzipLevel = gzipLevel
        self.shuffle = shuffle
        self.extendible = extendible
    }

    /// Contiguous storage, no filters: fastest for whole reads and writes.
    public static let contiguous = HDF5DatasetOptions()

    /// Chunked with shuffle + gzip.
    public static func compressed(level: Int = 4, chunkShape: [Int]? = nil) -> HDF5DatasetOptions {
        HDF5DatasetOptions(chunkShape: chunkShape, gzipLevel: level, shuffle: true)
    }

    var needsChunks: Bool { chunkShape != nil || gzipLevel != nil || shuffle || extendible }

    /// The chunk shape to use for `shape`, validated; nil for contiguous.
    func resolvedChunkShape(for shape: [Int], elementSize: Int) throws -> [Int]? {
        guard needsChunks else { return nil }
        guard !shape.isEmpty else { throw ChunkShapeProblem("a scalar dataset cannot be chunked, compressed or extendible") }
        if let chunkShape {
            guard chunkShape.count == shape.count else {
                throw ChunkShapeProblem("chunk shape \(chunkShape) has rank \(chunkShape.count), dataset has rank \(shape.count)")
            }
            guard chunkShape.allSatisfy({ $0 > 0 }) else { throw ChunkShapeProblem("chunk dimensions must be positive: \(chunkShape)") }
            return chunkShape
        }
        let inner = shape.dropFirst().map { max(1, $0) }
        let rowBytes = max(1, inner.reduce(elementSize, *))
        var rows = max(1, (1 << 20) / rowBytes)
        if !extendible { rows = min(rows, max(1, shape[0])) }
        return [rows] + inner
    }
}

/// Why a chunk shape was rejected (turned into `HDF5Error.invalidArgument` by the caller).
struct ChunkShapeProblem: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}
