import ArgumentParser
import Batchwise
import Foundation

/// `batchwise probe-file inspect|model|train ...` (hidden): the child half of
/// ``IsolatedProbe``, doing the hostile read so that a libhdf5 crash or hang kills this
/// process, not the user's command. `inspect` prints what `batchwise inspect` would;
/// `model --copy-to X.keras` loads the model and writes a clean copy for the parent; `train
/// --copy-to X.h5` loads the model/resume files and writes the training start (`PreparedStart`).
/// Exit status 0 (done), 1 (typed error, one line on stderr), 3 (loaded but the copy could
/// not be written: the parent reads the original), 4 (`inspect --strict`: printed, but some
/// objects could not be read; the summary is on stderr).
struct ProbeFileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe-file",
        abstract: "Internal: read a file as inspect/predict/train would, in an isolated child process.",
        shouldDisplay: false
    )

    @Argument(help: "inspect, model or train.")
    var kind: String

    @Option(help: "The file to read (inspect, model; train --model).")
    var file: String?

    @Option(help: "train --resume checkpoint.")
    var resume: String?

    @Option(help: "model: where to write a clean .keras copy of the loaded model; train: where to write the prepared start (.h5).")
    var copyTo: String?

    @Flag(help: "inspect: JSON output.")
    var json = false

    @Flag(help: "inspect: exit with status 4 if any object could not be read.")
    var strict = false

    /// `inspect --strict` found unreadable objects (the listing was printed).
    static let strictFailureStatus: Int32 = 4

    /// For tests only: when set to a path, the probe writes its pid there and then blocks
    /// forever, like libhdf5 looping on a hostile file, so that tests can kill the parent or
    /// let the timeout expire without depending on how long a real hostile file takes.
    static let testBlockVariable = "BATCHWISE_PROBE_TEST_BLOCK"

    func run() throws {
        if let path = ProcessInfo.processInfo.environment[Self.testBlockVariable] {
            try Data(String(getpid()).utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            while true { pause() }
        }
        do {
            switch kind {
            case "inspect":
                let rendering = try InspectCommand.render(URL(fileURLWithPath: try required(file)), json: json)
                print(rendering.text)
                if strict, let summary = rendering.unreadableSummary {
                    FileHandle.standardError.write(Data((summary.replacingOccurrences(of: "\n", with: " ") + "\n").utf8))
                    throw ExitCode(Self.strictFailureStatus)
                }
            case "model":
                let model = try ModelFiles.loadModel(URL(fileURLWithPath: try required(file)))
                if let copyTo {
                    do {
                        try KerasModelFile.save(model, to: URL(fileURLWithPath: copyTo))
                    } catch {
                        throw ExitCode(3)
                    }
                }
            case "train":
                var job = TrainJob(data: URL(fileURLWithPath: "/dev/null"), output: URL(fileURLWithPath: "/dev/null"))
                job.model = file.map { URL(fileURLWithPath: $0) }
                job.resume = resume.map { URL(fileURLWithPath: $0) }
                let start = try job.loadStartingPoint()
                if let copyTo {
                    do {
                        try start.write(to: URL(fileURLWithPath: copyTo))
                    } catch {
                        throw ExitCode(3)
                    }
                }
            default:
                throw ExitCode(2)
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            let message = (error as? LocalizedError)?.errorDescription ?? "\(error)"
            FileHandle.standardError.write(Data((message.replacingOccurrences(of: "\n", with: " ") + "\n").utf8))
            throw ExitCode(1)
        }
    }

    private func required(_ value: String?) throws -> String {
        guard let value else { throw ExitCode(2) }
        return value
    }
}
