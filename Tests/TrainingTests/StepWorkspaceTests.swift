import Testing
import Tensors
@testable import Training

/// What the seed model's step keeps from one step to the next besides the spare gradients:
/// the typed recursion that holds each tape in its layer's frame (``TypedTrainingStep``) and
/// the optimizer's cached slot layout (``OptimizerCore/LayoutCache``). Each must give
/// bitwise what the list of erased tapes and a freshly built layout give, also after what
/// could leave them stale: another batch size, another model, other optimizer settings.
@Suite struct StepWorkspaceTests {
    typealias Reuse = StepBufferReuseTests

    /// The step-reuse models, one with Dropout (a state update that is no variable) and one
    /// with a frozen layer (no gradients for it, none of its input below).
    static func workloads() throws -> [(name: String, model: Sequential, loss: Loss, features: Int)] {
        try Reuse.workloads() + [
            ("dropout", try Sequential(inputFeatures: 3, [
                Dense(units: 6, activation: .relu), Dropout(rate: 0.3, seed: 5), BatchNormalization(),
                Dense(units: 2),
            ], seed: 2), .meanSquaredError, 3),
            ("frozen first layer", try Sequential(inputFeatures: 1, [
                BatchNormalization(), Dense(units: 8, activation: .sigmoid),
                BatchNormalization(), Dense(units: 1, activation: .sigmoid),
            ], seed: 3).withLayer(named: "dense", trainable: false), .binaryCrossentropy, 1),
        ]
    }

    /// The typed recursion and the list of erased tapes, each reusing its own spare, over
    /// eight steps with the batch size changing half-way: loss, predictions, gradients and
    /// state updates bit for bit, then the trained weights and the optimizer state.
    @Test func theTypedStepIsBitwiseTheStepThroughErasedTapes() throws {
        for workload in try Self.workloads() {
            var typed = workload.model, listed = typed
            var typedAdam = Adam(learningRate: 0.01), listedAdam = Adam(learningRate: 0.01)
            var typedSpare: Gradients?, listedSpare: Gradients?
            let batches = Reuse.batches(features: workload.features, loss: workload.loss)
            for step in 0..<8 {
                var (x, y) = batches[step % batches.count]
                if step >= 4 { (x, y) = (try x.rows(0..<20), try y.rows(0..<20)) }   // a smaller batch
                let a = try typed.trainingStep(x: x, y: y, loss: workload.loss, mode: .training,
                                               reusing: typedSpare.take(), typed: true)
                let b = try listed.trainingStep(x: x, y: y, loss: workload.loss, mode: .training,
                                                reusing: listedSpare.take(), typed: false)
                #expect(a.loss.bitPattern == b.loss.bitPattern, "\(workload.name) step \(step)")
                #expect(Reuse.bits(a.predictions) == Reuse.bits(b.predictions), "\(workload.name) step \(step)")
                #expect(Reuse.bits(a.gradients) == Reuse.bits(b.gradients), "\(workload.name) step \(step)")
                #expect(a.gradients.named.map(\.name) == b.gradients.named.map(\.name), "\(workload.name) step \(step)")
                #expect(a.stateUpdate == b.stateUpdate, "\(workload.name) step \(step)")
                try typed.apply(a.stateUpdate)
                try typedAdam.apply(a.gradients, to: &typed)
                try listed.apply(b.stateUpdate)
                try listedAdam.apply(b.gradients, to: &listed)
                typedSpare = a.gradients
                listedSpare = b.gradients
            }
            #expect(Reuse.bits(typed) == Reuse.bits(listed), "\(workload.name)")
            #expect(typed.randomStates == listed.randomStates, "\(workload.name)")
            #expect(typedAdam.state == listedAdam.state, "\(workload.name)")
        }
    }

