/// The raw-data chunk cache of an opened chunked dataset (`H5Pset_chunk_cache`).
///
/// libhdf5's default is 1 MiB per dataset: if a chunk is larger, every read decompresses the
/// whole chunk again (random rows from 3 MB gzip chunks then come back at about one batch
/// per second). `.automatic` sizes the cache to hold the dataset's chunks, up to
/// `automaticLimitBytes`; memory is only used for chunks actually read.
///
/// ```swift
/// let ds = try file.dataset(at: "images", chunkCache: .bytes(64 << 20))
/// ```
public enum HDF5ChunkCache: Sendable, Equatable {
    /// Room for every chunk of the dataset at open time (edge chunks counted whole; at least
    /// 4 chunks), capped at `automaticLimitBytes` but never below one chunk.
    case automatic
    /// libhdf5's default (1 MiB, 521 slots, or whatever the file access list says).
    case libraryDefault
    /// An explicit size in bytes.
    case bytes(Int)

    /// Upper bound for `.automatic` (512 MiB).
    public static let automaticLimitBytes = 512 << 20

    /// (slots, bytes) to pass to H5Pset_chunk_cache, or nil to leave the default.
    func parameters(chunkBytes: Int, datasetBytes: Int) -> (slots: Int, bytes: Int)? {
        let bytes: Int
        switch self {
        case .libraryDefault: return nil
        case .bytes(let requested): bytes = max(0, requested)
        case .automatic:
            bytes = max(chunkBytes, min(max(datasetBytes, 4 * chunkBytes), Self.automaticLimitBytes))
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
