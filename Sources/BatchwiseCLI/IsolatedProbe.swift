import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a user's file once in a child process (`batchwise probe-file ...`) before the
/// command reads it for real, because libhdf5 1.10 itself crashes (SIGSEGV) or loops forever
/// on some corrupted files (docs/RELIABILITY.md). The child runs the very loader the command
/// will run; if it dies by a signal or overruns `timeout`, the command reports the file as
/// unreadable instead of crashing or hanging. A child that exits (with or without an error)
/// means the in-process read is safe: it repeats the same deterministic calls.
///
/// ```swift
/// try IsolatedProbe.check(["inspect", path], file: path, options: isolation)
/// ```
enum IsolatedProbe {
    static func check(_ probeArguments: [String], file: String, options: IsolationOptions) throws {
        guard !options.noIsolation else { return }
        let outcome = try run(["probe-file"] + probeArguments, timeout: options.isolationTimeout)
        switch outcome {
        case .exited:
            return
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

    /// Runs this executable with `arguments`, stdout and stderr discarded, killing it after `timeout` seconds.
    static func run(_ arguments: [String], timeout: Double) throws -> Outcome {
        let executable = selfExecutable()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // No crash backtrace in the child: nobody reads it, and symbolication costs time.
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
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
