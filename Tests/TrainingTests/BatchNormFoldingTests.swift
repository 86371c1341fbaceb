import Testing
import Tensors
@testable import Training

/// `Sequential.foldingBatchNormalization()`: folded copies of random models predict what the
/// originals predict in inference mode; BatchNormalizations that cannot be folded are kept;
/// a model using batch statistics is refused.
@Suite struct BatchNormFoldingTests {
    /// Normal inputs `[rows, features]` with per-feature offsets and spreads.
    static func inputs(rows: Int, features: Int, seed: UInt64) throws -> Tensor<Float> {
        var rng = SplitMix64(seed: seed)
        let offsets = (0..<features).map { _ in Float(rng.nextNormal()) }
        let spreads = (0..<features).map { _ in 0.5 + 2 * rng.nextUniformFloat() }
        let values = (0..<(rows * features)).map { Float(rng.nextNormal()) * spreads[$0 % features] + offsets[$0 % features] }
        return try Tensor(shape: [rows, features], scalars: values)
    }

    /// Gives every BatchNormalization realistic moving statistics (those of a batch of `x`
    /// reaching it, through a training pass with momentum 0) and perturbed gamma and beta.
    static func calibrated(_ model: Sequential, on x: Tensor<Float>, seed: UInt64) throws -> Sequential {
        var model = model
        var rng = SplitMix64(seed: seed)
        var h = x
        for index in model.layers.indices {
            let layer = model.layers[index]
            if let normalization = layer as? BatchNormalization {
                let moments = try BatchNormalization(momentum: 0, epsilon: normalization.epsilon, center: false, scale: false,
                                                     name: "probe").builtProbe(h)
                try model.setVariable("\(layer.name)/moving_mean", to: moments.mean)
                try model.setVariable("\(layer.name)/moving_variance", to: moments.variance)
                let width = normalization.movingMean.scalarCount
                if normalization.scale {
                    try model.setVariable("\(layer.name)/gamma", to: Tensor((0..<width).map { _ in 0.5 + rng.nextUniformFloat() }))
                }
                if normalization.center {
                    try model.setVariable("\(layer.name)/beta", to: Tensor((0..<width).map { _ in 0.3 * Float(rng.nextNormal()) }))
                }
            }
            if let dense = layer as? Dense, dense.useBias {
                try model.setVariable("\(layer.name)/bias", to: Tensor((0..<dense.units).map { _ in 0.3 * Float(rng.nextNormal()) }))
            }
            h = try model.layers[index](h, mode: .inference)
        }
        return model
    }

    /// `max |a − b| / max |b|`: the difference relative to the outputs' scale, so that an
    /// output that cancels to nearly zero is not judged by its own size (float32 rounding of
    /// the original model alone moves such values by more than 1e-6 of themselves).
    static func relativeDifference(_ a: Tensor<Float>, _ b: Tensor<Float>) -> Double {
        let scale = b.scalars.map { abs(Double($0)) }.max() ?? 0
        return (zip(a.scalars, b.scalars).map { abs(Double($0) - Double($1)) }.max() ?? .infinity) / scale
    }

