import ArgumentParser
import Foundation
import Workflows

/// How every command ends on an error: one line on stderr and exit status 1, never a crash.
enum CommandFailure {
    /// Runs `body`; any error but an `ExitCode` is written as `PREFIX: message` (or the message
    /// alone without a prefix) on one line of stderr, and the command exits with status 1.
    ///
    /// ```swift
    /// try CommandFailure.reporting(prefix: "batchwise inspect") {
    ///     print(try InspectCommand.render(url, json: false).text)
    /// }
    /// ```
    static func reporting(prefix: String?, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch let exit as ExitCode {
            throw exit
        } catch {
            let line = message(error).replacingOccurrences(of: "\n", with: " ")
            FileHandle.standardError.write(Data(((prefix.map { "\($0): " } ?? "") + line + "\n").utf8))
            throw ExitCode.failure
        }
    }

    /// The error's description, with a workflow setting named by its command-line flag.
    static func message(_ error: any Error) -> String {
        switch error {
        case let WorkflowError.resumeOptionConflict(file, setting, checkpoint, given):
            return "\(file): \(setting.flag) \(given) conflicts with the checkpoint's \(checkpoint); a resume continues "
                + "the saved optimizer: drop \(setting.flag) or give the checkpoint's value"
        case let WorkflowError.resumeCallbackConflict(file, setting, checkpoint, given):
            return "\(file): \(setting.flag) \(given) differs from the checkpointed run's \(checkpoint); a resume continues "
                + "the saved callback states: give the checkpoint's \(setting.flag) (\(checkpoint)), or --model \(file) to start "
                + "a new run from its weights"
        case let WorkflowError.invalidSetting(_, setting, _), let WorkflowError.unsupportedCompileConfig(_, _, _, setting):
            return "\(error.localizedDescription) (\(setting.flag))"
        default:
            return (error as? LocalizedError)?.errorDescription ?? error.localizedDescription
        }
    }
}

/// A command's own one-line error.
///
/// ```swift
/// throw CommandError("cannot load m.keras")
/// ```
struct CommandError: LocalizedError {
    let errorDescription: String?
    init(_ message: String) { errorDescription = message }
}
