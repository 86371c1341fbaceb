import CProcessControl
import Foundation
import Testing
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

    /// Kills and reaps a probe a failed test left behind.
    static func cleanUp(_ pid: pid_t) {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = eventually(within: 5) { waitpid(pid, &status, WNOHANG) != 0 }
    }

    @Test(.timeLimit(.minutes(2)))
    func killingTheCommandKillsItsHungProbe() throws {
        #expect(bw_set_child_subreaper(1) == 0)
        defer { _ = bw_set_child_subreaper(0) }
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (file, pidFile) = try Self.probeTarget(in: folder)
        let executable = try #require(ChildProcess.built("batchwise"), "build the batchwise executable first")

        let command = Process()
        command.executableURL = executable
        command.arguments = ["inspect", file.path]
        command.environment = ChildProcess.tiedEnvironment(["BATCHWISE_PROBE_TEST_BLOCK": pidFile.path])
        command.standardOutput = FileHandle.nullDevice
        command.standardError = FileHandle.nullDevice
        try command.run()
        let started = Self.eventually(within: 60) { Self.blockedProbePID(pidFile) != nil || !command.isRunning }
        let probe = try #require(started ? Self.blockedProbePID(pidFile) : nil, "the probe never blocked")
        // A terminal's Ctrl-C signals the foreground process group: the probe must be in it.
        #expect(getpgid(probe) == getpgid(command.processIdentifier))

        kill(command.processIdentifier, SIGKILL)   // as a script's timeout or `kill -9` would
        command.waitUntilExit()
        var status: Int32 = 0
        let ended = Self.eventually(within: 30) { waitpid(probe, &status, WNOHANG) == probe }
        if !ended { Self.cleanUp(probe) }
        #expect(ended, "the probe \(probe) outlived its killed parent")
        #expect(!ended || status & 0x7f == SIGKILL, "the probe ended otherwise: wait status \(status)")
        #expect(Self.livingProcesses(mentioning: file.path).isEmpty)
    }

    @Test(.timeLimit(.minutes(2)))
    func aProbePastItsTimeoutIsKilledAndReapedByTheCommand() throws {
        #expect(bw_set_child_subreaper(1) == 0)
        defer { _ = bw_set_child_subreaper(0) }
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (file, pidFile) = try Self.probeTarget(in: folder)
        let executable = try #require(ChildProcess.built("batchwise"), "build the batchwise executable first")

        let run = try ChildProcess.run(executable, ["inspect", file.path, "--isolation-timeout", "0.5"], deadline: 60,
                                       environment: ["BATCHWISE_PROBE_TEST_BLOCK": pidFile.path])
        CLIIsolationTests.expectCleanFailure(run, command: "inspect", file: file, saying: "did not finish reading")
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
#endif
