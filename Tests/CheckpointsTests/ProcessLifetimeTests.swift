import CProcessControl
import Foundation
import Testing
import CheckpointsTestSupport
#if canImport(Glibc)
import Glibc
#endif

#if os(Linux)
/// No `probe-file` child outlives the `batchwise` command that started it (issue 13, item 6).
/// The probe is made to block deterministically with `BATCHWISE_PROBE_TEST_BLOCK` (it writes
/// its pid and waits forever, as libhdf5 does on some hostile files). This test process
/// becomes a child subreaper for each test, so an orphaned probe is re-parented to it and can
/// be waited for: its exit status says exactly what happened to it.
@Suite(.serialized) struct ProcessLifetimeTests {
    /// Polls `condition` (an event, not a delay) until it holds or `seconds` pass.
    static func eventually(within seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() >= deadline { return false }
            usleep(10_000)
        }
        return true
    }

    /// A copy of a model fixture under a unique name, so that its path identifies the processes
    /// started for it, and where the blocked probe writes its pid.
    static func probeTarget(in folder: URL) throws -> (file: URL, pidFile: URL) {
        let file = folder.appendingPathComponent("lifetime-\(UUID().uuidString).keras")
        try FileManager.default.copyItem(at: CLIIsolationTests.models.appendingPathComponent("seed_model.keras"), to: file)
        return (file, folder.appendingPathComponent("probe.pid"))
    }

    static func blockedProbePID(_ pidFile: URL) -> pid_t? {
        (try? String(contentsOf: pidFile, encoding: .utf8)).flatMap { pid_t($0) }
    }

    /// Processes (not zombies) whose command line mentions `path`.
    static func livingProcesses(mentioning path: String) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.filter { Int32($0) != nil }.compactMap { pid in
            guard let commandLine = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
                  String(decoding: commandLine, as: UTF8.self).contains(path),
                  let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let state = stat.split(separator: ")").last?.split(separator: " ").first, state != "Z"
            else { return nil }
            return "\(pid) (\(state))"
        }
    }

    /// Starts `batchwise` with posix_spawn, stdout and stderr to `output`. Not Foundation's
    /// `Process`: it learns of a child's exit through a socket that the child's own children
    /// inherit, so a surviving probe would turn this suite's failure into a hang.
    static func start(_ arguments: [String], probeBlocksAt pidFile: URL, output: URL) throws -> pid_t {
        let executable = try #require(ChildProcess.built("batchwise"), "build the batchwise executable first").path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, output.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else is inherited: an inherited libhdf5 descriptor would keep its file locked.
        bw_spawn_actions_close_inherited(&actions)
        let environment = ChildProcess.tiedEnvironment(["BATCHWISE_PROBE_TEST_BLOCK": pidFile.path])
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        try #require(spawned == 0, "posix_spawn: \(String(cString: strerror(spawned)))")
        return pid
    }

    /// The wait status of child `pid` once it has ended, or nil if it still runs after `seconds`.
    static func waitStatus(of pid: pid_t, within seconds: Double) -> Int32? {
        var status: Int32 = 0
        return eventually(within: seconds) { waitpid(pid, &status, WNOHANG) == pid } ? status : nil
    }

    /// Runs `body` with this process as a child subreaper, a probe target (the file and the
    /// pid file) in a fresh folder, and a file for the command's output.
    static func asSubreaper(_ body: (_ file: URL, _ pidFile: URL, _ output: URL) throws -> Void) throws {
        #expect(bw_set_child_subreaper(1) == 0)
        defer { _ = bw_set_child_subreaper(0) }
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (file, pidFile) = try probeTarget(in: folder)
        try body(file, pidFile, folder.appendingPathComponent("out"))
    }

    /// Kills and reaps a probe a failed test left behind.
    static func cleanUp(_ pid: pid_t) {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = eventually(within: 5) { waitpid(pid, &status, WNOHANG) != 0 }
    }

    @Test(.timeLimit(.minutes(2)))
    func killingTheCommandKillsItsHungProbe() throws {
        try Self.asSubreaper { file, pidFile, output in
            let command = try Self.start(["inspect", file.path], probeBlocksAt: pidFile, output: output)
            var commandStatus: Int32 = 0
            let blocked = Self.eventually(within: 60) {
                Self.blockedProbePID(pidFile) != nil || waitpid(command, &commandStatus, WNOHANG) == command
            }
            guard blocked, let probe = Self.blockedProbePID(pidFile) else {
                kill(command, SIGKILL)
                _ = Self.waitStatus(of: command, within: 10)
                Issue.record("the probe never blocked: \((try? String(contentsOf: output, encoding: .utf8)) ?? "")")
                return
            }
            // A terminal's Ctrl-C signals the foreground process group: the probe must be in it.
            #expect(getpgid(probe) == getpgid(command))

            kill(command, SIGKILL)   // as a script's timeout or `kill -9` would
            #expect(Self.waitStatus(of: command, within: 10) != nil)
            let status = Self.waitStatus(of: probe, within: 30)
            if status == nil { Self.cleanUp(probe) }
            #expect(status != nil, "the probe \(probe) outlived its killed parent")
            #expect((status ?? SIGKILL) & 0x7f == SIGKILL, "the probe ended otherwise: wait status \(status ?? 0)")
            #expect(Self.livingProcesses(mentioning: file.path).isEmpty)
        }
    }

    /// Files a process has open, by path (`/proc/PID/fd`).
    static func openFiles(of pid: pid_t) -> [String] {
        let folder = "/proc/\(pid)/fd"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return entries.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "\(folder)/\($0)") }
    }

    /// A spawned child inherits no descriptor beyond stdin/stdout/stderr: libhdf5 opens files
    /// without O_CLOEXEC and flock(2)s them, so an inherited descriptor would keep a file
    /// locked after its owner closed it (seen as EAGAIN on the next open in a parallel test).
    @Test(.timeLimit(.minutes(2)))
    func spawnedChildrenInheritNoOpenFiles() throws {
        try Self.asSubreaper { file, pidFile, output in
            let held = output.deletingLastPathComponent().appendingPathComponent("held-open")
            #expect(FileManager.default.createFile(atPath: held.path, contents: Data()))
            let handle = try FileHandle(forWritingTo: held)
            defer { try? handle.close() }
            let command = try Self.start(["inspect", file.path], probeBlocksAt: pidFile, output: output)
            defer { kill(command, SIGKILL); _ = Self.waitStatus(of: command, within: 10) }
            #expect(Self.eventually(within: 60) { Self.blockedProbePID(pidFile) != nil }, "the probe never blocked")
            guard let probe = Self.blockedProbePID(pidFile) else { return }
            defer { Self.cleanUp(probe) }
            #expect(!Self.openFiles(of: command).contains(held.path), "the command inherited \(held.path)")
            #expect(!Self.openFiles(of: probe).contains(held.path), "the probe inherited \(held.path)")
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func aProbePastItsTimeoutIsKilledAndReapedByTheCommand() throws {
        try Self.asSubreaper { file, pidFile, output in
            let command = try Self.start(["inspect", file.path, "--isolation-timeout", "0.5"], probeBlocksAt: pidFile, output: output)
            let commandStatus = Self.waitStatus(of: command, within: 60)
            if commandStatus == nil { kill(command, SIGKILL); _ = Self.waitStatus(of: command, within: 10) }
            let message = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            #expect(commandStatus == 1 << 8, "exit status 1 expected, wait status \(commandStatus.map(String.init) ?? "none"): \(message)")
            #expect(message.hasPrefix("batchwise inspect: ") && message.contains("did not finish reading") && message.contains(file.path),
                    "\(message)")
            let probe = try #require(Self.blockedProbePID(pidFile), "the probe never blocked")
            // Reaped by the command before it exited: not re-parented to this subreaper (then
            // waitpid would find it, dead or alive) and gone from the process table.
            var status: Int32 = 0
            let found = waitpid(probe, &status, WNOHANG)
            let waitError = errno
            if found == 0 { Self.cleanUp(probe) }
            #expect(found == -1 && waitError == ECHILD, "the command left its probe \(probe) behind (waitpid \(found), status \(status))")
            #expect(kill(probe, 0) == -1 && errno == ESRCH, "probe \(probe) still exists")
            #expect(Self.livingProcesses(mentioning: file.path).isEmpty)
        }
    }
}
#endif
