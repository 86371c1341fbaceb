import Datasets
import Testing
import Tensors
import Training

/// Pipelines can be stored, returned and passed by what they yield (`Dataset<Element>` has a
/// primary associated type), without spelling their nested generic types — and training
/// through those spellings is the same as through the concrete type.
@Suite struct PipelineStorageTests {
    static func data() throws -> (Tensor<Float>, Tensor<Float>) {
        var rng = SplitMix64(seed: 3)
        let xs = (0..<64).map { _ in Float(rng.nextNormal()) }
        return (try Tensor(shape: [64, 1], scalars: xs), try Tensor(shape: [64, 1], scalars: xs.map { $0 > 0 ? 1 : 0 }))
    }

    /// An opaque return type names only the element.
    static func trainingPipeline() throws -> some Dataset<Trainer.Batch> {
        let (x, y) = try data()
        return try Slices(x, y).shuffle(bufferSize: 64, seed: 3).repeat().batch(16).prefetch(2)
    }

    /// A stored property of a configuration type, held as an existential.
    struct Job {
        var train: any Dataset<Trainer.Batch>
        var validation: (any Dataset<Trainer.Batch>)?
    }

    static func trainer() throws -> Trainer {
        Trainer(model: try Sequential(inputFeatures: 1, [
            BatchNormalization(), Dense(units: 4, activation: .relu), Dense(units: 1, activation: .sigmoid)], seed: 3),
            optimizer: Adam(learningRate: 0.01), loss: .binaryCrossentropy)
    }

    @Test func fitThroughOpaqueExistentialAndErasedPipelinesGivesIdenticalRuns() throws {
        let (x, y) = try Self.data()
        let validation = try Slices(x, y).batch(32)

        var concrete = try Self.trainer()
        let expected = try concrete.fit(try Slices(x, y).shuffle(bufferSize: 64, seed: 3).repeat().batch(16).prefetch(2),
                                        epochs: 3, stepsPerEpoch: 4, validationData: validation, progress: .quiet)

        var opaque = try Self.trainer()
        let viaOpaque = try opaque.fit(try Self.trainingPipeline(), epochs: 3, stepsPerEpoch: 4,
                                       validationData: validation, progress: .quiet)

        let job = Job(train: try Self.trainingPipeline(), validation: validation)
        var existential = try Self.trainer()
        let viaExistential = try existential.fit(job.train, epochs: 3, stepsPerEpoch: 4,
                                                 validationData: job.validation, progress: .quiet)

        var erased = try Self.trainer()
        let viaErased = try erased.fit(try Self.trainingPipeline().eraseToAnyDataset(), epochs: 3, stepsPerEpoch: 4,
                                       validationData: validation.eraseToAnyDataset(), progress: .quiet)

        #expect(expected["val_loss"]?.count == 3)
        #expect(viaOpaque == expected)
        #expect(viaExistential == expected)
        #expect(viaErased == expected)
        let weights = concrete.model.variables.map(\.value)
        #expect(opaque.model.variables.map(\.value) == weights)
        #expect(existential.model.variables.map(\.value) == weights)
        #expect(erased.model.variables.map(\.value) == weights)
    }

    @Test func anExistentialPipelineResumesFromItsState() throws {
        let pipeline: any Dataset<Trainer.Batch> = try Self.trainingPipeline()
        var iterator = pipeline.makeIterator()
        _ = try iterator.next()
        var resumed = try pipeline.makeIterator(resumingFrom: iterator.state)
        let (a, b) = (try #require(try iterator.next()), try #require(try resumed.next()))
        #expect(a.0 == b.0 && a.1 == b.1)
    }
}