    /// The model's inference outputs computed in double precision from its variables, by
    /// loops independent of the layers' code (Dense, BatchNormalization and ReLU only).
    static func exactInference(_ model: Sequential, _ x: Tensor<Float>) throws -> Tensor<Float> {
        let rows = x.shape[0]
        var h = x.scalars.map(Double.init), width = x.shape[1]
        for layer in model.layers {
            if let dense = layer as? Dense {
                let kernel = dense.kernel.scalars.map(Double.init), units = dense.units
                let bias = dense.useBias ? dense.bias.scalars.map(Double.init) : [Double](repeating: 0, count: units)
                var out = [Double](repeating: 0, count: rows * units)
                for row in 0..<rows {
                    for j in 0..<units {
                        var sum = bias[j]
                        for i in 0..<width { sum += h[row * width + i] * kernel[i * units + j] }
                        out[row * units + j] = sum
                    }
                }
                (h, width) = (out, units)
            } else if let normalization = layer as? BatchNormalization {
                let mean = normalization.movingMean.scalars, variance = normalization.movingVariance.scalars
                let gamma = normalization.scale ? normalization.gamma.scalars : nil
                let beta = normalization.center ? normalization.beta.scalars : nil
                for i in h.indices {
                    let j = i % width
                    h[i] = (h[i] - Double(mean[j])) / (Double(variance[j]) + normalization.epsilon).squareRoot()
                        * Double(gamma?[j] ?? 1) + Double(beta?[j] ?? 0)
                }
            } else {
                #expect(layer.typeName == "ActivationLayer")
                h = h.map { max($0, 0) }
            }
        }
        return try Tensor(shape: [rows, width], scalars: h.map { Float($0) })
    }

    static func randomArchitecture(seed: UInt64) -> (features: Int, layers: [any Layer]) {
        var rng = SplitMix64(seed: seed)
        let features = 3 + rng.nextIndex(below: 30)
        func width() -> Int { 2 + rng.nextIndex(below: 40) }
        func normalization() -> BatchNormalization {
            BatchNormalization(epsilon: [1e-3, 1e-5][rng.nextIndex(below: 2)], center: rng.nextIndex(below: 3) != 0,
                               scale: rng.nextIndex(below: 3) != 0)
        }
        return (features, [
            Dense(units: width()), normalization(), ActivationLayer(.relu),
            Dense(units: width(), useBias: false), normalization(), normalization(), ActivationLayer(.tanh),
            Dense(units: width(), activation: .relu), normalization(),
            Dense(units: 4, activation: .softmax),
        ])
    }

