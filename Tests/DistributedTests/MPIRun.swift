import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

#if os(Linux)
// Linux only: the runner reads /proc to find processes left behind, as ProcessLifetimeTests does.
/// Starts `DistributedCheckHelper` under `mpirun` the way CI must (docs/distributed.md,
/// "Running here"), bounded in time, and checks that no process outlives the run.
///
/// ```swift
/// let run = try MPIRun.start(ranks: 2, check: "info", arguments: [:])
/// #expect(run.status == 0)
/// ```
struct MPIRun {
    /// The exit status of `mpirun` (or of the helper when started without it), or 128 + signal.
    var status: Int32
    /// `mpirun`'s stdout and stderr, interleaved.
    var output: String
    /// What each rank wrote to its report, by rank.
    var reports: [Int: [String: [String]]]

    static let mpirun: String? = ProcessInfo.processInfo.environment["PATH"]?
        .split(separator: ":").map { "\($0)/mpirun" }
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    static let skipReason: Comment = "mpirun is not installed (make deps installs openmpi-bin)"

    /// The helper built next to the test bundle, else in .build/debug.
    static func helper() throws -> String {
        let name = "DistributedCheckHelper"
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name)
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let debug = package.appendingPathComponent(".build/debug/\(name)")
        let found = [beside, debug].first { FileManager.default.isExecutableFile(atPath: $0.path) }
        return try #require(found, "build DistributedCheckHelper first (swift build --build-tests)").path
    }

    /// The settings every launch uses: run as root in CI's container, no single-copy shared
    /// memory (containers forbid ptrace-based CMA), ranks that yield when idle so that more
    /// ranks than cores do not spin, and one BLAS thread per rank.
    static let environment: [String: String] = [
        "OMPI_ALLOW_RUN_AS_ROOT": "1",
        "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
        "OMPI_MCA_btl_vader_single_copy_mechanism": "none",
        "OMPI_MCA_mpi_yield_when_idle": "1",
        "OPENBLAS_NUM_THREADS": "1",
    ]

    /// Runs `check` on `ranks` ranks (`ranks: nil`: the helper alone, a world of one), with
    /// `arguments` as `--key value`. A watchdog kills the whole process group after `deadline`
    /// seconds and records a failure; afterwards, a living process of this run is a failure too.
    static func start(ranks: Int?, check: String, arguments: [String: String], deadline: Double = 120) throws -> MPIRun {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("batchwise-mpi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // The folder's unique name is in every process's command line: it finds leftovers.
        let helperCommand = [try helper(), check, "--out", folder.path]
            + arguments.sorted { $0.key < $1.key }.flatMap { ["--\($0.key)", $0.value] }
        let command: [String]
        if let ranks {
            let mpirun = try #require(mpirun, skipReason)
            command = [mpirun, "--allow-run-as-root", "-np", String(ranks)] + (ranks > 2 ? ["--oversubscribe"] : []) + helperCommand
        } else {
            command = helperCommand
        }
        let outputFile = folder.appendingPathComponent("output.txt")
        // Open MPI's message segments and its session folder in the run's folder, removed with
        // it: a rank that is killed (the kill-rank check) cannot remove its own from /dev/shm,
        // and an mpirun that is killed leaves its session folder in the temporary directory.
        let pid = try spawn(command, output: outputFile, extra: ["OMPI_MCA_btl_vader_backing_directory": folder.path,
                                                                 "OMPI_MCA_orte_tmpdir_base": folder.path])
        let status = waitStatus(of: pid, within: deadline)
        if status == nil {
            kill(-pid, SIGKILL)
            livingProcesses(mentioning: folder.path).forEach { kill($0, SIGKILL) }
            var ignored: Int32 = 0
            waitpid(pid, &ignored, 0)
            Issue.record("\(command.joined(separator: " ")) did not end within \(deadline) s; killed its process group")
        }
        let leftovers = livingProcesses(mentioning: folder.path)
        if !leftovers.isEmpty {
            leftovers.forEach { kill($0, SIGKILL) }
            Issue.record("processes outlived the run: \(leftovers)")
        }
        let output = (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
        var reports: [Int: [String: [String]]] = [:]
        for rank in 0..<(ranks ?? 1) {
            guard let text = try? String(contentsOf: folder.appendingPathComponent("rank-\(rank).txt"), encoding: .utf8) else { continue }
            var lines: [String: [String]] = [:]
            for line in text.split(separator: "\n") {
                let fields = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
                lines[fields[0]] = Array(fields.dropFirst())
            }
            reports[rank] = lines
        }
        let wait = status ?? 0x7f & SIGKILL
        let exit = (wait & 0x7f) == 0 ? (wait >> 8) & 0xff : 128 + (wait & 0x7f)
        return MPIRun(status: exit, output: output, reports: reports)
    }

    /// posix_spawn in a new process group (so the watchdog can kill mpirun and its ranks at
    /// once), stdout and stderr to `output`, nothing else inherited.
    private static func spawn(_ command: [String], output: URL, extra: [String: String]) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        let variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }.merging(extra) { $1 }
        let argv = command.map { strdup($0) } + [nil]
        let envp = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, command[0], &actions, &attributes, argv, envp)
        try #require(spawned == 0, "posix_spawn \(command[0]): \(String(cString: strerror(spawned)))")
        return pid
    }

    /// The wait status of child `pid` once it has ended, or nil if it still runs after
    /// `seconds`. Polls for the event; the deadline only bounds a hang.
    private static func waitStatus(of pid: pid_t, within seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) != pid {
            if Date() >= deadline { return nil }
            usleep(10_000)
        }
        return status
    }

    /// Processes (not zombies) whose command line mentions `text`.
    static func livingProcesses(mentioning text: String) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry in
            guard let pid = pid_t(entry), pid != getpid(),
                  let commandLine = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
                  String(decoding: commandLine, as: UTF8.self).contains(text),
                  let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let state = stat.split(separator: ")").last?.split(separator: " ").first, state != "Z"
            else { return nil }
            return pid
        }
    }
}
#endif
