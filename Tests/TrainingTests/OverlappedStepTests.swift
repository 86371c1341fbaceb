import Testing
@testable import Tensors
@testable import Training

/// The BN MLP's step with the optimizer's update of the upper layers overlapped with the lower
/// layers' backward pass (Sequential+OverlappedStep.swift) ends, step after step, bit for bit
/// where the ordinary step (every gradient first, then the update) ends: weights, moving
/// statistics, optimizer slots and step count; and it is taken.
@Suite(.serialized) struct OverlappedStepTests {
    static func model() throws -> Sequential {
        try Sequential(inputFeatures: 784, [
            Dense(units: 256), BatchNormalization(), ActivationLayer(.relu),
            Dense(units: 256), BatchNormalization(), ActivationLayer(.relu),
            Dense(units: 10, activation: .softmax),
        ], seed: 3)
    }

    static func batches(_ count: Int) throws -> [(x: Tensor<Float>, y: Tensor<Float>)] {
        var rng = SplitMix64(seed: 4)
        return try (0..<count).map { _ in
            (try Tensor<Float>(shape: [128, 784], scalars: (0..<(128 * 784)).map { _ in Float(rng.nextNormal()) }),
             Tensor<Float>((0..<128).map { _ in Float(rng.nextIndex(below: 10)) }))
        }
    }

    /// Where a training run ends: every variable's bits by name (moving statistics included),
    /// the optimizer's slots' bits by name, its step count, and how many steps were overlapped.
    struct End: Equatable {
        var variables: [String: [UInt32]] = [:]
        var slots: [String: [UInt32]] = [:]
        var iterations: Int64 = 0
        var overlapped = 0

        static func == (a: End, b: End) -> Bool {
            a.variables == b.variables && a.slots == b.slots && a.iterations == b.iterations
        }
    }

    /// `steps` steps of `optimizer` on the BN MLP; `overlapped` false takes the ordinary step.
    /// The overlapped schedule is asked for directly, so a step it declines is seen here.
    static func train<O: KerasOptimizer>(_ optimizer: O, steps: Int, overlapped: Bool) throws -> End {
        var model = try model()
        var optimizer = optimizer
        var spare: Gradients?
        var end = End()
        for batch in try batches(steps) {
            if overlapped {
                var core = OptimizerCore()
                swap(&core, &optimizer.core)
                let step = try model.overlappedTrainingStep(x: batch.x, y: batch.y, loss: .sparseCategoricalCrossentropy,
                                                            optimizer: optimizer, core: &core, reusing: &spare)
                swap(&core, &optimizer.core)
                if let step {
                    try model.apply(step.stateUpdate)
                    spare = step.gradients
                    end.overlapped += 1
                    continue
                }
            }
            let step = try model.trainingStep(x: batch.x, y: batch.y, loss: .sparseCategoricalCrossentropy,
                                              reusing: spare.take())
            try model.apply(step.stateUpdate)
            try optimizer.apply(step.gradients, to: &model)
            spare = step.gradients
        }
        for v in model.variables { end.variables[v.name] = v.value.scalars.map(\.bitPattern) }
        for (name, value) in optimizer.state.slots { end.slots[name] = value.scalars.map(\.bitPattern) }
        end.iterations = optimizer.iterations
        return end
    }

    /// Runs `body` as the only part of a job on the product workers, so that every job inside
    /// it finds the workers taken and runs its parts one after the other on one thread. (The
    /// part may run on a worker, which does not see the task's forced parts: set again.)
    static func onePartAtATime<R>(_ body: () throws -> R) throws -> R {
        var result: Result<R, any Error>?
        let parts = BLASThreads.forcedParts
        ProductWorkers.forEachPart(2) { part in
            if part == 0 { result = Result { try BLASThreads.$forcedParts.withValue(parts) { try body() } } }
        }
        return try result!.get()
    }

    @Test func theOverlappedStepHasTheOrdinaryStepsBits() throws {
        let steps = 4
        let ordinary = try BLASThreads.onOneThread { try Self.train(Adam(), steps: steps, overlapped: false) }
        let twoThreads = try BLASThreads.$forcedParts.withValue(2) { try Self.train(Adam(), steps: steps, overlapped: true) }
        let oneThread = try BLASThreads.$forcedParts.withValue(2) {
            try Self.onePartAtATime { try Self.train(Adam(), steps: steps, overlapped: true) }
        }
        // The first step lays out the slots (the ordinary update does); every later one overlaps.
        #expect(twoThreads.overlapped == steps - 1)
        #expect(oneThread.overlapped == steps - 1)
        #expect(ordinary.variables.count == 14 && ordinary.slots.count == 20 && ordinary.iterations == Int64(steps))
        for (name, bits) in ordinary.variables {
            #expect(twoThreads.variables[name] == bits, "\(name), two threads")
            #expect(oneThread.variables[name] == bits, "\(name), one thread")
        }
        for (name, bits) in ordinary.slots {
            #expect(twoThreads.slots[name] == bits, "slot \(name), two threads")
            #expect(oneThread.slots[name] == bits, "slot \(name), one thread")
        }
        #expect(twoThreads == ordinary && oneThread == ordinary)
    }

    @Test func decayAndTheAverageOverlapWithTheSameBits() throws {
        var options = OptimizerOptions(learningRate: 1e-3)
        options.useEMA = true
        options.emaOverwriteFrequency = 2
        let adamW = AdamW(options: options)
        let ordinary = try BLASThreads.onOneThread { try Self.train(adamW, steps: 3, overlapped: false) }
        let overlapped = try BLASThreads.$forcedParts.withValue(2) { try Self.train(adamW, steps: 3, overlapped: true) }
        #expect(overlapped.overlapped == 2)
        #expect(overlapped == ordinary)
    }

    /// Options that need every gradient before any update keep the ordinary step.
    @Test func clippingAndAccumulationKeepTheOrdinaryStep() throws {
        var clipped = OptimizerOptions(learningRate: 1e-3)
        clipped.globalClipnorm = 1
        var accumulating = OptimizerOptions(learningRate: 1e-3)
        accumulating.gradientAccumulationSteps = 2
        var perVariable = OptimizerOptions(learningRate: 1e-3)
        perVariable.clipnorm = 1
        for options in [clipped, accumulating, perVariable] {
            let end = try BLASThreads.$forcedParts.withValue(2) { try Self.train(Adam(options: options), steps: 2, overlapped: true) }
            #expect(end.overlapped == 0)
        }
    }

    /// Through the public entry point (what `Trainer.fit` calls), against the ordinary calls.
    @Test func theOptimizersTrainingStepIsTheOrdinaryStep() throws {
        func run(_ overlaps: Bool) throws -> [String: [UInt32]] {
            try Sequential.$overlapsOptimizer.withValue(overlaps) {
                try BLASThreads.$forcedParts.withValue(2) {
                    var model = try Self.model()
                    var optimizer: any Optimizer = Adam()
                    var spare: Gradients?
                    for batch in try Self.batches(3) {
                        let step = try optimizer.trainingStep(&model, x: batch.x, y: batch.y, loss: .sparseCategoricalCrossentropy,
                                                              reusing: spare.take())
                        spare = step.gradients
                    }
                    return Dictionary(uniqueKeysWithValues: model.variables.map { ($0.name, $0.value.scalars.map(\.bitPattern)) })
                }
            }
        }
        let before = Sequential.overlappedSteps
        let overlapped = try run(true)
        #expect(Sequential.overlappedSteps - before >= 2)
        #expect(try run(false) == overlapped)
    }
}
