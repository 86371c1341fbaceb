import ArgumentParser
import CProcessControl
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a user's file in a child process (`batchwise probe-file ...`), because libhdf5 1.10
/// itself crashes (SIGSEGV) or loops forever on some corrupted files (docs/RELIABILITY.md).
/// If the child dies by a signal or overruns `timeout`, the command reports the file as
/// unreadable instead of crashing or hanging.
///
/// The child does the whole hostile read, so the parent's libhdf5 never sees the file:
/// `inspect` prints the child's output; `predict` loads a clean copy of the model that the
/// child wrote (Batchwise-written, hence well-formed); `train` starts from the child's
/// `PreparedStart` copy of its model / `--resume` checkpoint. Re-reading the original after a
/// clean probe would not do: some libhdf5 crashes depend on memory layout (fuzz case 2035).
/// Data files (`--input`, `--data`) are still read in process (docs/RELIABILITY.md).
///
/// The child never outlives this process: it is started with `BATCHWISE_DIE_WITH_PARENT` set
/// to this pid (it then dies by SIGKILL when this process ends, however it ends), it stays in
/// this process's process group (so Ctrl-C in a terminal reaches it too), and past `timeout`
/// it is killed and reaped before ``run(_:file:options:)`` returns. Spawning and waiting
/// happen on the calling thread, as PR_SET_PDEATHSIG requires (CProcessControl.h).
///
/// ```swift
/// let result = try IsolatedProbe.run(["inspect", "--file", path], file: path, options: isolation)
/// ```
enum IsolatedProbe {
    /// What a child that ended on its own produced.
    struct Result {
        var status: Int32
        var standardOutput: Data
        /// The child's one-line error when `status` is 1.
        var message: String
    }

    /// Runs `probe-file` with `probeArguments`; throws ``ProbeFailure`` if it crashed or hung.
    static func run(_ probeArguments: [String], file: String, options: IsolationOptions) throws -> Result {
        removeStaleFolders()
        let folder = temporaryFolder("probe")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("stdout"), errors = folder.appendingPathComponent("stderr")
        switch try spawn(["probe-file"] + probeArguments, stdout: output.path, stderr: errors.path, timeout: options.isolationTimeout) {
        case let .exited(status):
            let message = String(decoding: (try? Data(contentsOf: errors)) ?? Data(), as: UTF8.self)
            return Result(status: status, standardOutput: (try? Data(contentsOf: output)) ?? Data(),
                          message: message.trimmingCharacters(in: .whitespacesAndNewlines))
        case let .signaled(signal):
            throw ProbeFailure(errorDescription: "libhdf5 crashed (signal \(signal), \(signalName(signal))) while reading \(file); "
                + "the file is probably corrupted (--no-isolation reads it in this process)")
        case .timedOut:
            throw ProbeFailure(errorDescription: "libhdf5 did not finish reading \(file) within "
                + "\(String(format: "%g", options.isolationTimeout)) s; the file is probably corrupted "
                + "(--isolation-timeout allows longer)")
        }
    }

    enum Outcome: Equatable {
        case exited(Int32)
        case signaled(Int32)
        case timedOut
    }

    /// Runs this executable with `arguments`, stdout and stderr to the given files, killing
    /// (SIGKILL) and reaping it after `timeout` seconds.
    static func spawn(_ arguments: [String], stdout: String, stderr: String, timeout: Double) throws -> Outcome {
        let executable = selfExecutable()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        // Nothing else is inherited: an inherited libhdf5 descriptor would keep its file locked.
        bw_spawn_actions_close_inherited(&actions)
        // No crash backtrace in the child: nobody reads it, and symbolication costs time.
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        environment[BW_DIE_WITH_PARENT_VARIABLE] = String(getpid())
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        // No spawn attributes: the child stays in this process group, where a terminal's
        // Ctrl-C (SIGINT to the foreground group) reaches it as well as this process.
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard spawned == 0 else {
            throw ProbeFailure(errorDescription: "cannot start the isolated probe \(executable): \(String(cString: strerror(spawned)))")
        }
        let deadline = Date().addingTimeInterval(timeout)
        var pause: useconds_t = 200
        var status: Int32 = 0
        while true {
            let done = waitpid(pid, &status, WNOHANG)
            if done == pid { break }
            if done < 0 && errno != EINTR {
                throw ProbeFailure(errorDescription: "waiting for the isolated probe failed: \(String(cString: strerror(errno)))")
            }
            if Date() >= deadline {
                kill(pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                return .timedOut
            }
            usleep(pause)
            pause = min(pause * 2, 5_000)
        }
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
    }

    /// The running executable (not argv[0], which may be a bare name found through PATH).
    static func selfExecutable() -> String {
        #if os(Linux)
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if length > 0 { return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        #endif
        return Bundle.main.executablePath ?? CommandLine.arguments[0]
    }

    static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGSEGV: "SIGSEGV"
        case SIGBUS: "SIGBUS"
        case SIGABRT: "SIGABRT"
        case SIGILL: "SIGILL"
        case SIGFPE: "SIGFPE"
        case SIGKILL: "SIGKILL"
        default: String(cString: strsignal(signal))
        }
    }
}

/// `--no-isolation` and `--isolation-timeout`, shared by the commands that read user files.
///
/// ```swift
/// @OptionGroup var isolation: IsolationOptions   // in a ParsableCommand
/// ```
struct IsolationOptions: ParsableArguments {
    @Flag(help: "Read the file in this process only, without first probing it in a child process (saves the probe's time; a corrupted file can then crash batchwise).")
    var noIsolation = false

    @Option(help: "Seconds the isolated probe may read the file before it is declared unreadable.")
    var isolationTimeout: Double = 60
}

/// Why the probe refused a file, printed as the command's one-line error.
///
/// ```swift
/// throw ProbeFailure(errorDescription: "libhdf5 crashed (signal 11, SIGSEGV) while reading m.h5; ...")
/// ```
struct ProbeFailure: LocalizedError {
    let errorDescription: String?
}
