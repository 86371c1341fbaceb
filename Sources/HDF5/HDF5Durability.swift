/// How far an atomic save goes to make the new file survive a crash of the machine.
///
/// Both levels publish the file by renaming a complete temporary file over the target, so a
/// killed *process* never leaves a half-written file. They differ on power loss or a kernel
/// crash, where only `.synced` guarantees that the renamed file's bytes are on disk:
///
/// ```swift
/// // The default: file and folder fsynced — what you want for the checkpoint you keep.
/// try HDF5File.atomicWrite(to: url) { try $0.write(weights, to: "w") }
/// // Frequent, replaceable saves (every N steps): no fsync stall; still atomic for
/// // process crashes, may revert to an older (or on ext4 an empty) file after a power cut.
/// try HDF5File.atomicWrite(to: url, durability: .processCrashSafe) { try $0.write(weights, to: "w") }
/// ```
public enum HDF5Durability: Sendable, Hashable {
    /// fsync the file before the rename and the folder after it (the default).
    case synced
    /// No fsync: atomic for readers and for a killed process, not durable on power loss.
    ///
    /// The new file replaces the old one by an atomic swap of names rather than a rename, so
    /// that ext4 does not flush the file inside the call (its `auto_da_alloc` heuristic). After a
    /// power cut or kernel crash the target may therefore be older, or even empty on ext4 —
    /// keep such saves rotating (`CheckpointDirectory`) or end with a `.synced` one.
    /// Keras's `model.save` and h5py give neither guarantee.
    case processCrashSafe
}
