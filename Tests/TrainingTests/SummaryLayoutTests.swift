import Testing
@testable import Training

@Suite struct SummaryLayoutTests {
    @Test func everyTableLineHasTheSameWidthEvenWithLongLayerNames() throws {
        let model = try Sequential(inputFeatures: 1, [
            BatchNormalization(), Dense(units: 8, activation: .sigmoid),
            BatchNormalization(), Dense(units: 1, activation: .sigmoid),
        ], seed: 1)
        let table = model.summary().split(separator: "\n").filter { ["┏", "┃", "┡", "│", "├", "└"].contains(String($0.prefix(1))) }
        #expect(table.count == 2 + 2 + 4 + 3)
        #expect(Set(table.map(\.count)).count == 1, "ragged lines:\n\(table.joined(separator: "\n"))")
        #expect(table.contains { $0.contains("batch_normalization_1 (BatchNormalization)") })
    }
}
