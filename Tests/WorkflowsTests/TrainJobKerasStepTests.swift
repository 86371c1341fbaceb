import Foundation
import HDF5
import Testing
import Tensors
import Training
@testable import Checkpoints
import Workflows

/// `batchwise train` on a Keras model, one SGD step on one unshuffled batch, must land on
/// the weights Keras itself reached (fixtures/keras/conformance.h5, `after_sgd`).
@Suite struct TrainJobKerasStepTests {
    static let conformance = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/keras/conformance.h5")

    @Test func oneSGDStepThroughTheTrainJobReproducesKeras() throws {
        let fixture = try HDF5File.open(at: Self.conformance, mode: .readOnly)
        defer { try? fixture.close() }
        func tensor(_ path: String) throws -> Tensor<Float> {
            let array = try fixture.read(path, as: Float.self)
            return try Tensor(shape: array.shape, scalars: array.values)
        }
        var model = try Sequential(inputFeatures: 1, [
            BatchNormalization(), Dense(units: 8, activation: .sigmoid),
            BatchNormalization(), Dense(units: 1, activation: .sigmoid),
        ], name: "functional")
        for variable in model.variables {
            try model.setVariable(variable.name, to: try tensor("seed_model/initial/\(variable.name)"))
        }
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("batchwise-trainjob-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let modelURL = folder.appendingPathComponent("initial.keras")
        try KerasModelFile.save(model, loss: .binaryCrossentropy, to: modelURL)

        let x = try tensor("seed_model/inputs"), y = try tensor("seed_model/targets")
        let data = try HDF5File.create(at: folder.appendingPathComponent("data.h5"))
        try data.write(x.scalars, shape: x.shape, to: "x")
        try data.write(y.scalars, shape: y.shape, to: "y")
        try data.close()

        var job = TrainJob(data: folder.appendingPathComponent("data.h5"), output: folder.appendingPathComponent("out.h5"))
        job.model = modelURL
        job.loss = .binaryCrossentropy
        job.optimizer = .sgd
        job.learningRate = Float(try fixture.readAttribute("learning_rate", of: "seed_model/after_sgd", as: Double.self))
        job.batchSize = x.rowCount   // one batch, one step
        job.shuffleBuffer = 0        // --no-shuffle
        job.epochs = 1
        try job.run(progress: .quiet)

        let trained = try NativeCheckpoint.load(from: job.output).snapshot.model
        #expect(trained.variables.count == 12)
        for variable in trained.variables {
            let expected = try tensor("seed_model/after_sgd/\(variable.name)")
            let scale = expected.scalars.map(abs).max() ?? 0
            let worst = zip(variable.value.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst <= 1e-6 + 1e-5 * scale, "\(variable.name): off by \(worst)")
        }
    }
}
