import Testing
import Tensors
@testable import Training

/// Where new optimizer slot buffers start (``SlotPlacement``): each slot of a large variable on
/// a cache line at its own offset modulo 4 KiB, away from the variable's weight and gradient,
/// and nothing but addresses changes (values, restored state and updates are the same bits).
@Suite struct SlotPlacementTests {
    /// The BN-MLP's first kernel (784×256), a bias and the second kernel.
    static let shapes = [[784, 256], [256], [256, 256]]

    @Test func theOffsetChosenIsTheFarthestCacheLineFromEveryStream() {
        #expect(SlotPlacement.bestOffset(avoiding: []) == 0)
        #expect(SlotPlacement.bestOffset(avoiding: [0x7F00_1234_5000]) == 2048)
        #expect(SlotPlacement.bestOffset(avoiding: [0], [2048]) == 1024)
        #expect(SlotPlacement.bestOffset(avoiding: [4096, 1024, 2048 + 4096 * 9]) == 3072)
        // A Swift array's scalars start 16 bytes into a cache line here: the nearest lines are
        // 48 bytes before and 16 after, so the farthest is 2,048 + 64 after the line holding it.
        #expect(SlotPlacement.bestOffset(avoiding: [0x5030]) == 2112)
        #expect(SlotPlacement.circularDistance(4090, 10) == 16)
        #expect(SlotPlacement.circularDistance(0x10030, 0x20000) == 48)
    }

    /// Fails when the slots are allocated back to back: glibc then starts consecutive 784×256
    /// buffers 48 bytes apart modulo 4 KiB (or, for mmap'd buffers, at the same offset).
    @Test func slotsOfLargeVariablesStartOnStaggeredCacheLines() throws {
        FreedMemoryRetention.engage()   // as in training: large buffers come from the heap
        let weights = Self.shapes.map { Tensor<Float>(repeating: 1, shape: $0) }
        let gradients = Self.shapes.map { Tensor<Float>(repeating: 2, shape: $0) }
        let neighbours = zip(weights, gradients).map { [SlotPlacement.address(of: $0), SlotPlacement.address(of: $1)] }
        let slots = try SlotPlacement.buffers(shapes: Self.shapes, initialValues: [0, 0.5, 0], neighbours: neighbours)
        #expect(slots.map(\.count) == [3, 3, 3])
        for (v, variable) in slots.enumerated() {
            for (s, slot) in variable.enumerated() {
                #expect(slot.shape == Self.shapes[v])
                #expect(slot.scalars.allSatisfy { $0 == [0, 0.5, 0][s] })
            }
        }
        for v in [0, 2] {
            var streams = neighbours[v]
            for slot in slots[v] {
                let address = SlotPlacement.address(of: slot)
                #expect(address % SlotPlacement.alignment == 0, "variable \(v)")
                #expect(address % SlotPlacement.period == SlotPlacement.bestOffset(avoiding: streams), "variable \(v)")
                streams.append(address)
            }
            // Five streams, two of them anywhere: greedy offsets stay at least 512 bytes apart
            // but for the two fixed ones' own distance and their alignment (48 bytes).
            for (i, a) in streams.enumerated() {
                for b in streams[(i + 1)...] where !(neighbours[v].contains(a) && neighbours[v].contains(b)) {
                    #expect(SlotPlacement.circularDistance(a, b) >= 512 - 48, "variable \(v)")
                }
            }
        }
    }

    static func adamW(accumulating: Bool = false) -> AdamW {
        var options = OptimizerOptions(learningRate: 0.01)
        options.weightDecay = 0.004
        options.globalClipnorm = 1
        options.useEMA = true
        options.emaMomentum = 0.99
        if accumulating { options.gradientAccumulationSteps = 2 }
        return AdamW(options: options)
    }

    static let names = ["dense/kernel", "dense/bias", "dense_1/kernel"]

    static func gradients(_ step: Int) throws -> [Tensor<Float>] {
        try shapes.enumerated().map { v, shape in
            try Tensor(shape: shape, scalars: FusedAdamTests.values(shape.reduce(1, *), seed: UInt64(10 * step + v),
                                                                  magnitude: 0.05))
        }
    }

    static func initialValues() throws -> [Tensor<Float>] {
        try shapes.enumerated().map { v, shape in
            try Tensor(shape: shape, scalars: FusedAdamTests.values(shape.reduce(1, *), seed: UInt64(v + 50), magnitude: 1))
        }
    }

    /// A resumed optimizer (slots copied into placed buffers) continues exactly as the original.
    @Test func aResumedOptimizerContinuesBitForBit() throws {
        FreedMemoryRetention.engage()
        var values = try Self.initialValues()
        var original = Self.adamW()
        for step in 0..<2 { try original.apply(gradients: try Self.gradients(step), to: &values, names: Self.names) }
        var resumed = Self.adamW()
        resumed.state = original.state
        var resumedValues = values
        for step in 2..<4 {
            try original.apply(gradients: try Self.gradients(step), to: &values, names: Self.names)
            try resumed.apply(gradients: try Self.gradients(step), to: &resumedValues, names: Self.names)
        }
        #expect(values.map { $0.scalars.map(\.bitPattern) } == resumedValues.map { $0.scalars.map(\.bitPattern) })
        let a = original.state.slots, b = resumed.state.slots
        #expect(a.keys.sorted() == b.keys.sorted())
        for (key, tensor) in a { #expect(b[key]?.scalars.map(\.bitPattern) == tensor.scalars.map(\.bitPattern), "\(key)") }
    }

    /// Restored slots are copied into new buffers bit for bit: a signalling NaN with a payload
    /// and −0 survive. (An accumulation micro-step creates the slots without updating them.)
    @Test func restoredSlotsAreCopiedBitForBit() throws {
        FreedMemoryRetention.engage()
        var values = try Self.initialValues()
        var original = Self.adamW(accumulating: true)
        for step in 0..<4 { try original.apply(gradients: try Self.gradients(step), to: &values, names: Self.names) }
        var saved = original.state
        var odd = try #require(saved.slots["dense/kernel/average"]).scalars
        odd[3] = Float(bitPattern: 0x7FA0_1234)
        odd[4] = -0.0
        saved.slots["dense/kernel/average"] = try Tensor(shape: [784, 256], scalars: odd)
        var resumed = Self.adamW(accumulating: true)
        resumed.state = saved
        try resumed.apply(gradients: try Self.gradients(4), to: &values, names: Self.names)
        let restored = try #require(resumed.state.slots["dense/kernel/average"])
        #expect(restored.scalars.map(\.bitPattern) == odd.map(\.bitPattern))
        #expect(SlotPlacement.address(of: restored) != SlotPlacement.address(of: saved.slots["dense/kernel/average"]!))
        for name in ["dense/kernel/momentum", "dense/kernel/velocity", "dense_1/kernel/average"] {
            #expect(resumed.state.slots[name]?.scalars.map(\.bitPattern) == saved.slots[name]?.scalars.map(\.bitPattern), "\(name)")
        }
    }
}