    /// The spare gradients of another model whose layers have the same names but other
    /// widths: the typed step lays them out again or writes over them, and gives the fresh step.
    @Test func aSpareFromAnotherModelWithTheSameLayerNamesGivesTheFreshStep() throws {
        let narrow = try Sequential(inputFeatures: 1, [
            BatchNormalization(), Dense(units: 3, activation: .sigmoid),
            BatchNormalization(), Dense(units: 1, activation: .sigmoid),
        ], seed: 1)
        let seed = try Reuse.workloads()[0].model
        let (x, y) = Reuse.batches(features: 1, loss: .binaryCrossentropy)[0]
        let other = try narrow.trainingStep(x: x, y: y, loss: .binaryCrossentropy)
        let reused = try seed.trainingStep(x: x, y: y, loss: .binaryCrossentropy, reusing: other.gradients)
        let fresh = try seed.trainingStep(x: x, y: y, loss: .binaryCrossentropy)
        #expect(Reuse.bits(reused.gradients) == Reuse.bits(fresh.gradients))
        #expect(reused.gradients.named.map(\.value.shape) == fresh.gradients.named.map(\.value.shape))
        #expect(reused.loss.bitPattern == fresh.loss.bitPattern)
    }

    /// A model deeper than ``TypedTrainingStep/layerLimit`` takes the list and trains.
    @Test func aModelDeeperThanTheLimitTakesTheList() throws {
        let layers: [any Layer] = (0...TypedTrainingStep.layerLimit).map { _ in Dense(units: 2, activation: .tanh) }
        let model = try Sequential(inputFeatures: 2, layers, seed: 4)
        let x = Tensor<Float>(converting: randomTensor([8, 2], seed: 1))
        let step = try model.trainingStep(x: x, y: x, loss: .meanSquaredError)
        let listed = try model.trainingStep(x: x, y: x, loss: .meanSquaredError, mode: .training, reusing: nil,
                                            typed: false)
        #expect(!model.takesTypedStep(rows: 8))
        #expect(Reuse.bits(step.gradients) == Reuse.bits(listed.gradients))
        #expect(step.gradients.named.count == 2 * layers.count)
    }

    /// The seed model's batches take the typed step; a model with a wide layer, or batches so
    /// large that an activation passes ``TypedTrainingStep/scalarLimit``, take the list.
    @Test func smallActivationsTakeTheTypedStepAndLargeOnesTheList() throws {
        let seed = try Reuse.workloads()[0].model
        #expect(seed.takesTypedStep(rows: 32))
        #expect(seed.takesTypedStep(rows: TypedTrainingStep.scalarLimit / 8))
        #expect(!seed.takesTypedStep(rows: TypedTrainingStep.scalarLimit / 8 + 1))
        #expect(!seed.takesTypedStep(rows: .max))
        let wide = try Sequential(inputFeatures: 4, [Dense(units: 1024), BatchNormalization(), ActivationLayer(.relu),
                                                     Dense(units: 1)])
        #expect(wide.takesTypedStep(rows: 16))
        #expect(!wide.takesTypedStep(rows: 17))
    }

    /// Runs `steps` seed-model steps with `optimizer` on `model` from batch `first` on.
    static func train<O: Optimizer>(_ model: inout Sequential, _ optimizer: inout O, steps: Range<Int>) throws {
        let batches = Reuse.batches(features: 1, loss: .binaryCrossentropy)
        for step in steps {
            let (x, y) = batches[step % batches.count]
            let result = try model.trainingStep(x: x, y: y, loss: .binaryCrossentropy)
            try model.apply(result.stateUpdate)
            try optimizer.apply(result.gradients, to: &model)
        }
    }

