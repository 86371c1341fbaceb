/// A filter in a chunked dataset's pipeline, as reported by `HDF5Dataset.filters`.
///
/// ```swift
/// if try file.dataset(at: "x").filters.contains(.gzip(level: 4)) { print("compressed") }
/// ```
public enum HDF5Filter: Hashable, Sendable, CustomStringConvertible {
    /// Deflate (zlib) compression at a level 0...9; what h5py calls "gzip".
    case gzip(level: Int)
    /// Byte shuffling, which makes floats compress better.
    case shuffle
    /// Any other filter, by name or number (e.g. "fletcher32", "lzf").
    case other(String)

    /// The filter as `h5dump` and ``HDF5Node`` list it, e.g. `gzip(4)`.
    public var description: String {
        switch self {
        case .gzip(let level): "gzip(\(level))"
        case .shuffle: "shuffle"
        case .other(let name): name
        }
    }
}
