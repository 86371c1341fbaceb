import Foundation
import HDF5
import Testing
import Tensors
@testable import Training

/// One and several SGD steps of a small CNN (Conv2D, NHWC BatchNormalization, ReLU,
/// MaxPooling2D, a valid Conv2D with relu, GlobalAveragePooling2D, softmax Dense) equal the
/// steps Keras's `train_on_batch` took from the same weights (fixtures/conv/conv_layers.h5,
/// group cnn_sgd): every variable, moving statistics included, and the losses.
@Suite struct CNNKerasStepsTests {
    func tensor(_ file: HDF5File, _ path: String) throws -> Tensor<Float> {
        let array = try file.read(path, as: Float.self)
        return try Tensor(shape: array.shape, scalars: array.values)
    }

    @Test func threeSGDStepsMatchKeras() throws {
        let file = try HDF5File.open(at: ConvolutionKerasTests.url)
        var model = try Sequential(inputShape: [8, 8, 1], [
            Conv2D(filters: 4, kernelSize: Size2D(square: 3), padding: .same),
            BatchNormalization(momentum: 0.9), ReLU(), MaxPooling2D(),
            Conv2D(filters: 3, kernelSize: Size2D(square: 2), activation: .relu),
            GlobalAveragePooling2D(), Dense(units: 3, activation: .softmax),
        ])
        let names = model.variables.map(\.name)
        #expect(names.count == 10)
        for (index, name) in names.enumerated() {
            try model.setVariable(name, to: try tensor(file, String(format: "/cnn_sgd/initial/w%03d", index)))
        }
        let x = try tensor(file, "/cnn_sgd/x")
        let labels = try file.read("/cnn_sgd/y", as: Int64.self)
        let y = Tensor<Float>(labels.values.map(Float.init))
        let losses = try tensor(file, "/cnn_sgd/losses").scalars
        var sgd = SGD(learningRate: 0.1)
        for step in 1...3 {
            let result = try model.trainingStep(x: x, y: y, loss: .sparseCategoricalCrossentropy)
            #expect(abs(result.loss - losses[step - 1]) < 1e-5, "step \(step) loss \(result.loss) vs Keras \(losses[step - 1])")
            try model.apply(result.stateUpdate)
            try sgd.apply(result.gradients, to: &model)
            for (index, variable) in model.variables.enumerated() {
                let keras = try tensor(file, String(format: "/cnn_sgd/step_%d/w%03d", step, index))
                let worst = zip(variable.value.scalars, keras.scalars).map { abs($0 - $1) }.max() ?? .infinity
                #expect(variable.value.shape == keras.shape && worst < 1e-5, "step \(step) \(variable.name): \(worst)")
            }
        }
    }
}
