import CProcessControl
import Distributed
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `batchwise train --ranks N ...`: runs the same command line without `--ranks` under
/// `mpirun -np N` on this machine, as torchrun starts its workers, with the settings
/// docs/distributed.md lists: `--allow-run-as-root` when run as root, `--oversubscribe` (and
/// yielding idle ranks) when N exceeds the cores and one OpenBLAS thread per rank, unless the
/// environment sets them already, and Open MPI's single-copy mechanism: the environment's
/// `OMPI_MCA_btl_vader_single_copy_mechanism` if it sets one, else `cma` where cross-memory
/// attach between two processes works on this machine and `none` where it does not
/// (`SingleCopyMechanism.automatic`; containers may forbid it, and Open MPI would abort). It
/// prints the command first, with the mechanism.
///
/// No rank outlives this process: `mpirun` is started in a process group of its own, tied to
/// this process (it is killed when this process ends, however it ends, `bw_spawn_tied_in_own_group`),
/// and every rank ties itself to `mpirun` (``DataParallelTrain``). SIGINT, SIGTERM and SIGHUP
/// sent to this process are forwarded to `mpirun`, which ends its ranks. `mpirun`'s standard
/// error passes through; when the job fails, a last line names the failed ranks it and they
/// reported, and the exit status is the job's. Open MPI's shared-memory segments go to a
/// directory of the job's own, removed when `mpirun` has ended (``SegmentDirectory``), so a
/// killed rank leaves no file in `/dev/shm`.
///
/// ```swift
/// let status = try RankLauncher.run(ranks: 2, commandLine: CommandLine.arguments)
/// ```
enum RankLauncher {
    /// Starts the job and waits for it; returns `mpirun`'s exit status (128 + signal if it was killed).
    static func run(ranks: Int, commandLine: [String]) throws -> Int32 {
        guard let mpirun = executableOnPath("mpirun") else {
            throw CommandError("--ranks starts Open MPI's mpirun, which is not on PATH (Debian: apt-get install openmpi-bin; Homebrew: brew install open-mpi)")
        }
        let (arguments, settings) = command(mpirun: mpirun, ranks: ranks, commandLine: commandLine,
                                            environment: ProcessInfo.processInfo.environment,
                                            cores: ProcessInfo.processInfo.activeProcessorCount, isRoot: geteuid() == 0)
        print("batchwise train: running " + (settings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } + arguments.map(shellQuoted))
            .joined(separator: " "))
        fflush(nil)
        var environment = ProcessInfo.processInfo.environment.merging(settings) { $1 }
        // A request to die with this process's parent is this process's alone (main() honoured it).
        environment[BW_DIE_WITH_PARENT_VARIABLE] = nil
        let segments = try SegmentDirectory(environment: ProcessInfo.processInfo.environment)
        defer { segments.remove() }
        environment.merge(segments.settings(environment: ProcessInfo.processInfo.environment)) { $1 }
        if let path = segments.path { print("batchwise train: shared-memory segments in \(path) (removed when the job ends)") }
        fflush(nil)
        let (status, errorText) = try spawnAndWait(arguments, environment: environment)
        guard status != 0 else { return 0 }
        let failed = failedRanks(in: errorText)
        let named = failed.isEmpty ? "mpirun named no failed rank" : RankFailureReport.named(failed) + " failed"
        FileHandle.standardError.write(Data("batchwise train: the job on \(ranks) ranks ended with status \(status): \(named)\n".utf8))
        return status
    }

    /// The mpirun command line and the environment variables it adds: `commandLine` (this
    /// executable's arguments) without `--ranks`, run under `mpirun -np ranks`.
    /// `singleCopy` is evaluated only when `environment` does not set the single-copy mechanism.
    static func command(mpirun: String, ranks: Int, commandLine: [String], environment: [String: String],
                        cores: Int, isRoot: Bool,
                        singleCopy: () -> SingleCopyMechanism = { SingleCopyMechanism.automatic })
        -> (arguments: [String], settings: [String: String]) {
        var rest: [String] = [], skipNext = false
        for argument in commandLine.dropFirst() {
            if skipNext { skipNext = false; continue }
            if argument == "--ranks" { skipNext = true; continue }
            if argument.hasPrefix("--ranks=") { continue }
            rest.append(argument)
        }
        let oversubscribed = ranks > cores
        var settings = ["OPENBLAS_NUM_THREADS": "1"]
        if oversubscribed { settings["OMPI_MCA_mpi_yield_when_idle"] = "1" }
        settings = settings.filter { environment[$0.key] == nil }
        // Listed even when the environment sets it (then with its value), so the printed line shows the mechanism in use.
        settings[SingleCopyMechanism.environmentVariable] = SingleCopyMechanism.setting(environment: environment,
                                                                                        automatic: singleCopy())
        let arguments = [mpirun] + (isRoot ? ["--allow-run-as-root"] : []) + ["-np", String(ranks)]
            + (oversubscribed ? ["--oversubscribe"] : []) + [IsolatedProbe.selfExecutable()] + rest
        return (arguments, settings)
    }

    /// The ranks a failed job's standard error names: the ranks' own lines (`rank 1 failed ...`,
    /// `ranks 0, 1 failed: ...`) and mpirun's (`process rank 1 with PID ... exited on signal 9`);
    /// failing those, the process mpirun names as the first to exit non-zero (`[[job,1],1]`).
    static func failedRanks(in text: String) -> [Int] {
        func ranks(_ pattern: String) -> Set<Int> {
            guard let expression = try? NSRegularExpression(pattern: pattern) else { return [] }
            let range = NSRange(text.startIndex..., in: text)
            return Set(expression.matches(in: text, range: range).flatMap { match in
                Range(match.range(at: 1), in: text).map { text[$0].split(separator: ", ").compactMap { Int($0) } } ?? []
            })
        }
        let named = ranks(#"\branks? ((?:\d+, )*\d+) failed\b"#).union(ranks(#"process rank (\d+) with PID"#))
        return (named.isEmpty ? ranks(#"\[\[\d+,\d+\],(\d+)\]"#) : named).sorted()
    }

    /// Runs `arguments` tied to this process, stderr through a pipe that is copied to this
    /// process's stderr and kept, signals forwarded; returns the exit status and the stderr text.
    private static func spawnAndWait(_ arguments: [String], environment: [String: String]) throws -> (Int32, String) {
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else { throw CommandError("cannot create a pipe for mpirun: \(String(cString: strerror(errno)))") }
        let nullInput = open("/dev/null", O_RDONLY)
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        let pid = bw_spawn_tied_in_own_group(arguments[0], argv, envp, nullInput, pipeEnds[1])
        let spawnError = errno
        (argv + envp).forEach { free($0) }
        close(pipeEnds[1])
        if nullInput >= 0 { close(nullInput) }
        guard pid > 0 else {
            close(pipeEnds[0])
            throw CommandError("cannot start \(arguments[0]): \(String(cString: strerror(spawnError)))")
        }
        // A parent that started this process from a libdispatch thread passed on a mask that
        // blocks every signal: unblock the forwarded ones on this (waiting) thread.
        var forwarded = sigset_t()
        sigemptyset(&forwarded)
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&forwarded, signalNumber) }
        pthread_sigmask(SIG_UNBLOCK, &forwarded, nil)
        let forwarding = [SIGINT, SIGTERM, SIGHUP].map { signalNumber -> DispatchSourceSignal in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { kill(pid, signalNumber) }
            source.resume()
            return source
        }
        let collected = ErrorText()
        let reader = DispatchGroup()
        let readEnd = pipeEnds[0]
        DispatchQueue.global().async(group: reader) { collected.copy(from: readEnd) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        reader.wait()
        close(readEnd)
        forwarding.forEach { $0.cancel() }
        let signalNumber = status & 0x7f
        return (signalNumber == 0 ? (status >> 8) & 0xff : 128 + signalNumber, collected.text)
    }

    /// The first `name` on `PATH`, in its folder with symbolic links resolved: Open MPI reads an
    /// absolute `mpirun` path as its installation prefix (the folder above `bin`), and `/bin/mpirun`
    /// on a merged-/usr system (`/bin` a link to `usr/bin`) gives the prefix `/`, which mpirun
    /// refuses ("A prefix was supplied to mpirun that only contained slashes").
    static func executableOnPath(_ name: String, path: String? = ProcessInfo.processInfo.environment["PATH"]) -> String? {
        path?.split(separator: ":").first { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
            .map { URL(fileURLWithPath: String($0)).resolvingSymlinksInPath().appendingPathComponent(name).path }
    }

    /// `word` as a POSIX shell reads it back: bare when it is only safe characters, else in single quotes.
    static func shellQuoted(_ word: String) -> String {
        let safe = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_./=:,+@%"))
        guard !word.isEmpty, word.unicodeScalars.allSatisfy(safe.contains) else {
            return "'" + word.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
        }
        return word
    }
}

/// mpirun's standard error: copied to this process's as it comes, the last 64 KiB kept.
private final class ErrorText: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()

    func copy(from descriptor: Int32) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return }
            _ = buffer.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, count) }
            lock.withLock {
                data.append(contentsOf: buffer[0..<count])
                if data.count > 65_536 { data.removeFirst(data.count - 65_536) }
            }
        }
    }

    var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
}
