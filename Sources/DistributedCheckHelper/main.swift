import CProcessControl
import Distributed
import Foundation

// `DistributedCheckHelper <check> [--key value]...`: the rank program DistributedTests starts
// under `mpirun` (and on its own, as a world of one). Each check exercises one part of the
// Distributed module and writes what it saw to `--out DIR/rank-<rank>.txt` as lines
// `<label> <values>`, floating-point values as hexadecimal bit patterns so that the tests can
// compare them bitwise. Checks:
//
//   info                         rank, size, MPI use and thread level
//   collectives                  barrier, broadcast, all-gather of uneven buffers, all-reduce sums
//   reduce                       GlobalBatchReducer.sumRows over the rows in --input
//   batchnorm                    SynchronizedBatchNorm moments and gradient sums
//   shared-memory-sum            SharedMemoryAllReduce against MPI_Allreduce (allReduceSum), --count values
//   length-mismatch              allReduceSum with a different length on every rank
//   kill-rank                    rank --rank kills itself with SIGKILL after a barrier
//   train                        DataParallelTrainer on a small MLP (DataParallelCheck.swift)
//   validate                     DataParallelTrainer.fit with validation data (ValidationCheck.swift)
//   callbacks                    DataParallelTrainer.fit with callbacks (CallbackCheck.swift)
//   evaluate-window              no shared-memory window for a row count only evaluate uses (EvaluationWindowCheck.swift)
//   world-misuse                 Communicator.world() from another thread and after finalize (WorldMisuseCheck.swift)
//
// `--backing-directory DIR` (any check) sets Open MPI's `osc_sm_backing_directory` for the
// shared-memory windows first: a directory that does not exist leaves no room for them.
// `--window-failure RANK:refuse|fail|lose` (any check) makes that rank's window allocation go wrong
// (BATCHWISE_TEST_SHARED_WINDOW_FAILURE, SharedMemoryWindow.swift).
//
// Errors end the process with status 1 and the line "rank <r>: <error>" on stderr.

// A rank dies with the process that started it (mpirun, or a test): killing the launcher
// leaves no rank behind.
bw_die_with_parent(getppid())

struct Options {
    var values: [String: String] = [:]

    init(_ arguments: ArraySlice<String>) {
        var remaining = arguments
        while let key = remaining.popFirst(), key.hasPrefix("--"), let value = remaining.popFirst() {
            values[String(key.dropFirst(2))] = value
        }
    }

    func text(_ key: String) -> String {
        guard let value = values[key] else { fail("missing --\(key)") }
        return value
    }

    func int(_ key: String) -> Int {
        guard let value = Int(text(key)) else { fail("--\(key) is not an integer") }
        return value
    }
}

func fail(_ message: String, rank: Int? = nil) -> Never {
    let prefix = rank.map { "rank \($0): " } ?? "DistributedCheckHelper: "
    FileHandle.standardError.write(Data((prefix + message + "\n").utf8))
    exit(1)
}

/// Collects the report and writes it in one go at the end.
final class Report {
    var lines: [String] = []

    func add(_ label: String, _ values: [String]) { lines.append(([label] + values).joined(separator: " ")) }
    func bits(_ label: String, _ values: [Float]) { add(label, values.map { String($0.bitPattern, radix: 16) }) }
    func bits(_ label: String, _ values: [Double]) { add(label, values.map { String($0.bitPattern, radix: 16) }) }

    func write(to folder: String, rank: Int) throws {
        let text = lines.map { $0 + "\n" }.joined()
        try text.write(toFile: "\(folder)/rank-\(rank).txt", atomically: true, encoding: .utf8)
    }
}

func readFloats(_ path: String) -> [Float] {
    guard let data = FileManager.default.contents(atPath: path), data.count % 4 == 0 else { fail("cannot read \(path)") }
    return data.withUnsafeBytes { raw in (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) } }
}

