import Datasets
import Distributed
import Tensors
import Testing
import Training

/// A layer that draws random numbers in training mode, as a user's custom noise layer would:
/// every micro-shard would repeat its draws, so the data-parallel trainer refuses it by name.
private struct NoiseLayer: Layer {
    static let namePrefix = "noise"
    var name = ""
    var isTrainable = true
    private(set) var inputShape: [Int]?

    func outputShape(forInput inputShape: [Int]) throws -> [Int] { inputShape }
    func parameterCount(forInput inputShape: [Int]) -> Int { 0 }

    mutating func build(inputShape: [Int], seed: UInt64) throws -> [Int] {
        self.inputShape = inputShape
        return inputShape
    }

    func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> LayerOutput<Void> { LayerOutput(output: input, tape: ()) }

    func backward(_ upstream: Tensor<Float>, tape: Void, gradients: inout LayerGradients,
                  needsInputGradient: Bool) throws -> Tensor<Float>? {
        needsInputGradient ? upstream : nil
    }

    var variables: [NamedVariable] { [] }
    var randomState: UInt64? { 42 }

    mutating func setVariable(_ localName: String, to value: Tensor<Float>) throws {
        throw TrainingError.unknownVariable(name: "\(name)/\(localName)", available: [])
    }
}

/// The data-parallel trainer's refusals of arguments a program passes it (world of one): each
/// is the typed error naming the argument, layer or model at fault, and nothing is trained.
struct DataParallelTrainerArgumentErrorTests {
    /// A world of one for each trainer: a communicator belongs to the thread that created it.
    static func world() throws -> Communicator { try Communicator.world(environment: [:]) }

    static func rows(_ count: Int = 8) throws -> Slices<(Tensor<Float>, Tensor<Float>)> {
        try Slices(Tensor(shape: [count, 2], scalars: (0..<(count * 2)).map { Float($0 % 5) / 4 }), Tensor<Float>(zeros: [count, 1]))
    }

    static func trainer(_ model: Sequential? = nil, optimizer: any Optimizer = SGD(learningRate: 0.1)) throws -> DataParallelTrainer {
        try DataParallelTrainer(model: model ?? Sequential(inputFeatures: 2, [Dense(units: 1)], seed: 1), optimizer: optimizer,
                                loss: .meanSquaredError, communicator: world(), globalBatchSize: 4)
    }

    @Test func settingsAndLayersTheTrainerCannotHonourAreNamed() throws {
        let model = try Sequential(inputFeatures: 2, [Dense(units: 1)], seed: 1)
        #expect(throws: DataParallelError.invalidArgument(argument: "microShardCount", reason: "must be at least 1, got 0")) {
            _ = try DataParallelTrainer(model: model, optimizer: SGD(), loss: .meanSquaredError, communicator: Self.world(),
                                        globalBatchSize: 4, microShardCount: 0)
        }
        let noisy = try Sequential(inputFeatures: 2, [Dense(units: 3), NoiseLayer(), Dense(units: 1)], seed: 1)
        let noise = try #require(noisy.layers.first { $0 is NoiseLayer }?.name)
        let error = #expect(throws: DataParallelError.self) { _ = try Self.trainer(noisy) }
        #expect(error == .unsupportedLayer(layer: noise, reason: "it draws random numbers in training mode; every micro-shard would draw the same ones"))
        #expect(error?.errorDescription?.hasPrefix("data-parallel training cannot train layer '\(noise)': ") == true)
    }

    @Test func negativeEpochsAndDataThatNeverEndsAreRefusedBeforeAStep() throws {
        var trainer = try Self.trainer()
        let before = trainer.model.variables
        #expect(throws: DataParallelError.invalidArgument(argument: "epochs", reason: "must be >= 0, got -1")) {
            try trainer.fit(try Self.rows(), epochs: -1)
        }
        #expect(throws: DataParallelError.unsupportedData(reason: "the dataset repeats forever")) {
            try trainer.fit(try Self.rows().repeat(), epochs: 1)
        }
        #expect(throws: DataParallelError.invalidArgument(argument: "epoch", reason: "must be >= 0, got -2")) {
            _ = try trainer.predict(try Self.rows(), epoch: -2)
        }
        #expect(throws: DataParallelError.invalidArgument(argument: "data", reason: "has no rows to recalibrate on")) {
            try trainer.recalibrateBatchNormalization(on: try Self.rows(0))
        }
        #expect(trainer.model.variables == before)
    }

    /// A snapshot of another optimizer or another model: the message names both optimizers,
    /// or both models' variables, and the trainer keeps its own weights.
    @Test func aSnapshotOfAnotherOptimizerOrModelIsRefusedNamingBoth() throws {
        var saved: TrainingSnapshot?
        var adam = try Self.trainer(optimizer: Adam(learningRate: 0.01))
        try adam.fit(try Self.rows(), epochs: 1) { _, snapshot in saved = snapshot }
        let snapshot = try #require(saved)

        var sgd = try Self.trainer()
        let sgdWeights = sgd.model.variables
        let otherOptimizer = #expect(throws: DataParallelError.self) { try sgd.fit(try Self.rows(), epochs: 2, resumingFrom: snapshot) }
        #expect(otherOptimizer == .invalidArgument(argument: "resumingFrom", reason: "holds the state of \(Adam(learningRate: 0.01).identity), "
                                                   + "but the trainer's optimizer is \(SGD(learningRate: 0.1).identity)"))
        #expect(sgd.model.variables == sgdWeights)

        let wider = try Sequential(inputFeatures: 2, [Dense(units: 3), Dense(units: 1)], seed: 1)
        var other = try Self.trainer(wider, optimizer: Adam(learningRate: 0.01))
        let otherModel = #expect(throws: DataParallelError.self) { try other.fit(try Self.rows(), epochs: 2, resumingFrom: snapshot) }
        let description = otherModel?.errorDescription ?? ""
        for variable in snapshot.model.variables.map(\.name) + wider.variables.map(\.name) {
            #expect(description.contains(variable), "\(description)")
        }
        #expect(description.hasPrefix("data-parallel training: resumingFrom holds a model with variables "), "\(description)")
        #expect(other.model.variables == wider.variables)
    }
}
