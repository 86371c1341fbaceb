import Datasets
import Distributed
import Tensors
import Testing
import Training

/// A layer with a trainable `factor` whose backward pass leaves its gradient out: a broken
/// custom layer, as a data-parallel step must report it rather than reduce and apply zeros.
private struct GradientlessScale: Layer {
    static let namePrefix = "gradientless_scale"
    var name = ""
    var isTrainable = true
    private(set) var inputShape: [Int]?
    private var factor = Tensor<Float>(zeros: [0])

    func outputShape(forInput inputShape: [Int]) throws -> [Int] { inputShape }
    func parameterCount(forInput inputShape: [Int]) -> Int { inputShape.reduce(1, *) }

    mutating func build(inputShape: [Int], seed: UInt64) throws -> [Int] {
        self.inputShape = inputShape
        factor = Tensor(repeating: 1, shape: inputShape)
        return inputShape
    }

    func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> LayerOutput<Void> {
        LayerOutput(output: input, tape: ())
    }

    func backward(_ upstream: Tensor<Float>, tape: Void, gradients: inout LayerGradients,
                  needsInputGradient: Bool) throws -> Tensor<Float>? {
        needsInputGradient ? upstream : nil
    }

    var variables: [NamedVariable] { [NamedVariable(name: "factor", value: factor, isTrainable: isTrainable)] }

    mutating func setVariable(_ localName: String, to value: Tensor<Float>) throws {
        guard localName == "factor" else { throw TrainingError.unknownVariable(name: "\(name)/\(localName)", available: ["factor"]) }
        factor = value
    }
}

/// Fast mode's overlapped reduction (world of one): a rank with rows whose step left a
/// trainable variable's gradient out fails (`rankFailed` carrying `missingGradients`, which
/// names the layer), and the weights stay as they were, instead of the reduction filling in
/// zeros for it. Ordered mode, which reduces after the step, the same, with and without
/// synchronized BatchNormalization.
struct MissingGradientTests {
    /// With BatchNormalization (synchronized statistics) the ordered step is the segmented one,
    /// whose per-micro-shard sums check the gradients separately.
    @Test(arguments: [(ReductionMode.fast, false), (.ordered, false), (.ordered, true)])
    func aLayerWithoutItsGradientIsNamedNotReducedAsZeros(mode: ReductionMode, batchNorm: Bool) throws {
        let x = try Tensor(shape: [8, 3], scalars: (0..<24).map { Float($0 % 5) / 4 - 0.5 })
        let y = Tensor((0..<8).map { Float($0 % 2) })
        var layers: [any Layer] = [GradientlessScale()]
        if batchNorm { layers.append(BatchNormalization()) }
        layers.append(Dense(units: 2, activation: .softmax))
        let model = try Sequential(inputFeatures: 3, layers, seed: 4)
        let before = model.variables.map { $0.value.scalars }
        var trainer = try DataParallelTrainer(
            model: model, optimizer: SGD(learningRate: 0.1), loss: .sparseCategoricalCrossentropy,
            communicator: Communicator.world(environment: [:]), globalBatchSize: 8, microShardCount: 2, mode: mode)
        let error = #expect(throws: DataParallelError.self) { try trainer.fit(try Slices(x, y), epochs: 1) { _, _ in } }
        guard case .rankFailed(let rank, let epoch, let step, let message)? = error else {
            Issue.record("expected rankFailed, got \(String(describing: error))")
            return
        }
        #expect(rank == 0 && epoch == 0 && step == 0)
        #expect(message == TrainingError.missingGradients(layer: "gradientless_scale").errorDescription, "\(message)")
        #expect(trainer.model.variables.map { $0.value.scalars } == before)
    }
}
