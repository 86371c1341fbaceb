import ArgumentParser
import Distributed
import Foundation
import Workflows

/// How the ranks of a data-parallel `batchwise train` report an error once instead of once per
/// rank (issue 16 item 7): an error every rank has alike (a missing data file, a bad `--layers`,
/// a loss that became NaN) is one line from rank 0 naming all the ranks
/// (`batchwise train: ranks 0, 1 failed: ...`); an error of some ranks only (one rank cannot
/// open its data) is one line per distinct error naming the ranks that had it.
///
/// The ranks learn each other's errors only where they all stand at the same point: after
/// preparing the job (``agreeing(on:_:)``, one all-gather every rank reaches whether its
/// preparation threw or not), and after a step the trainer failed on every rank (the rank at
/// fault names itself; the others, which only learnt of it, stay silent). Each such report
/// ends with a barrier, so that no rank exits, and makes `mpirun` end the job, before the
/// reporting rank has written its line. The data-parallel `train` wraps its preparation in
/// ``agreeing(on:_:)`` with the world communicator.
enum RankFailureReport {
    /// Runs `prepare` on this rank and compares every rank's outcome: the value when no rank
    /// failed; otherwise rank 0 writes one line per distinct error and every rank throws
    /// `ExitCode.failure`. Nothing in `prepare` may be collective.
    static func agreeing<T>(on world: Communicator, _ prepare: () throws -> T) throws -> T {
        let outcome = Result { try prepare() }
        // A failed rank sends a leading 1 and its message's UTF-8 bytes (exact in Float); a prepared one nothing.
        var local: [Float] = []
        if case let .failure(error) = outcome { local = [1] + line(error).utf8.map { Float($0) } }
        let gathered = try world.allGather(local)
        guard gathered.contains(where: { !$0.isEmpty }) else { return try outcome.get() }
        let messages = gathered.map { sent in
            sent.isEmpty ? nil : String(decoding: sent.dropFirst().map { UInt8($0) }, as: UTF8.self)
        }
        try end(world, writing: world.rank == 0 ? lines(messages: messages) : [])
    }

    /// Ends this rank after an error the trainer raised on every rank at the same point:
    /// `line` (nil: this rank writes nothing), then the barrier, then `ExitCode.failure`.
    static func endAlike(_ world: Communicator, writing line: String?) throws -> Never {
        try end(world, writing: line.map { [$0] } ?? [])
    }

    /// Ends this rank after a step's agreement check found the ranks disagreeing
    /// (``DistributedError/rankDisagreement(operation:rank:quantity:local:minimum:maximum:)``,
    /// thrown by every rank at the same point): one all-gather of every rank's value, then rank 0
    /// writes one line naming which rank has which (`ranks 0, 1 failed: data-parallel step: the
    /// ranks disagree on rows in the dataset (rank 0: 96; rank 1: 97)`), so the user sees the
    /// rank at fault, not only the smallest and largest value.
    static func endDisagreement(_ world: Communicator, operation: String, quantity: String, local: Int) throws -> Never {
        let values = try world.allGather([Double(local)]).map { $0.first ?? .nan }
        var order: [Double] = [], ranks: [Double: [Int]] = [:]
        for (rank, value) in values.enumerated() {
            if ranks[value] == nil { order.append(value) }
            ranks[value, default: []].append(rank)
        }
        // The settings' fingerprint is a hash: which ranks share one says more than its value.
        let counted = quantity != DataParallelTrainer.settingsQuantity
        let groups = order.map { value in named(ranks[value] ?? []) + (counted ? ": \(Int(value))" : "") }
        let detail = counted ? "(" + groups.joined(separator: "; ") + ")"
            : "(" + groups.joined(separator: " | ") + " hold different models or settings)"
        try endAlike(world, writing: world.rank != 0 ? nil
            : named(Array(0..<world.size)) + " failed: \(operation): the ranks disagree on \(quantity) " + detail)
    }

    /// One line per distinct message of `messages` (indexed by rank, nil where the rank had
    /// none), in the order of the first rank that had it, naming every rank that had it.
    static func lines(messages: [String?]) -> [String] {
        var order: [String] = [], ranks: [String: [Int]] = [:]
        for (rank, message) in messages.enumerated() {
            guard let message else { continue }
            if ranks[message] == nil { order.append(message) }
            ranks[message, default: []].append(rank)
        }
        return order.map { "\(named(ranks[$0] ?? [])) failed: \($0)" }
    }

    /// `rank 1` or `ranks 0, 1` (what ``RankLauncher/failedRanks(in:)`` reads back).
    static func named(_ ranks: [Int]) -> String {
        (ranks.count == 1 ? "rank " : "ranks ") + ranks.map(String.init).joined(separator: ", ")
    }

    /// The error as one line, flags named as the single-process command names them.
    static func line(_ error: any Error) -> String {
        CommandFailure.message(error).replacingOccurrences(of: "\n", with: " ")
    }

    private static func end(_ world: Communicator, writing lines: [String]) throws -> Never {
        for line in lines { FileHandle.standardError.write(Data("batchwise train: \(line)\n".utf8)) }
        // Every rank reaches this point together (see above), so none waits here for one that left.
        try? world.barrier()
        throw ExitCode.failure
    }
}
