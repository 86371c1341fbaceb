import Foundation
import Testing
import Training
import Workflows
import CheckpointsTestSupport

/// Issue 17 item 3: a model file's compile config trains as saved unless the job overrides it;
/// an optimizer or loss Batchwise does not have is named with its JSON path, also when the
/// start went through the prepared copy `batchwise train` hands its training process.
@Suite struct CompileConfigTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../fixtures/from_scratch").standardizedFileURL

    private func job(_ folder: URL, model: String) throws -> TrainJob {
        let data = try DataFileFixtures.writeData(folder, x: (0..<8).map { Double($0) / 2 - 2 }, xShape: [8, 1],
                                                  y: (0..<8).map { Double($0 % 2) })
        var job = TrainJob(data: data, output: folder.appendingPathComponent("out.h5"))
        job.model = Self.fixtures.appendingPathComponent(model)
        job.batchSize = 4
        return job
    }

    /// The job's error, run directly and through a prepared start copy (written, as the CLI's
    /// child writes it, from the model option alone).
    private func errors(_ job: TrainJob, folder: URL) throws -> [WorkflowError?] {
        var prepared = job
        prepared.preparedStart = folder.appendingPathComponent("start.h5")
        var child = TrainJob(data: job.data, output: job.output)
        child.model = job.model
        try child.loadStartingPoint().write(to: folder.appendingPathComponent("start.h5"))
        return [job, prepared].map { candidate in
            #expect(throws: WorkflowError.self) { try candidate.run(progress: .quiet) }
        }
    }

    @Test func anUnsupportedLossIsNamedWithItsPathAndLossOverridesIt() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var job = try job(folder, model: "compiled_hinge.keras")
        let path = job.model!.path
        for error in try errors(job, folder: folder) {
            #expect(error == .unsupportedCompileConfig(file: path, path: "$.compile_config.loss", name: "hinge", setting: .loss))
        }
        job.loss = .binaryCrossentropy
        try job.run(progress: .quiet)   // the file's SGD, the given loss
    }

    @Test func anUnsupportedOptimizerIsNamedWithItsPathAndOptimizerOverridesIt() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var job = try job(folder, model: "compiled_adamax.keras")
        let path = job.model!.path
        for error in try errors(job, folder: folder) {
            #expect(error == .unsupportedCompileConfig(file: path, path: "$.compile_config.optimizer.class_name", name: "Adamax",
                                                       setting: .optimizer))
        }
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("out.h5").path))
        job.optimizer = .adam
        try job.run(progress: .quiet)
    }

    @Test func inputsWithoutLayersAreRefusedEvenFromAPreparedStart() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var job = try job(folder, model: "compiled_sgd_logits.keras")
        job.inputFeatures = 1
        for error in try errors(job, folder: folder) {
            guard case .invalidSetting(_, .inputs, _)? = error else {
                Issue.record("got \(String(describing: error))")
                continue
            }
        }
    }
}
