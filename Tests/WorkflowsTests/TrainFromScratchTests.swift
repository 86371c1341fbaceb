import Foundation
import Testing
import Training
@testable import Checkpoints
import Workflows
import CheckpointsTestSupport

/// Issue 17 item 5 as a library call: a ``TrainJob`` builds its model from ``LayerSpec``s or a
/// Keras `model.to_json()` architecture with Keras's initializer distributions drawn from the seed.
@Suite struct TrainFromScratchTests {
    static let bnMLP = "batch_normalization,dense:8:sigmoid,batch_normalization,dense:1:sigmoid"
    static let architectureJSON = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../fixtures/from_scratch/config.json").standardizedFileURL

    /// The untrained model a job with these layers starts from (zero epochs run no step).
    private func initialModel(_ spec: String, inputs: Int, seed: UInt64) throws -> Sequential {
        try Sequential(inputFeatures: inputs, LayerSpec.parse(spec).map { $0.makeLayer() }, seed: seed)
    }

    /// Glorot-uniform: every kernel value in ±sqrt(6/(fan_in+fan_out)), spread over the whole
    /// interval as a uniform distribution is (mean, variance, quartile counts); Keras's other
    /// initializers are constants.
    @Test func initialWeightsFollowKerasInitializerDistributions() throws {
        let model = try initialModel("dense:300:relu,batch_normalization,layer_normalization,dense:1", inputs: 200, seed: 11)
        let kernel = try model.variable("dense/kernel").scalars.map(Double.init)
        let limit = (6.0 / Double(200 + 300)).squareRoot()
        #expect(kernel.allSatisfy { abs($0) <= limit })
        #expect(kernel.max()! > 0.99 * limit && kernel.min()! < -0.99 * limit)
        let count = Double(kernel.count)
        let mean = kernel.reduce(0, +) / count
        let variance = kernel.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / count
        // Uniform(-L, L): mean 0 (standard error L/sqrt(3n)), variance L²/3.
        #expect(abs(mean) < 4 * limit / (3 * count).squareRoot())
        #expect(abs(variance / (limit * limit / 3) - 1) < 0.02)
        for quarter in 0..<4 {
            let low = -limit + Double(quarter) * limit / 2
            let inQuarter = Double(kernel.filter { $0 >= low && $0 < low + limit / 2 }.count)
            #expect(abs(inQuarter / count - 0.25) < 0.01, "quarter \(quarter): \(inQuarter / count)")
        }
        let second = try model.variable("dense_1/kernel").scalars.map(Double.init)
        #expect(second.allSatisfy { abs($0) <= (6.0 / 301).squareRoot() })
        #expect(try model.variable("dense/bias").scalars.allSatisfy { $0 == 0 })
        #expect(try model.variable("batch_normalization/gamma").scalars.allSatisfy { $0 == 1 })
        #expect(try model.variable("batch_normalization/beta").scalars.allSatisfy { $0 == 0 })
        #expect(try model.variable("batch_normalization/moving_mean").scalars.allSatisfy { $0 == 0 })
        #expect(try model.variable("batch_normalization/moving_variance").scalars.allSatisfy { $0 == 1 })
        #expect(try model.variable("layer_normalization/gamma").scalars.allSatisfy { $0 == 1 })
        #expect(try model.variable("layer_normalization/beta").scalars.allSatisfy { $0 == 0 })
    }

    /// A Keras `model.to_json()` architecture with a seed builds the same model as the same
    /// layers given as a spec; another seed draws other weights.
    @Test func anArchitectureJSONIsBuiltFromTheSeed() throws {
        let json = try String(contentsOf: Self.architectureJSON, encoding: .utf8)
        let fromJSON = try KerasModelConfig.model(fromJSON: json, file: "config.json", seed: 7)
        let fromSpec = try initialModel(Self.bnMLP, inputs: 1, seed: 7)
        #expect(fromJSON.variables.map(\.name) == fromSpec.variables.map(\.name))
        #expect(NativeFixtures.bits(fromJSON) == NativeFixtures.bits(fromSpec))
        let otherSeed = try KerasModelConfig.model(fromJSON: json, file: "config.json", seed: 8)
        #expect(NativeFixtures.bits(otherSeed) != NativeFixtures.bits(fromSpec))
    }

    private func job(_ folder: URL, seed: UInt64, output: String) throws -> TrainJob {
        let data = try DataFileFixtures.writeData(folder, x: (0..<16).map { Double($0) / 4 - 2 }, xShape: [16, 1],
                                                  y: (0..<16).map { Double($0 % 2) })
        var job = TrainJob(data: data, output: folder.appendingPathComponent(output))
        job.layers = try LayerSpec.parse(Self.bnMLP)
        job.inputFeatures = 1
        job.loss = .binaryCrossentropy
        job.optimizer = .adam
        job.epochs = 2
        job.batchSize = 4
        job.seed = seed
        return job
    }

    @Test func oneSeedTrainsTheSameWeightsTwiceAndAnotherSeedDiffers() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = try job(folder, seed: 3, output: "a.keras").runReturningModel(progress: .quiet)
        let second = try job(folder, seed: 3, output: "b.keras").runReturningModel(progress: .quiet)
        let other = try job(folder, seed: 4, output: "c.keras").runReturningModel(progress: .quiet)
        #expect(NativeFixtures.bits(first.model) == NativeFixtures.bits(second.model))
        #expect(NativeFixtures.bits(first.model) != NativeFixtures.bits(other.model))
        #expect(first.history.epochs.count == 2)
        let saved = try KerasModelFile.load(folder.appendingPathComponent("a.keras"))
        #expect(NativeFixtures.bits(saved.model) == NativeFixtures.bits(first.model))
        #expect(saved.optimizer is Adam && saved.loss == Loss(.binaryCrossentropy))
    }

    @Test func layersWithoutInputsOrWithAModelAreRefusedNamingTheSetting() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var noInputs = try job(folder, seed: 1, output: "x.keras")
        noInputs.inputFeatures = nil
        #expect { try noInputs.run(progress: .quiet) } throws: { error in
            guard case .invalidSetting(_, .inputs, _)? = error as? WorkflowError else { return false }
            return true
        }
        var both = try job(folder, seed: 1, output: "x.keras")
        both.model = Self.architectureJSON
        #expect { try both.run(progress: .quiet) } throws: { error in
            guard case .invalidSetting(_, .layers, _)? = error as? WorkflowError else { return false }
            return true
        }
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("x.keras").path))
    }
}
