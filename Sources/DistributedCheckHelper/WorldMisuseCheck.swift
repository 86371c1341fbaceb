import Distributed
import Foundation

/// The `world-misuse` check: a program that asks for the world communicator where MPI forbids
/// it gets a typed error, not a crash or a second MPI_Init. Reports `other-thread` (what
/// `Communicator.world()` did when called from a thread other than the one that initialised MPI,
/// e.g. a prefetch worker) and `after-finalize` (what it did after `finalize()`), each `returned`
/// or the error's description. It finalizes MPI itself, so it writes its report and ends the
/// process.
enum WorldMisuseCheck {
    /// The outcome of one call made on another thread.
    private final class Outcome: @unchecked Sendable {
        private let lock = NSLock()
        private var text = "not run"
        func set(_ value: String) { lock.withLock { text = value } }
        var value: String { lock.withLock { text } }
    }

    static func run(_ options: Options, world: Communicator, report: Report) throws -> Never {
        let outcome = Outcome()
        let finished = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            outcome.set(describe { try Communicator.world() })
            finished.signal()
        }
        finished.wait()
        report.add("other-thread", [outcome.value])
        try world.finalize()
        report.add("after-finalize", [describe { try Communicator.world() }])
        try report.write(to: options.text("out"), rank: world.rank)
        exit(0)
    }

    private static func describe(_ call: () throws -> Communicator) -> String {
        do {
            _ = try call()
            return "returned"
        } catch {
            return (error as? any LocalizedError)?.errorDescription ?? "\(error)"
        }
    }
}
