import Testing
import Tensors
@testable import Training

/// Layers given example shapes they cannot take, options that make no window, a built layer
/// reused for another input and a layer name the model lacks: each is the `TrainingError`
/// case naming the layer and the shape or value at fault. No test reached these checks before.
@Suite("Layers on shapes they cannot take name the layer and the shape")
struct LayerShapeErrorTests {
    @Test("negative zero-padding and a pooling window of size 0 name the layer and the sizes")
    func windowOptions() throws {
        #expect(throws: TrainingError.invalidArgument(
            layer: "z", message: "padding (top 1, bottom -1, left 0, right 0) must not be negative")) {
            try Sequential(inputShape: [4, 4, 1], [ZeroPadding2D(top: 1, bottom: -1, left: 0, right: 0, name: "z")])
        }
        #expect(throws: TrainingError.invalidArgument(layer: "p", message: "pool size 0x2 and strides 0x2 must be positive")) {
            try Sequential(inputShape: [4, 4, 1], [MaxPooling2D(poolSize: Size2D(0, 2), name: "p")])
        }
        #expect(throws: TrainingError.invalidArgument(layer: "p", message: "pool size 2x2 and strides 1x0 must be positive")) {
            try Sequential(inputShape: [4, 4, 1], [AveragePooling2D(poolSize: Size2D(2, 2), strides: Size2D(1, 0), name: "p")])
        }
        #expect(try Sequential(inputShape: [4, 4, 1], [ZeroPadding2D(top: 1, bottom: 0, left: 0, right: 0, name: "z")]).outputShape
                == [5, 4, 1])
    }

    @Test("normalization layers built for an empty or zero-sized example shape name the layer and the shape")
    func normalizationShapes() throws {
        var batchNorm = BatchNormalization(name: "bn")
        #expect(throws: TrainingError.invalidArgument(layer: "bn", message: "input shape [4, 0, 3] must be positive")) {
            try batchNorm.build(inputShape: [4, 0, 3], seed: 0)
        }
        #expect(throws: TrainingError.shapeMismatch(layer: "ln", expected: [-1, -1], found: [-1])) {
            try LayerNormalization(name: "ln").outputShape(forInput: [])
        }
        #expect(throws: TrainingError.shapeMismatch(layer: "gn", expected: [-1, -1], found: [-1, 4, 0])) {
            try GroupNormalization(groups: 2, name: "gn").outputShape(forInput: [4, 0])
        }
        #expect(TrainingError.shapeMismatch(layer: "gn", expected: [-1, -1], found: [-1, 4, 0]).localizedDescription
                .hasPrefix("layer 'gn': expected shape "))
        var dense = Dense(units: 2, name: "d")
        #expect(throws: TrainingError.invalidArgument(layer: "d", message: "input width must be positive, got 0")) {
            try dense.build(inputShape: [0], seed: 0)
        }
        #expect(try batchNorm.build(inputShape: [4, 4, 3], seed: 0) == [4, 4, 3], "a positive shape still builds")
    }

    @Test("a built layer reused for inputs of another shape names the layer and both shapes")
    func rebuildForAnotherShape() throws {
        let first = try Sequential(inputFeatures: 3, [Dense(units: 2, name: "d")])
        #expect(throws: TrainingError.shapeMismatch(layer: "d", expected: [-1, 3], found: [-1, 4])) {
            try Sequential(inputFeatures: 4, first.layers)
        }
        let normalized = try Sequential(inputFeatures: 3, [LayerNormalization(name: "ln")])
        #expect(throws: TrainingError.shapeMismatch(layer: "ln", expected: [-1, 3], found: [-1, 5])) {
            try Sequential(inputFeatures: 5, normalized.layers)
        }
        #expect(try Sequential(inputFeatures: 3, first.layers).outputFeatures == 2, "the same shape reuses it")
    }

    @Test("freezing a layer the model lacks names it and lists the layers there are")
    func freezeUnknownLayer() throws {
        let model = try Sequential(inputFeatures: 3, [Dense(units: 2, name: "hidden"), Dense(units: 1, name: "out")])
        #expect(throws: TrainingError.unknownVariable(name: "hiden", available: ["hidden", "out"])) {
            try model.withLayer(named: "hiden", trainable: false)
        }
        #expect(TrainingError.unknownVariable(name: "hiden", available: ["hidden", "out"]).localizedDescription
                == "no variable named 'hiden'; the model has hidden, out")
    }
}
