/// How string attributes are written. Both kinds are always readable.
///
/// ```swift
/// try file.setAttribute("layer_names", ["dense", "bn"], storage: .fixedLength)  // like Keras 2
/// try file.setAttribute("backend", "swift")                                     // vlen UTF-8
/// ```
public enum HDF5StringStorage: Sendable {
    /// Variable-length UTF-8 (h5py's default for `str`).
    case variableLength
    /// Fixed-length, NUL-padded, sized to the longest string (numpy `S` dtype).
    case fixedLength
}
