import Datasets
import Distributed
import Tensors
import Training

/// The `evaluate-window` check: the `train` check's MLP (4 -> 8 relu -> 3 softmax, SGD(0.1)),
/// ordered mode, trained one epoch on 32 rows in global steps of 16 over 4 micro-shards
/// (`--transport`, default `shared-memory`), then `evaluate`d (loss and accuracy) on 21 further
/// rows: global batches of 16 and 5, the 5 a row count training never used. Reports `windows`,
/// the row counts whose reducer holds a shared-memory window (sorted), `evaluation` (bits) and
/// `reference-evaluation`, the same from a trainer with the default transport trained alike;
/// `windows-evaluated-first` and `evaluation-evaluated-first` from a trainer that also evaluates
/// before training (its reducer for 16 rows, made without a window, opens one for the gradients).
enum EvaluationWindowCheck {
    static func run(_ options: Options, world: Communicator, report: Report) throws {
        guard let transport = ReductionTransport(rawValue: options.values["transport"] ?? "shared-memory") else {
            fail("unknown --transport")
        }
        let (trainRows, evaluationRows) = (32, 21)
        let table = try DataParallelCheck.inputs(rows: trainRows + evaluationRows)
        let labels = DataParallelCheck.labels(rows: trainRows + evaluationRows)
        let training = try Slices(try table.rows(0..<trainRows), try labels.rows(0..<trainRows))
        let evaluation = try Slices(try table.rows(trainRows..<(trainRows + evaluationRows)),
                                    try labels.rows(trainRows..<(trainRows + evaluationRows)))
        func trainedEvaluation(_ transport: ReductionTransport, evaluatingFirst: Bool = false) throws -> (values: [Double], windows: Set<Int>) {
            let model = try Sequential(inputFeatures: DataParallelCheck.features,
                                       [Dense(units: 8, activation: .relu), Dense(units: DataParallelCheck.classes, activation: .softmax)],
                                       seed: 5)
            var trainer = try DataParallelTrainer(model: model, optimizer: SGD(learningRate: 0.1), loss: .sparseCategoricalCrossentropy,
                                                  communicator: world, globalBatchSize: 16, microShardCount: 4, mode: .ordered,
                                                  transport: transport)
            if evaluatingFirst { _ = try trainer.evaluate(evaluation) }
            try trainer.fit(training, epochs: 1, metrics: [])
            let logs = try trainer.evaluate(evaluation, metrics: [SparseCategoricalAccuracy()])
            return ([logs["loss"] ?? .nan, logs["accuracy"] ?? .nan], trainer.rowCountsWithSharedMemoryWindow)
        }
        let (values, windows) = try trainedEvaluation(transport)
        report.add("windows", windows.sorted().map(String.init))
        report.bits("evaluation", values)
        report.bits("reference-evaluation", try trainedEvaluation(.automatic).values)
        let evaluatedFirst = try trainedEvaluation(transport, evaluatingFirst: true)
        report.add("windows-evaluated-first", evaluatedFirst.windows.sorted().map(String.init))
        report.bits("evaluation-evaluated-first", evaluatedFirst.values)
    }
}
