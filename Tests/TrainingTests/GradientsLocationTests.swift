import Testing
import Tensors
@testable import Training

/// `Gradients.location(of:)`, `setValue(_:at:)` and `updateValue(at:_:)`, with which the
/// data-parallel trainer writes each step's reduced gradients into a value laid out once: the
/// result equals `Gradients(named:)` of the same values, across layers with one and two
/// gradients and names longer than a small string.
@Suite struct GradientsLocationTests {
    static let names = ["dense/kernel", "dense/bias", "batch_normalization_long_name/gamma",
                        "batch_normalization_long_name/beta", "dense_1/kernel"]

    static func named(_ values: [[Float]]) -> [NamedVariable] {
        zip(names, values).map { NamedVariable(name: $0, value: Tensor($1), isTrainable: true) }
    }

    @Test func writingByLocationGivesTheValueGradientsNamedBuilds() throws {
        let first: [[Float]] = [[1, 2], [3], [4, 5], [6, 7], [8]]
        let second: [[Float]] = [[-1, -2], [-3], [-4, -5], [-6, -7], [-8]]
        var laidOut = Gradients(named: Self.named(first))
        let locations = try Self.names.map { try #require(laidOut.location(of: $0)) }
        #expect(locations.map(\.layer) == [0, 0, 1, 1, 2])
        #expect(locations.map(\.position) == [0, 1, 0, 1, 0])
        let kept = laidOut
        // Each gradient replaced, and each written in place, in a copy each.
        var replaced = laidOut, written = laidOut
        for (index, location) in locations.enumerated() {
            replaced.setValue(Tensor(second[index]), at: location)
            written.updateValue(at: location) { value in
                value.withUnsafeMutableBufferPointer { buffer in
                    for offset in buffer.indices { buffer[offset] = second[index][offset] }
                }
            }
        }
        #expect(replaced == Gradients(named: Self.named(second)))
        #expect(written == Gradients(named: Self.named(second)))
        // Written in place only where nothing else held the storage: the first value is unchanged.
        #expect(kept == Gradients(named: Self.named(first)))
        #expect(laidOut == Gradients(named: Self.named(first)))
        #expect(laidOut.location(of: "dense/gamma") == nil)
        #expect(laidOut.location(of: "no_layer/kernel") == nil)
        #expect(laidOut.location(of: "kernel") == nil)
    }
}
