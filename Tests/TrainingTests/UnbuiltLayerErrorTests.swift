import Testing
import Tensors
@testable import Training

/// Normalization and image layers called before any model built them: each is
/// `TrainingError.invalidArgument` naming the layer and saying how to build it, not a crash
/// on a missing shape. (Dense and Reshape were pinned by ModelBuildErrorTests; these layers'
/// own checks had no test.)
@Suite("Normalization and image layers used before they are built name the layer")
struct UnbuiltLayerErrorTests {
    static let notBuilt = "the layer is not built (use it in a Sequential)"
    static let rows = try! Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
    static let images = Tensor<Float>(repeating: 1, shape: [2, 4, 4, 1])

    @Test("BatchNormalization and LayerNormalization on rows, in training and inference")
    func normalization() throws {
        for mode in [ExecutionMode.training, .inference] {
            #expect(throws: TrainingError.invalidArgument(layer: "bn", message: Self.notBuilt)) {
                try BatchNormalization(name: "bn").forward(Self.rows, mode: mode)
            }
            #expect(throws: TrainingError.invalidArgument(layer: "ln", message: Self.notBuilt)) {
                try LayerNormalization(name: "ln").forward(Self.rows, mode: mode)
            }
        }
        let built = try Sequential(inputFeatures: 3, [BatchNormalization(name: "bn"), LayerNormalization(name: "ln")])
        #expect(try built(Self.rows, mode: .inference).shape == [2, 3], "built by a Sequential, they run")
    }

    @Test("a convolution and a pooling layer on images")
    func imageLayers() throws {
        #expect(throws: TrainingError.invalidArgument(layer: "c", message: Self.notBuilt)) {
            try Conv2D(filters: 2, kernelSize: Size2D(3, 3), name: "c").forward(Self.images, mode: .inference)
        }
        #expect(throws: TrainingError.invalidArgument(layer: "p", message: Self.notBuilt)) {
            try MaxPooling2D(name: "p").forward(Self.images, mode: .inference)
        }
        #expect(TrainingError.invalidArgument(layer: "c", message: Self.notBuilt).localizedDescription
                == "layer 'c': the layer is not built (use it in a Sequential)")
    }
}
