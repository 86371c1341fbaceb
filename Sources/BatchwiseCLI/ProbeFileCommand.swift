import ArgumentParser
import Batchwise
import Foundation

/// `batchwise probe-file inspect|model|train ...` (hidden): the child half of
/// ``IsolatedProbe``. It runs the same loader as the real command and prints nothing; its
/// exit status is 0 (read) or 1 (typed error). A crash or hang here is what the parent detects.
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

    func run() throws {
        do {
            switch kind {
            case "inspect":
                _ = try InspectCommand.render(URL(fileURLWithPath: try required(file)), json: false)
            case "model":
                _ = try ModelFiles.loadModel(URL(fileURLWithPath: try required(file)))
            case "train":
                var job = TrainJob(data: URL(fileURLWithPath: "/dev/null"), save: URL(fileURLWithPath: "/dev/null"))
                job.model = file.map { URL(fileURLWithPath: $0) }
                job.resume = resume.map { URL(fileURLWithPath: $0) }
                try job.loadModelFiles()
            default:
                throw ExitCode(2)
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw ExitCode(1)
        }
    }

    private func required(_ value: String?) throws -> String {
        guard let value else { throw ExitCode(2) }
        return value
    }
}
