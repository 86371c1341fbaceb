import CHDF5

/// How a file is opened.
///
/// ```swift
/// let file = try HDF5File.open(at: url, mode: .readWrite)
/// ```
public enum HDF5OpenMode: Sendable {
    /// Reads only; several processes may open the file at once.
    case readOnly
    /// Reads and writes; libhdf5 allows one writer per file.
    case readWrite
}

/// What `HDF5File.create` does when the path already exists.
///
/// ```swift
/// let file = try HDF5File.create(at: url, ifExists: .fail)
/// ```
public enum HDF5CreateMode: Sendable {
    /// Replace the existing file (H5F_ACC_TRUNC).
    case truncate
    /// Throw if the file exists (H5F_ACC_EXCL).
    case fail
}

/// OS-level file locking (`H5Pset_file_locking`, libhdf5 ≥ 1.10.7).
///
/// The `HDF5_USE_FILE_LOCKING` environment variable, when set, overrides this choice.
/// `.bestEffort` suits read-only loading from NFS/ZFS, where flock may be unsupported.
///
/// ```swift
/// let file = try HDF5File.open(at: url, locking: .bestEffort)
/// ```
public enum HDF5FileLocking: Sendable {
    /// Lock, and fail if the file system cannot lock.
    case enabled
    /// Do not lock (the caller guarantees no concurrent writer).
    case disabled
    /// Lock where the file system supports it, otherwise carry on unlocked.
    case bestEffort
    /// Whatever libhdf5 and the environment decide.
    case libraryDefault

    func apply(to fapl: hid_t) -> herr_t {
        switch self {
        case .enabled: H5Pset_file_locking(fapl, true, false)
        case .disabled: H5Pset_file_locking(fapl, false, true)
        case .bestEffort: H5Pset_file_locking(fapl, true, true)
        case .libraryDefault: 0
        }
    }
}