    /// Options changed between steps (the EMA switched on, then off; accumulation on): the
    /// optimizer that kept its cached layout trains as one built afresh with the new options
    /// and the old one's state.
    @Test(arguments: ["ema on", "ema off", "accumulation on"])
    func changedOptionsLayTheSlotsOutAgain(change: String) throws {
        var options = OptimizerOptions(learningRate: 0.01)
        options.useEMA = change == "ema off"
        var model = try Reuse.workloads()[0].model
        var kept = Adam(options: options)
        try Self.train(&model, &kept, steps: 0..<3)
        switch change {
        case "ema on": options.useEMA = true
        case "ema off": options.useEMA = false
        default: options.gradientAccumulationSteps = 2
        }
        var rebuilt = Adam(options: options)
        // The state as the new options keep it: without the averages when the EMA is off.
        var state = kept.state
        if !options.useEMA { state.slots = state.slots.filter { !$0.key.hasSuffix("/average") } }
        rebuilt.state = state
        kept.options = options
        var keptModel = model, rebuiltModel = model
        try Self.train(&keptModel, &kept, steps: 3..<7)
        try Self.train(&rebuiltModel, &rebuilt, steps: 3..<7)
        #expect(Reuse.bits(keptModel) == Reuse.bits(rebuiltModel))
        #expect(kept.state == rebuilt.state)
        #expect(kept.state.slots.keys.contains { $0.hasSuffix("/average") } == (change == "ema on"))
    }

    /// An optimizer state moved into an optimizer with other slots (RMSprop without and with
    /// momentum): the layout is that of the optimizer now holding it.
    @Test func aCoreMovedToAnOptimizerWithOtherSlotsTakesItsSlots() throws {
        var model = try Reuse.workloads()[0].model
        var plain = RMSprop(learningRate: 0.01)
        try Self.train(&model, &plain, steps: 0..<2)
        var moved = RMSprop(learningRate: 0.01, momentum: 0.9)
        moved.core = plain.core
        var rebuilt = RMSprop(learningRate: 0.01, momentum: 0.9)
        rebuilt.state = plain.state
        var movedModel = model, rebuiltModel = model
        try Self.train(&movedModel, &moved, steps: 2..<5)
        try Self.train(&rebuiltModel, &rebuilt, steps: 2..<5)
        #expect(Reuse.bits(movedModel) == Reuse.bits(rebuiltModel))
        #expect(moved.state == rebuilt.state)
        #expect(moved.state.slots.keys.contains { $0.hasSuffix("/momentum") })
    }

    /// An optimizer whose slots exist, given a model with fewer trainable variables (a layer
    /// frozen since) or the same number of other shapes: the typed error, no variable changed.
    @Test func changedModelVariablesAreATypedErrorAndChangeNothing() throws {
        var model = try Reuse.workloads()[0].model
        var adam = Adam()
        try Self.train(&model, &adam, steps: 0..<2)
        let (x, y) = Reuse.batches(features: 1, loss: .binaryCrossentropy)[0]

        var frozen = try model.withLayer(named: "batch_normalization", trainable: false)
        let frozenStep = try frozen.trainingStep(x: x, y: y, loss: .binaryCrossentropy)
        let before = Reuse.bits(frozen)
        #expect(throws: TrainingError.optimizerStateMismatch(
            variable: "dense/kernel", message: "this optimizer was built for another model's variables")) {
            try adam.apply(frozenStep.gradients, to: &frozen)
        }
        #expect(Reuse.bits(frozen) == before)

        var wider = try Sequential(inputFeatures: 1, [
            BatchNormalization(), Dense(units: 8, activation: .sigmoid),
            BatchNormalization(), Dense(units: 2, activation: .sigmoid),
        ], seed: 0)
        let widerStep = try wider.trainingStep(x: x, y: try Tensor(shape: [32, 2], scalars: Array(repeating: 1, count: 64)),
                                               loss: .binaryCrossentropy)
        let widerBefore = Reuse.bits(wider)
        #expect(throws: TrainingError.optimizerStateMismatch(
            variable: "dense_1/kernel", message: "this optimizer was built for another model's variables")) {
            try adam.apply(widerStep.gradients, to: &wider)
        }
        #expect(Reuse.bits(wider) == widerBefore)
        #expect(adam.iterations == 2)
    }
}
