import Testing
@testable import Training
import Tensors

/// Layers report what each variable is for; freezing a layer turns its trainable variables
/// non-trainable but leaves moving statistics what they are.
@Suite struct VariableRoleTests {
    @Test func layersReportTheRoleOfEachVariable() throws {
        let model = try seedModel()
        let roles = Dictionary(uniqueKeysWithValues: model.variables.map { ($0.name, $0.role) })
        #expect(roles["batch_normalization/gamma"] == .trainable)
        #expect(roles["batch_normalization/beta"] == .trainable)
        #expect(roles["batch_normalization/moving_mean"] == .movingStatistic)
        #expect(roles["batch_normalization/moving_variance"] == .movingStatistic)
        #expect(roles["dense/kernel"] == .trainable && roles["dense/bias"] == .trainable)
    }

    @Test func freezingMakesWeightsNonTrainableAndKeepsMovingStatistics() throws {
        let frozen = try seedModel().withLayer(named: "batch_normalization", trainable: false)
            .withLayer(named: "dense", trainable: false)
        let roles = Dictionary(uniqueKeysWithValues: frozen.variables.map { ($0.name, $0.role) })
        #expect(roles["batch_normalization/gamma"] == .nonTrainable)
        #expect(roles["batch_normalization/moving_mean"] == .movingStatistic)
        #expect(roles["dense/kernel"] == .nonTrainable)
        #expect(roles["dense_1/kernel"] == .trainable)
        #expect(frozen.trainableVariableNames == ["batch_normalization_1/gamma", "batch_normalization_1/beta",
                                                   "dense_1/kernel", "dense_1/bias"])
    }

    @Test func isTrainableIsTheRoleSeenFromAnOptimizer() {
        var statistic = NamedVariable(name: "moving_mean", value: Tensor(zeros: [2]), role: .movingStatistic)
        #expect(!statistic.isTrainable)
        statistic.isTrainable = false
        #expect(statistic.role == .movingStatistic)
        statistic.isTrainable = true
        #expect(statistic.role == .trainable)
        statistic.isTrainable = false
        #expect(statistic.role == .nonTrainable)
        #expect(NamedVariable(name: "kernel", value: Tensor(zeros: [2]), isTrainable: true).role == .trainable)
    }
}