func run(_ check: String, _ options: Options, world: Communicator, report: Report) throws {
    switch check {
    case "info":
        report.add("rank", [String(world.rank)])
        report.add("size", [String(world.size)])
        report.add("usesMPI", [String(world.usesMPI)])
        report.add("threadLevel", [world.threadLevel.map { $0.description } ?? "none"])
    case "collectives":
        try world.barrier()
        var broadcastValues: [Float] = world.rank == world.size - 1 ? [1.5, -2.25, 1e-30] : [Float(world.rank)]
        try world.broadcast(&broadcastValues, from: world.size - 1)
        report.bits("broadcast", broadcastValues)
        // Rank r contributes r + 1 values r·10 + i: uneven lengths.
        let gathered = try world.allGather((0...world.rank).map { Double(world.rank * 10 + $0) })
        report.add("allGather", gathered.map { part in part.map { String(Int($0)) }.joined(separator: ",") })
        var floatSum: [Float] = [Float(world.rank + 1), 0.5, Float(world.rank) * 0.25]
        try world.allReduceSum(&floatSum)
        report.add("allReduceFloat", floatSum.map { String($0) })
        var doubleSum: [Double] = [Double(world.rank + 1) * 1e10, -1]
        try world.allReduceSum(&doubleSum)
        report.add("allReduceDouble", doubleSum.map { String($0) })
    case "reduce":
        let width = options.int("width")
        let plan = try MicroShardPlan(globalBatchSize: options.int("rows"), microShardCount: options.int("micro-shards"),
                                      rankCount: world.size)
        guard let mode = ReductionMode(rawValue: options.text("mode")) else { fail("unknown --mode") }
        let reducer = try GlobalBatchReducer(communicator: world, plan: plan, mode: mode)
        let rows = reducer.localRows
        let all = readFloats(options.text("input"))
        let local = Array(all[(rows.lowerBound * width)..<(rows.upperBound * width)])
        report.bits("sum", try reducer.sumRows(local, width: width))
    case "batchnorm":
        let features = options.int("features")
        let plan = try MicroShardPlan(globalBatchSize: options.int("rows"), microShardCount: options.int("micro-shards"),
                                      rankCount: world.size)
        let reducer = try GlobalBatchReducer(communicator: world, plan: plan, mode: .ordered)
        let rows = reducer.localRows
        let slice = (rows.lowerBound * features)..<(rows.upperBound * features)
        let x = Array(readFloats(options.text("input"))[slice])
        let dy = Array(readFloats(options.text("upstream"))[slice])
        let moments = try SynchronizedBatchNorm.moments(of: x, features: features, reducer: reducer)
        let sums = try SynchronizedBatchNorm.gradientSums(of: x, upstream: dy, mean: moments.mean, features: features, reducer: reducer)
        report.bits("mean", moments.mean)
        report.bits("variance", moments.variance)
        report.bits("sumDy", sums.sumDy)
        report.bits("sumDyXmu", sums.sumDyXmu)
    case "shared-memory-sum":
        // Values of many magnitudes and signs, different on every rank, so that the order of
        // the additions shows in the last bits; three exchanges through the same window (the
        // second shorter, the third empty), each against MPI_Allreduce of the same values.
        let count = options.int("count")
        let shared = try SharedMemoryAllReduce.open(on: world, capacity: count)
        report.add("opened", [shared == nil ? "no" : "yes"])
        for (round, length) in [count, count / 3, 0].enumerated() {
            var reference = (0..<length).map { index -> Float in
                let seed = UInt32(truncatingIfNeeded: (index &* 2_654_435_761) ^ (world.rank &* 40_503) ^ (round &* 7_919))
                return Float(Int32(bitPattern: seed) % 10_000) * Float(1 << (seed % 17)) * 1e-7
            }
            var values = reference
            try world.allReduceSum(&reference)
            try shared?.sum(&values)
            report.bits("mpi-\(round)", reference)
            report.bits("shared-\(round)", values)
        }
    case "length-mismatch":
        var values = [Float](repeating: 1, count: 3 + world.rank)
        do {
            try world.allReduceSum(&values)
            report.add("outcome", ["summed"])
        } catch let error as DistributedError {
            report.add("outcome", ["threw", error.errorDescription ?? ""])
        }
    case "kill-rank":
        try world.barrier()
        if world.rank == options.int("rank") { kill(getpid(), SIGKILL) }
        // The other ranks wait for the dead one; only the launcher can end them.
        try world.barrier()
        fail("the barrier returned although rank \(options.int("rank")) was killed", rank: world.rank)
    case "train":
        try DataParallelCheck.run(options, world: world, report: report)
    case "validate":
        try ValidationCheck.run(options, world: world, report: report)
    case "callbacks":
        try CallbackCheck.run(options, world: world, report: report)
    case "evaluate-window":
        try EvaluationWindowCheck.run(options, world: world, report: report)
    case "world-misuse":
        try WorldMisuseCheck.run(options, world: world, report: report)
    default:
        fail("unknown check \(check)")
    }
}

let arguments = CommandLine.arguments.dropFirst()
guard let check = arguments.first else { fail("usage: DistributedCheckHelper <check> [--key value]...") }
let options = Options(arguments.dropFirst())
if let directory = options.values["backing-directory"] { setenv("OMPI_MCA_osc_sm_backing_directory", directory, 1) }
if let failure = options.values["window-failure"] { setenv("BATCHWISE_TEST_SHARED_WINDOW_FAILURE", failure, 1) }
var rank: Int?
do {
    let world = try Communicator.world()
    rank = world.rank
    let report = Report()
    try run(check, options, world: world, report: report)
    try report.write(to: options.text("out"), rank: world.rank)
    try world.finalize()
} catch {
    fail((error as? LocalizedError)?.errorDescription ?? "\(error)", rank: rank)
}
