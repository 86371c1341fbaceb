import Foundation
import HDF5
import Testing
import Tensors
import Training
@testable import Checkpoints
import CheckpointsTestSupport

/// Seeded mutants (bit flips, truncation, insertion, deletion, overwrite) of real files fed to
/// every reader a user can point at a file: the HDF5 tree description (`batchwise inspect`),
/// the Keras loaders and the native checkpoint loader. The readers run in the
/// `CheckpointFuzzHelper` child process, because libhdf5 itself can crash on crafted files.
///
/// `BATCHWISE_FUZZ_CASES` (default 200) sets the number of cases; `BATCHWISE_FUZZ_SEED`
/// (default 0x5EED) the master seed; case `i` uses `SplitMix64.derivedSeed(seed, i)`.
@Suite(.serialized) struct FuzzTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let seedModel = repository.appendingPathComponent("fixtures/keras-models/seed_model.keras")

    static var caseCount: Int {
        ProcessInfo.processInfo.environment["BATCHWISE_FUZZ_CASES"].flatMap(Int.init) ?? 200
    }
    static var masterSeed: UInt64 {
        ProcessInfo.processInfo.environment["BATCHWISE_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x5EED
    }

    /// Where mutants that crashed or hung the readers are copied.
    static let findings = FileManager.default.temporaryDirectory.appendingPathComponent("batchwise-fuzz-findings")

    struct Base {
        let name: String
        let fileExtension: String
        let bytes: [UInt8]
    }

    struct Campaign {
        var cases = 0
        var clean = 0
        var crashes: [String] = []
        var hangs: [String] = []
        var noisy: [String] = []
        var outcomes: [String: Int] = [:]
        var seconds = 0.0
        /// Helper crashes by owner (``FuzzCLI/crashOwner(_:)``); only libhdf5's and glibc's are tolerated.
        var crashOwners: [String: Int] = [:]
        var batchwiseCrashes: [String] = []
        var crashedOrHung: Set<Int> = []
        var cli = FuzzCLI.Tally()
        var cliSeconds = 0.0
    }

    /// How many of the first cases also go through the CLI (crashing and hanging cases always do).
    static var cliCaseCount: Int {
        ProcessInfo.processInfo.environment["BATCHWISE_FUZZ_CLI_CASES"].flatMap(Int.init) ?? 24
    }

    static func bases(folder: URL) throws -> [Base] {
        func fixture(_ path: String) throws -> [UInt8] {
            [UInt8](try Data(contentsOf: repository.appendingPathComponent(path)))
        }
        // A native checkpoint written here, so the fuzzed layout is the current writer's.
        let checkpoint = folder.appendingPathComponent("base-native.h5")
        var trainer = try NativeFixtures.trainer()
        let box = SnapshotBox()
        try trainer.fit(NativeFixtures.pipeline(repeating: true), epochs: 1, stepsPerEpoch: 3,
                        callbacks: [CheckpointCallback(frequency: .everySteps(3)) { box.append($0) }], progress: .quiet)
        try NativeCheckpoint.save(try #require(box.values.first), optimizer: .adam(learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7),
                                  to: checkpoint, loss: .binaryCrossentropy)
        return [
            Base(name: "native", fileExtension: "h5", bytes: [UInt8](try Data(contentsOf: checkpoint))),
            Base(name: "weights.h5", fileExtension: "weights.h5", bytes: try fixture("fixtures/keras-models/seed_model.weights.h5")),
            Base(name: "legacy.h5", fileExtension: "h5", bytes: try fixture("fixtures/keras-models/seed_model.h5")),
            Base(name: "keras-zip", fileExtension: "keras", bytes: try fixture("fixtures/keras-models/seed_model.keras")),
            Base(name: "config.json", fileExtension: "json", bytes: try fixture("fixtures/keras-models/seed_model.config.json")),
        ]
    }

    /// Writes every mutant, then runs the helper over them in batches; a batch that dies
    /// (signal, watchdog) names its unfinished case and the next batch starts after it.
    static func campaign(helper: URL, cases caseCount: Int = caseCount, only: Set<Int>? = nil) throws -> Campaign {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bases = try bases(folder: folder)
        var labels: [String] = []
        var files: [String] = []
        var cases: [Int] = []
        // BATCHWISE_FUZZ_ONLY=21,2806 replays chosen cases of the campaign.
        let only = only ?? ProcessInfo.processInfo.environment["BATCHWISE_FUZZ_ONLY"].map { Set($0.split(separator: ",").compactMap { Int($0) }) }
        for index in 0..<caseCount {
            let seed = SplitMix64.derivedSeed(masterSeed, UInt64(index))
            var rng = SplitMix64(seed: seed)
            let base = bases[rng.nextIndex(below: bases.count)]
            let mutation = FuzzMutation.random(length: base.bytes.count, using: &rng)
            let url = folder.appendingPathComponent("\(index).\(base.fileExtension)")
            labels.append("case \(index) (master seed \(masterSeed), case seed \(seed), base \(base.name), \(mutation))")
            if only?.contains(index) ?? true {
                try Data(mutation.apply(to: base.bytes)).write(to: url)
                files.append(url.path)
                cases.append(index)
            }
        }
        let position = Dictionary(uniqueKeysWithValues: cases.enumerated().map { ($0.element, $0.offset) })
        var result = Campaign(cases: files.count)
        let started = Date()
        var next = 0
        while next < files.count {
            let batch = Array(files[next..<min(next + 100, files.count)])
            let run = try ChildProcess.run(helper, [seedModel.path] + batch, deadline: 20 + 0.2 * Double(batch.count))
            var current: Int?
            var noise = ""
            var finished = next - 1
            for line in run.stderr.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("BEGIN "), let index = Int(line.dropFirst(6)) {
                    current = index
                    noise = ""
                } else if line.hasPrefix("END "), let index = current {
                    for field in line.split(separator: " ").dropFirst(2) { result.outcomes[String(field), default: 0] += 1 }
                    if noise.isEmpty { result.clean += 1 } else { result.noisy.append(labels[index] + ": " + noise.prefix(400)) }
                    finished = position[index] ?? finished
                    current = nil
                } else if !line.isEmpty {
                    noise += line + "\n"
                }
            }
            if let stuck = current {
                // Keep the file that took the helper down, for `batchwise inspect` and bug reports.
                try? FileManager.default.createDirectory(at: findings, withIntermediateDirectories: true)
                let path = files[position[stuck] ?? 0]
                let kept = findings.appendingPathComponent("seed\(masterSeed)-" + URL(fileURLWithPath: path).lastPathComponent)
                try? FileManager.default.removeItem(at: kept)
                try? FileManager.default.copyItem(at: URL(fileURLWithPath: path), to: kept)
                result.crashedOrHung.insert(stuck)
                if run.timedOut {
                    result.hangs.append(labels[stuck])
                } else {
                    let owner = FuzzCLI.crashOwner(noise)
                    result.crashOwners[owner, default: 0] += 1
                    let label = labels[stuck] + ": signal \(run.signal.map(String.init) ?? "none"), exit \(run.status), in \(owner)"
                    result.crashes.append(label)
                    if !["libhdf5", "libc-memcpy", "libc-heap"].contains(owner) { result.batchwiseCrashes.append(label + "\n" + noise.prefix(1500)) }
                }
                finished = position[stuck] ?? finished
            } else if run.signal != nil || run.status != 0 {
                Issue.record("helper failed outside a case: status \(run.status) \(run.stderr.suffix(400))")
                break
            }
            next = finished + 1
        }
        result.seconds = Date().timeIntervalSince(started)

        // The same mutants through the command line, which must survive all of them.
        let cliStarted = Date()
        let cliFiles = zip(cases, files).enumerated().filter { position, item in
            !item.1.hasSuffix(".json") && (position < cliCaseCount || result.crashedOrHung.contains(item.0))
        }.map { (index: $0.element.0, path: $0.element.1) }
        result.cli = try FuzzCLI.run(files: cliFiles, folder: folder, labels: labels)
        result.cliSeconds = Date().timeIntervalSince(cliStarted)

        let summary = (result.outcomes.merging(result.cli.outcomes) { $0 + $1 }).sorted { $0.key < $1.key }
            .map { "  \($0.key) × \($0.value)" }.joined(separator: "\n")
        print("""
            fuzz: \(result.clean)/\(result.cases) cases clean, \(result.crashes.count) crashed \
            (\(result.crashOwners.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))), \
            \(result.hangs.count) hung, \(result.noisy.count) printed to stderr, in \(String(format: "%.1f", result.seconds)) s
            fuzz CLI: \(result.cli.runs) runs on \(cliFiles.count) mutants, \(result.cli.failures.count) unclean, \
            in \(String(format: "%.1f", result.cliSeconds)) s
            \(result.cli.failures.map { "  CLI FAILURE " + $0 }.joined(separator: "\n"))
            \(summary)
            \(result.crashes.map { "  CRASH " + $0 }.joined(separator: "\n"))
            \(result.hangs.map { "  HANG " + $0 }.joined(separator: "\n"))
            (crashing and hanging mutants are kept in \(findings.path))
            """)
        return result
    }

    /// What runs in `make test` (200 cases, 24 of them and every crashing one through the
    /// CLI) and `make fuzz` (5000, all through the CLI). Fails on: any CLI run that does not
    /// end cleanly, any in-process crash not inside libhdf5 (a Swift trap is Batchwise's
    /// bug), any stderr output, any case unaccounted for. libhdf5's own crashes and hangs in
    /// the in-process helper are counted and named (docs/RELIABILITY.md), not failed here.
    @Test(.timeLimit(.minutes(60)))
    func everyMutantThrowsOrLoadsAndTheCLIEndsCleanly() throws {
        guard let helper = ChildProcess.built("CheckpointFuzzHelper") else {
            Issue.record("CheckpointFuzzHelper was not built next to the tests; run `swift build` first")
            return
        }
        let result = try Self.campaign(helper: helper)
        #expect(result.cli.failures.isEmpty, "\(result.cli.failures)")
        #expect(result.cli.runs > 0)
        #expect(result.batchwiseCrashes.isEmpty, "\(result.batchwiseCrashes)")
        #expect(result.noisy.isEmpty, "\(result.noisy)")
        #expect(result.clean + result.crashes.count + result.hangs.count + result.noisy.count == result.cases)
    }

    @Test(.disabled("libhdf5 1.10.8 crashes (SIGSEGV, e.g. in H5Aiterate2 -> H5A__attr_release_table -> H5A__close) and hangs (H5HG_read in a vlen-string attribute read) on some corrupted files; see docs/RELIABILITY.md"))
    func noMutantCrashesOrHangsTheReaders() throws {
        let helper = try #require(ChildProcess.built("CheckpointFuzzHelper"))
        let result = try Self.campaign(helper: helper)
        #expect(result.crashes.isEmpty, "\(result.crashes)")
        #expect(result.hangs.isEmpty, "\(result.hangs)")
    }

    /// Cases of master seed 0x5EED that crashed in BATCHWISE code (not libhdf5) before the fix:
    /// 2806: native checkpoint whose corrupted dataspace overflowed `DatasetLayout.storageBytes`
    ///       (Int multiply trap, SIGILL);
    /// 4483, 4833: `.keras` whose weights dataset claims ~2^57 elements: `HDF5Dataset.readLocked`
    ///       allocated them (Swift allocation-failure abort) instead of checking the size.
    @Test(arguments: [2806, 4483, 4833])
    func aCorruptedDatasetShapeIsATypedErrorNotATrap(caseIndex: Int) throws {
        let helper = try #require(ChildProcess.built("CheckpointFuzzHelper"))
        let result = try Self.campaign(helper: helper, cases: caseIndex + 1, only: [caseIndex])
        #expect(result.cases == 1 && result.clean == 1, "\(result.crashes)")
    }

    @Test func theMutatorIsDeterministicAndChangesTheInput() {
        let input = [UInt8](0..<200)
        var a = SplitMix64(seed: 9), b = SplitMix64(seed: 9)
        var changed = 0
        for _ in 0..<100 {
            let m1 = FuzzMutation.random(length: input.count, using: &a)
            let m2 = FuzzMutation.random(length: input.count, using: &b)
            #expect(m1.apply(to: input) == m2.apply(to: input))
            if m1.apply(to: input) != input { changed += 1 }
        }
        #expect(changed >= 95)   // a flip pair on the same bit or an identical overwrite may cancel
    }
}
