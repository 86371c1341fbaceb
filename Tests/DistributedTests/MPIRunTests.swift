import Distributed
import Foundation
import Testing

#if os(Linux)
// Linux only: the runner reads /proc to find processes left behind, as ProcessLifetimeTests does.
/// The Distributed module across real processes: DistributedCheckHelper under `mpirun`.
/// Serialized: each run starts up to 4 ranks on this 2-core machine.
@Suite(.serialized, .enabled(if: MPIRun.mpirun != nil, MPIRun.skipReason))
struct MPIRunTests {
    /// The reduction tests' global batch: 64 rows of 7 columns, 8 micro-shards.
    static let width = 7, rows = 64, microShards = 8

    @Test func ranksInitialiseMPIWithTheCheckedThreadLevelAndAWorldOfOneDoesNot() throws {
        let alone = try MPIRun.start(ranks: nil, check: "info", arguments: [:])
        #expect(alone.status == 0 && alone.output.isEmpty, "\(alone.output)")
        #expect(alone.reports[0]?["usesMPI"] == ["false"] && alone.reports[0]?["size"] == ["1"])

        let run = try MPIRun.start(ranks: 2, check: "info", arguments: [:])
        #expect(run.status == 0 && run.output.isEmpty, "mpirun printed: \(run.output)")
        for rank in 0..<2 {
            let report = try #require(run.reports[rank], "no report from rank \(rank): \(run.output)")
            #expect(report["rank"] == [String(rank)] && report["size"] == ["2"] && report["usesMPI"] == ["true"])
            #expect(["MPI_THREAD_FUNNELED", "MPI_THREAD_SERIALIZED", "MPI_THREAD_MULTIPLE"].contains(report["threadLevel"]?.first ?? ""))
        }
    }

    @Test func collectivesGiveEveryRankTheSameExpectedValues() throws {
        let ranks = 4
        let run = try MPIRun.start(ranks: ranks, check: "collectives", arguments: [:])
        #expect(run.status == 0, "\(run.output)")
        for rank in 0..<ranks {
            let report = try #require(run.reports[rank], "no report from rank \(rank): \(run.output)")
            #expect(report["broadcast"] == TestData.bits([1.5, -2.25, 1e-30]))   // rank 3's values
            #expect(report["allGather"] == ["0", "10,11", "20,21,22", "30,31,32,33"])
            #expect(report["allReduceFloat"] == ["10.0", "2.0", "1.5"])        // Σ(r+1), 4 × 0.5, Σ r/4
            #expect(report["allReduceDouble"] == ["100000000000.0", "-4.0"])
        }
    }

    /// Item 3: an ordered sum over a global batch is bitwise the same with 1, 2 and 4 ranks,
    /// on every rank, and equal to this process's own world-of-one computation. With 5 rows
    /// (a short last batch) some micro-shards and ranks hold no rows and contribute zeros.
    /// 4,099 values per row take the all-to-all and all-gather path of wide vectors (gradients),
    /// with blocks of unequal widths for 2 and 4 ranks. The fold along the ranks of the wide
    /// vectors returns its totals chunk by chunk around the ring (4,099 values, one chunk, on 2
    /// ranks; 70,000 values, three chunks, on 2 and on 4 ranks, where they are passed on from
    /// rank to rank), or broadcasts them with more ranks than chunks (4,099 values on 4 ranks).
    @Test(arguments: [(64, width), (5, width), (16, 4099), (16, 70_000)])
    func orderedSumsAreBitwiseIdenticalForOneTwoAndFourRanks(rows: Int, width: Int) throws {
        let data = TestData.floats(rows * width, seed: 42)
        let input = try TestData.write(data)
        defer { try? FileManager.default.removeItem(at: input) }
        let world = try Communicator.world(environment: [:])
        let plan = try MicroShardPlan(globalBatchSize: rows, microShardCount: Self.microShards, rankCount: 1)
        let local = try GlobalBatchReducer(communicator: world, plan: plan, mode: .ordered).sumRows(data, width: width)
        let expected = TestData.bits(local)
        for ranks in [nil, 1, 2, 4] {
            let run = try MPIRun.start(ranks: ranks, check: "reduce", arguments: arguments(input, mode: .ordered, rows: rows, width: width))
            #expect(run.status == 0, "\(run.output)")
            for rank in 0..<(ranks ?? 1) {
                #expect(run.reports[rank]?["sum"] == expected, "ranks: \(ranks.map(String.init) ?? "none"), rank \(rank)")
            }
        }
    }