    @Test(arguments: 0..<8)
    func aFoldedRandomModelPredictsWhatTheOriginalPredicts(seed: UInt64) throws {
        let (features, layers) = Self.randomArchitecture(seed: seed)
        let x = try Self.inputs(rows: 64, features: features, seed: seed + 100)
        let model = try Self.calibrated(try Sequential(inputFeatures: features, layers, seed: seed), on: x, seed: seed)
        let folded = try model.foldingBatchNormalization()
        #expect(folded.layers.map(\.typeName) == [
            "Dense", "ActivationLayer", "Dense", "ActivationLayer", "Dense", "BatchNormalization", "Dense",
        ])
        #expect(folded.layers.map(\.name) == [
            "dense", "activation", "dense_1", "activation_1", "dense_2", "batch_normalization_3", "dense_3",
        ])
        #expect((folded.layers[2] as? Dense)?.useBias == true)
        let original = try model(x, mode: .inference)
        let foldedOutput = try folded(x, mode: .inference)
        let difference = Self.relativeDifference(foldedOutput, original)
        #expect(difference <= 1e-6)
        // Hidden values, before the softmax flattens differences: the first block alone.
        let firstBlock = try Sequential(inputFeatures: features, Array(model.layers.prefix(2)))
        let hidden = try firstBlock(x, mode: .inference)
        let hiddenDifference = Self.relativeDifference(try folded.layers[0](x, mode: .inference), hidden)
        #expect(hiddenDifference <= 1e-6)
        #expect(hidden.scalars.map { abs($0) }.max()! > 0.5)
    }

    @Test func theBNMLPFoldsEveryNormalizationAndKeepsItsOutputs() throws {
        let x = try Self.inputs(rows: 128, features: 784, seed: 5)
        let model = try Self.calibrated(try Sequential(inputFeatures: 784, [
            Dense(units: 256), BatchNormalization(), ActivationLayer(.relu),
            Dense(units: 256), BatchNormalization(), ActivationLayer(.relu),
            Dense(units: 10),
        ], seed: 7), on: x, seed: 8)
        let folded = try model.foldingBatchNormalization()
        #expect(folded.layers.map(\.typeName) == ["Dense", "ActivationLayer", "Dense", "ActivationLayer", "Dense"])
        #expect(folded.parameterCounts.total == 784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10)
        let original = try model(x, mode: .inference), foldedOutput = try folded(x, mode: .inference)
        let difference = Self.relativeDifference(foldedOutput, original)
        #expect(difference <= 1e-6)
        // Folding costs no accuracy: both are as close to the exact outputs.
        let exact = try Self.exactInference(model, x)
        let originalError = Self.relativeDifference(original, exact), foldedError = Self.relativeDifference(foldedOutput, exact)
        #expect(originalError <= 1e-6 && foldedError <= 1e-6)
        #expect(folded.inputShape == model.inputShape && folded.outputShape == model.outputShape)
    }

    @Test(arguments: [(true, false), (false, true), (false, false)])
    func normalizationsWithoutCenterOrScaleFold(center: Bool, scale: Bool) throws {
        let x = try Self.inputs(rows: 32, features: 12, seed: 11)
        let model = try Self.calibrated(try Sequential(inputFeatures: 12, [
            Dense(units: 9, useBias: false), BatchNormalization(epsilon: 1e-5, center: center, scale: scale),
            ActivationLayer(.relu), Dense(units: 3),
        ], seed: 4), on: x, seed: 12)
        let folded = try model.foldingBatchNormalization()
        #expect(folded.layers.map(\.typeName) == ["Dense", "ActivationLayer", "Dense"])
        let exact = try Self.exactInference(model, x)
        let foldedError = Self.relativeDifference(try folded(x, mode: .inference), exact)
        #expect(foldedError <= 1e-6)
    }

    @Test func normalizationsThatDoNotFollowALinearDenseAreKept() throws {
        let model = try Sequential(inputFeatures: 3, [
            BatchNormalization(), Dense(units: 4, activation: .sigmoid), BatchNormalization(),
            ActivationLayer(.relu), BatchNormalization(), Dense(units: 2),
        ])
        let folded = try model.foldingBatchNormalization()
        #expect(folded.layers.map(\.name) == model.layers.map(\.name))
        #expect(folded.variables == model.variables)
    }

    static let batchStatisticsMessage = "normalizes with batch statistics (BatchNormStatistics.batch), which cannot be "
        + "folded into a Dense; fold a model using its moving statistics (withBatchNormStatistics(.followMode))"

    @Test func aModelUsingBatchStatisticsIsRefusedNamingTheLayer() throws {
        let model = try Sequential(inputFeatures: 3, [
            Dense(units: 4), BatchNormalization(), Dense(units: 4, activation: .relu), BatchNormalization(name: "late"),
        ])
        do {
            _ = try model.withBatchNormStatistics(.batch).foldingBatchNormalization()
            Issue.record("a model using batch statistics was folded")
        } catch let TrainingError.invalidArgument(layer, message) {
            #expect(layer == "batch_normalization")
            #expect(message.contains("batch statistics"))
        }
        var onlyLate = model
        try onlyLate.updateLayer(named: "late", as: BatchNormalization.self) { $0.statistics = .batch }
        #expect(throws: TrainingError.invalidArgument(layer: "late", message: Self.batchStatisticsMessage)) {
            try onlyLate.foldingBatchNormalization()
        }
        for statistics in [BatchNormStatistics.moving, .followMode] {
            #expect(try model.withBatchNormStatistics(statistics).foldingBatchNormalization().layers.count == 3)
        }
    }
}

extension BatchNormalization {
    /// The batch mean and biased variance of `x` as this layer computes them in training mode.
    fileprivate func builtProbe(_ x: Tensor<Float>) throws -> (mean: Tensor<Float>, variance: Tensor<Float>) {
        var probe = self
        _ = try probe.build(inputShape: Array(x.shape.dropFirst()), seed: 0)
        let update = try probe.forward(x, mode: .training).stateUpdate
        return (update.variables["moving_mean"]!, update.variables["moving_variance"]!)
    }
}
