import Foundation
import Testing
import HDF5
import Tensors
import Training
@testable import Checkpoints
import CheckpointsTestSupport

/// Every optimizer config of fixtures/optimizers/optimizers.h5 (made by Keras 3.15.1 with
/// make_optimizer_fixtures.py), rebuilt from its Keras JSON and run on the same gradients,
/// follows Keras's trajectory and ends with Keras's optimizer variables, in Keras's order.
@Suite struct OptimizerFixtureTests {
    static let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/optimizers/optimizers.h5")
    static let names = ["v0", "v1"]

    static func withFixture<T>(_ body: (HDF5File) throws -> T) throws -> T {
        let file = try HDF5File.open(at: url, mode: .readOnly)
        defer { try? file.close() }
        return try body(file)
    }

    static func tensor(_ file: HDF5File, _ path: String) throws -> Tensor<Float> {
        let array = try file.read(path, as: Float.self)
        return try Tensor(shape: array.shape, scalars: array.values)
    }

    static var configNames: [String] {
        (try? withFixture { file in try file.children(of: "/optimizers").map(\.name) }) ?? []
    }

    /// Within 1e-6 of Keras relative to the value's magnitude (absolute below magnitude 1).
    static func close(_ ours: Tensor<Float>, _ keras: Tensor<Float>) -> Bool {
        ours.shape == keras.shape && zip(ours.scalars, keras.scalars).allSatisfy { a, b in
            abs(a - b) <= 1e-6 * max(abs(b), 1)
        }
    }

    @Test("the fixture holds every optimizer config the script writes")
    func fixtureIsComplete() {
        #expect(Self.configNames.count == 25)
    }

    @Test("trajectory and final optimizer variables equal Keras's", arguments: configNames)
    func followsKeras(name: String) throws {
        try Self.withFixture { file in
            let group = "/optimizers/\(name)"
            let config = try OptimizerConfig(kerasJSON: try file.readAttribute("keras_config", of: group, as: String.self),
                                             file: name)
            var optimizer = config.prototype
            var values = try Self.names.map { try Self.tensor(file, "/initial/\($0)") }
            let gradients = try Self.names.map { try Self.tensor(file, "/gradients/\($0)") }
            let trajectories = try Self.names.map { try Self.tensor(file, "\(group)/trajectory/\($0)") }
            let steps = gradients[0].shape[0]
            for step in 0..<steps {
                let stepGradients = try gradients.map { try $0.slice(row: step) }
                try optimizer.apply(gradients: stepGradients, to: &values, names: Self.names)
                for (index, trajectory) in trajectories.enumerated() {
                    let expected = try trajectory.slice(row: step)
                    #expect(Self.close(values[index], expected), "\(name) step \(step) \(Self.names[index]): \(values[index].scalars) vs \(expected.scalars)")
                }
            }
            // Keras's variables: iteration, the learning rate unless scheduled, then the state in Keras's order.
            let stored = try file.children(of: "\(group)/variables").map(\.name).sorted()
            let order = optimizer.kerasVariableOrder(for: Self.names)
            let fixed = stored.count - order.count
            #expect(fixed == (config.learningRate == .constant(optimizer.learningRate) ? 2 : 1) || fixed == 1 || fixed == 2)
            let iterations = try file.read("\(group)/variables/\(stored[0])", as: Int64.self).values[0]
            #expect(optimizer.iterations == iterations)
            let state = optimizer.state
            for (offset, key) in order.enumerated() {
                let keras = try Self.tensor(file, "\(group)/variables/\(stored[fixed + offset])")
                let ours = try #require(state.slots[key], "\(name): no state \(key)")
                #expect(Self.close(ours, keras) || (ours.scalarCount == 1 && Self.close(Tensor(ours.scalars), Tensor(keras.scalars))),
                        "\(name) \(key): \(ours.scalars) vs \(keras.scalars)")
            }
        }
    }

    @Test("every schedule equals Keras's value at every step, and its config round-trips", arguments: scheduleNames)
    func scheduleFollowsKeras(name: String) throws {
        try Self.withFixture { file in
            let path = "/schedules/\(name)"
            let text = try file.readAttribute("keras_config", of: path, as: String.self)
            let expected = try file.read(path, as: Float.self).values
            let json = try KerasJSON.parse("{\"learning_rate\": \(text)}", file: name)
            guard case .schedule(let schedule) = try KerasOptimizerCodec.learningRate(from: json) else {
                Issue.record("\(name) did not decode to a schedule")
                return
            }
            for (step, value) in expected.enumerated() {
                let ours = schedule.learningRate(atStep: Int64(step))
                #expect(abs(ours - value) <= 1e-6 * max(abs(value), 1e-3), "\(name) step \(step): \(ours) vs \(value)")
            }
            let written = try JSONText.serialize(KerasOptimizerCodec.scheduleObject(schedule))
            let again = try KerasOptimizerCodec.learningRate(from: try KerasJSON.parse("{\"learning_rate\": \(written)}", file: name))
            #expect(again == .schedule(schedule))
        }
    }

    static var scheduleNames: [String] {
        (try? withFixture { file in try file.children(of: "/schedules").map(\.name) }) ?? []
    }
}

extension Tensor where Scalar == Float {
    /// Row `row` of the first axis.
    fileprivate func slice(row: Int) throws -> Tensor<Float> {
        let inner = Array(shape.dropFirst())
        let count = inner.reduce(1, *)
        return try Tensor(shape: inner, scalars: Array(scalars[(row * count)..<((row + 1) * count)]))
    }
}