    /// Item 3, fast mode: MPI_Allreduce of local sums, within 1e-5 of a Double reference, the
    /// same bits on every rank of a run.
    @Test func fastSumsAreWithinToleranceAndAgreeAcrossRanks() throws {
        let data = TestData.floats(Self.rows * Self.width, seed: 43)
        let input = try TestData.write(data)
        defer { try? FileManager.default.removeItem(at: input) }
        let reference = TestData.columnSums(data, width: Self.width)
        for ranks in [2, 4] {
            let run = try MPIRun.start(ranks: ranks, check: "reduce", arguments: arguments(input, mode: .fast, rows: Self.rows))
            #expect(run.status == 0, "\(run.output)")
            let first = try #require(run.reports[0]?["sum"], "\(run.output)")
            for rank in 1..<ranks { #expect(run.reports[rank]?["sum"] == first) }
            for (bits, expected) in zip(first, reference) {
                let sum = Double(Float(bitPattern: try #require(UInt32(bits, radix: 16))))
                #expect(abs(sum - expected) <= 1e-5 * max(1, abs(expected)), "\(ranks) ranks: \(sum) vs \(expected)")
            }
        }
    }

    /// Item 4: synchronized BatchNormalization, 2 ranks x 32 rows ≡ 1 rank x 64 rows bitwise
    /// (forward moments and backward sums), against this process's world-of-one computation,
    /// which LocalReductionTests checks against a Double reference.
    @Test func synchronizedBatchNormOfTwoRanksEqualsOneRankBitwise() throws {
        let features = 5, rows = 64
        let x = TestData.floats(rows * features, seed: 7, offset: 3)
        let dy = TestData.floats(rows * features, seed: 8)
        let (xFile, dyFile) = (try TestData.write(x), try TestData.write(dy))
        defer { [xFile, dyFile].forEach { try? FileManager.default.removeItem(at: $0) } }
        let world = try Communicator.world(environment: [:])
        let reducer = try GlobalBatchReducer(
            communicator: world, plan: MicroShardPlan(globalBatchSize: rows, microShardCount: Self.microShards, rankCount: 1),
            mode: .ordered)
        let moments = try SynchronizedBatchNorm.moments(of: x, features: features, reducer: reducer)
        let sums = try SynchronizedBatchNorm.gradientSums(of: x, upstream: dy, mean: moments.mean, features: features, reducer: reducer)
        let expected = ["mean": moments.mean, "variance": moments.variance, "sumDy": sums.sumDy, "sumDyXmu": sums.sumDyXmu]
        let run = try MPIRun.start(ranks: 2, check: "batchnorm", arguments: [
            "features": String(features), "rows": String(rows), "micro-shards": String(Self.microShards),
            "input": xFile.path, "upstream": dyFile.path,
        ])
        #expect(run.status == 0, "\(run.output)")
        for rank in 0..<2 {
            for (label, values) in expected {
                #expect(run.reports[rank]?[label] == TestData.bits(values), "rank \(rank) \(label)")
            }
        }
    }

    /// Ranks that pass buffers of different lengths all throw the same typed error, not hang.
    @Test func mismatchedLengthsThrowOnEveryRank() throws {
        let run = try MPIRun.start(ranks: 3, check: "length-mismatch", arguments: [:])
        #expect(run.status == 0, "\(run.output)")
        for rank in 0..<3 {
            let outcome = run.reports[rank]?["outcome"]?.joined(separator: " ") ?? ""
            #expect(outcome.hasPrefix("threw allReduceSum(_:): ranks passed buffers of different lengths (rank \(rank): \(3 + rank), shortest 3, longest 5)"))
        }
    }

    /// Item 7: a rank killed with SIGKILL ends the job within 30 s, with a non-zero exit and a
    /// message naming the rank; MPIRun checks that no process is left behind.
    @Test func aKilledRankEndsTheJobNamingTheRank() throws {
        let run = try MPIRun.start(ranks: 4, check: "kill-rank", arguments: ["rank": "2"], deadline: 30)
        #expect(run.status != 0)
        #expect(run.output.contains("process rank 2"), "\(run.output)")
        #expect(run.output.contains("signal 9"), "\(run.output)")
    }

    private func arguments(_ input: URL, mode: ReductionMode, rows: Int, width: Int = width) -> [String: String] {
        ["input": input.path, "width": String(width), "rows": String(rows),
         "micro-shards": String(Self.microShards), "mode": mode.rawValue]
    }
}
#endif
