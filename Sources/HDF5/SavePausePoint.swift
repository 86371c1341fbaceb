import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Named points inside ``HDF5File/atomicWrite(to:locking:inMemory:durability:body:)`` at which
/// a save can be made to stop, so crash tests kill a process exactly there instead of at a
/// random moment.
///
/// Setting `BATCHWISE_PAUSE_SAVE_AT` to a point's raw value makes every atomic write of the
/// process that reaches it print `batchwise: save paused at <point>: <temporary path>` on
/// standard error and then wait until the process is killed. Without the variable (every
/// normal run) the check is one comparison against a value read once.
enum SavePausePoint: String {
    /// Half of the file image is in the temporary file (in-memory writes only).
    case temporaryPartial = "temporary-partial"
    /// The temporary file is complete (and synced, if the write syncs), not yet published.
    case temporaryComplete = "temporary-complete"

    /// The point named in the environment, read once per process.
    static let requested: SavePausePoint? =
        ProcessInfo.processInfo.environment["BATCHWISE_PAUSE_SAVE_AT"].flatMap(SavePausePoint.init(rawValue:))

    /// Announces and waits forever if `point` is the requested one; returns at once otherwise.
    static func pauseIfRequested(_ point: SavePausePoint, temporary: String) {
        guard requested == point else { return }
        let line = "batchwise: save paused at \(point.rawValue): \(temporary)\n"
        _ = line.withCString { write(STDERR_FILENO, $0, strlen($0)) }
        while true { pause() }
    }
}
