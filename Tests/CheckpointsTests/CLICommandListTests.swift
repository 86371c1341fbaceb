import CProcessControl
import Foundation
import Testing

/// `batchwise --help` lists only what a user runs; the benchmarks are the separate
/// `batchwise-bench` executable (Benchmarks/Sources/BatchwiseBench), whose areas include every
/// one `make bench` (Benchmarks/run-all.sh) runs.
@Suite struct CLICommandListTests {
    /// The names in the SUBCOMMANDS section of ArgumentParser's help text, in order.
    static func subcommands(inHelp text: String) -> [String] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0.hasPrefix("SUBCOMMANDS:") }) else { return [] }
        return lines[(start + 1)...]
            .prefix { !$0.isEmpty }
            // A name is indented by two spaces; wrapped abstracts are indented further.
            .filter { $0.hasPrefix("  ") && !$0.hasPrefix("   ") }
            .compactMap { $0.split(separator: " ").first.map(String.init) }
    }

    static func run(_ name: String, _ arguments: [String]) throws -> ChildProcess {
        let executable = try #require(ChildProcess.built(name), "build the \(name) executable first")
        return try ChildProcess.run(executable, arguments, deadline: 60, captureStandardOutput: true)
    }

    /// Both executables act on `BATCHWISE_DIE_WITH_PARENT` before parsing their arguments (the
    /// tests tie every executable they start to themselves with it): a value that is not a pid
    /// ends them with status 2 and a line naming the executable, even with `--help`.
    @Test(arguments: ["batchwise", "batchwise-bench"])
    func bothExecutablesHonourTheDieWithParentRequest(name: String) throws {
        let executable = try #require(ChildProcess.built(name), "build the \(name) executable first")
        let run = try ChildProcess.run(executable, ["--help"], deadline: 60,
                                       environment: [BW_DIE_WITH_PARENT_VARIABLE: "not-a-pid"], tiedToThisProcess: false)
        #expect(run.status == 2)
        #expect(run.stderr == "\(name): BATCHWISE_DIE_WITH_PARENT is not a process id\n", "\(run.stderr)")
    }

    @Test func batchwiseListsOnlyTheUserCommands() throws {
        let help = try Self.run("batchwise", ["--help"])
        #expect(help.status == 0, "\(help.stderr)")
        #expect(Self.subcommands(inHelp: help.stdout) == ["experiment", "train", "predict", "inspect"], "\(help.stdout)")
        // `help bench` falls back to the top-level help once there is no bench command.
        let bench = try Self.run("batchwise", ["help", "bench"])
        #expect(!bench.stdout.contains("batchwise bench"), "batchwise still has a bench command: \(bench.stdout)")
    }

    @Test func batchwiseBenchHasEveryAreaThatMakeBenchRuns() throws {
        let help = try Self.run("batchwise-bench", ["--help"])
        #expect(help.status == 0, "\(help.stderr)")
        let areas = Self.subcommands(inHelp: help.stdout)
        #expect(areas == ["hdf5", "hdf5-stream", "data", "pipeline", "layers", "conv", "train", "checkpoint", "soak", "distributed", "folding"], "\(help.stdout)")

        let script = try String(contentsOf: FuzzTests.repository.appendingPathComponent("Benchmarks/run-all.sh"), encoding: .utf8)
        let defaults = try #require(script.firstRange(of: "BENCH_AREAS:-").map { script[$0.upperBound...].prefix { $0 != "}" } })
        let runByMakeBench = defaults.split(separator: " ").map(String.init)
        #expect(!runByMakeBench.isEmpty && Set(runByMakeBench).isSubset(of: areas), "run-all.sh runs \(runByMakeBench)")

        for area in areas {
            let areaHelp = try Self.run("batchwise-bench", [area, "--help"])
            #expect(areaHelp.status == 0, "\(area): \(areaHelp.stderr)")
            #expect(areaHelp.stdout.contains("USAGE: batchwise-bench \(area)"), "\(areaHelp.stdout)")
        }
    }
}
