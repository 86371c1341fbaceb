import ArgumentParser
import Batchwise
import Foundation
import Workflows

/// `batchwise probe-file inspect|model|train ...` (hidden): the child half of
/// ``IsolatedProbe``, doing the hostile read so that a libhdf5 crash or hang kills this
/// process, not the user's command. `inspect` prints what `batchwise inspect` would;
/// `model --copy-to X.keras` loads the model and writes a clean copy for the parent; `train
/// --model/--resume ... --copy-to X.h5` loads them as `train` would and writes the training
/// start (`PreparedStart`). It answers with a ``ProbeStatus``.
struct ProbeFileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe-file",
        abstract: "Internal: read a file as inspect/predict/train would, in an isolated child process.",
        shouldDisplay: false
    )

    @Argument(help: "What to read the file(s) as.")
    var kind: ProbeKind

    @Option(help: "The file to read (inspect, model).")
    var file: String?

    @OptionGroup var start: StartOptions

    @Option(help: "model: where to write a clean .keras copy of the loaded model; train: where to write the prepared start (.h5).")
    var copyTo: String?

    @Flag(help: "inspect: JSON output.")
    var json = false

    @Flag(help: "inspect: exit with status 4 if any object could not be read.")
    var strict = false

    func validate() throws {
        switch kind {
        case .inspect, .model:
            guard file != nil else { throw ValidationError("probe-file \(kind.rawValue) needs --file") }
        case .train:
            guard !start.files.isEmpty else { throw ValidationError("probe-file train needs --model or --resume") }
        }
    }

    /// For tests only: when set to a path, the probe writes its pid there and then blocks
    /// forever, like libhdf5 looping on a hostile file, so that tests can kill the parent or
    /// let the timeout expire without depending on how long a real hostile file takes.
    static let testBlockVariable = "BATCHWISE_PROBE_TEST_BLOCK"

    func run() throws {
        if let path = ProcessInfo.processInfo.environment[Self.testBlockVariable] {
            try Data(String(getpid()).utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            while true { pause() }
        }
        try CommandFailure.reporting(prefix: nil) {
            switch kind {
            case .inspect:
                let rendering = try InspectCommand.render(URL(fileURLWithPath: file ?? ""), json: json)
                print(rendering.text)
                if strict, let summary = rendering.unreadableSummary {
                    FileHandle.standardError.write(Data((summary.replacingOccurrences(of: "\n", with: " ") + "\n").utf8))
                    throw ExitCode(ProbeStatus.strictFailure.rawValue)
                }
            case .model:
                let model = try ModelFiles.loadModel(URL(fileURLWithPath: file ?? ""))
                try writeCopy { try KerasModelFile.save(model, to: $0) }
            case .train:
                var job = TrainJob(data: URL(fileURLWithPath: "/dev/null"), output: URL(fileURLWithPath: "/dev/null"))
                start.apply(to: &job)
                let prepared = try job.loadStartingPoint()
                try writeCopy { try prepared.write(to: $0) }
            }
        }
    }

    /// Writes the copy the parent asked for; a failure is ``ProbeStatus/noCopy``, not an error:
    /// the files loaded, so the parent reads the originals.
    private func writeCopy(_ write: (URL) throws -> Void) throws {
        guard let copyTo else { return }
        do {
            try write(URL(fileURLWithPath: copyTo))
        } catch {
            throw ExitCode(ProbeStatus.noCopy.rawValue)
        }
    }
}
