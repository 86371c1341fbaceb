import CHDF5

/// The raw-data chunk cache of an opened chunked dataset (`H5Pset_chunk_cache`).
///
/// libhdf5's default is 1 MiB per dataset: if a chunk is larger, every read decompresses the
/// whole chunk again (random rows from 3 MB gzip chunks then come back at about one batch
/// per second). `.automatic` sizes the cache to hold the dataset's chunks, up to
/// `automaticLimitBytes`; memory is only used for chunks actually read, but a pass that reads
/// every chunk keeps every chunk. A sequential reader wants `.streaming(rows:)` instead: room
/// for the chunks one read touches, so each chunk is decompressed once and memory stays at a
/// few chunks whatever the file size.
///
/// ```swift
/// let ds = try file.dataset(at: "images", chunkCache: .bytes(64 << 20))
/// let stream = try file.dataset(at: "images", chunkCache: .streaming(rows: 4096))
/// ```
public enum HDF5ChunkCache: Sendable, Equatable {
    /// Room for every chunk of the dataset at open time (edge chunks counted whole; at least
    /// 4 chunks), capped at `automaticLimitBytes` but never below one chunk.
    case automatic
    /// libhdf5's default (1 MiB, 521 slots, or whatever the file access list says).
    case libraryDefault
    /// An explicit size in bytes.
    case bytes(Int)
    /// Room for every chunk that one read of `rows` consecutive rows (along the first
    /// dimension, starting anywhere) can touch: `ceil((rows - 1) / chunkRows) + 1` bands of
    /// chunks, a band being every chunk that covers one chunk's worth of rows. Capped at the
    /// dataset's chunks, never below one chunk. Reading the rows in order, `rows` at a time,
    /// then decompresses each chunk once (the band shared by two reads stays cached) and holds
    /// only these chunks.
    case streaming(rows: Int)

    /// Upper bound for `.automatic` (512 MiB).
    public static let automaticLimitBytes = 512 << 20

    /// (slots, bytes) to pass to H5Pset_chunk_cache, or nil to leave the default. `band` is the
    /// first chunk dimension and the bytes of all chunks covering that many rows (one chunk when
    /// unknown); only `.streaming` uses it.
    func parameters(chunkBytes: Int, datasetBytes: Int,
                    band: (rows: Int, bytes: Int)? = nil) -> (slots: Int, bytes: Int)? {
        let bytes: Int
        switch self {
        case .libraryDefault: return nil
        case .bytes(let requested): bytes = max(0, requested)
        case .automatic:
            bytes = max(chunkBytes, min(max(datasetBytes, 4 * chunkBytes), Self.automaticLimitBytes))
        case .streaming(let rows):
            let band = band ?? (rows: 1, bytes: chunkBytes)
            let bands = (max(1, rows) - 1 + max(1, band.rows) - 1) / max(1, band.rows) + 1
            let (wanted, overflow) = bands.multipliedReportingOverflow(by: band.bytes)
            bytes = max(chunkBytes, min(overflow ? Int.max : wanted, datasetBytes))
        }
        // libhdf5 advises a prime number of hash slots, about 10-100x the chunks that fit.
        let chunksThatFit = max(1, bytes / max(1, chunkBytes))
        return (Self.prime(atLeast: min(max(521, chunksThatFit * 20), 1 << 22)), bytes)
    }

    static func prime(atLeast n: Int) -> Int {
        var candidate = max(2, n)
        while !isPrime(candidate) { candidate += 1 }
        return candidate
    }

    private static func isPrime(_ n: Int) -> Bool {
        if n < 4 { return n >= 2 }
        if n % 2 == 0 { return false }
        var divisor = 3
        while divisor * divisor <= n {
            if n % divisor == 0 { return false }
            divisor += 2
        }
        return true
    }
}

extension HDF5Dataset {
    /// The raw-data chunk cache this dataset was opened with, in bytes, as libhdf5 reports it
    /// (`H5Pget_chunk_cache` on the dataset's access list): what a ``HDF5ChunkCache`` choice
    /// resolved to, or the file's default. Contiguous datasets have no use for it.
    ///
    /// ```swift
    /// let x = try file.dataset(at: "x", chunkCache: .streaming(rows: 4096))
    /// print(try x.chunkCacheBytes)         // about two bands of chunks, not the whole dataset
    /// ```
    public var chunkCacheBytes: Int {
        get throws {
            try HDF5Library.withLock {
                let access = try call.check(H5Dget_access_plist(try requireOpen()), "get dataset access list")
                defer { H5Pclose(access) }
                var slots = 0
                var bytes = 0
                var preemption = 0.0
                try call.check(H5Pget_chunk_cache(access, &slots, &bytes, &preemption), "get chunk cache")
                return bytes
            }
        }
    }
}
