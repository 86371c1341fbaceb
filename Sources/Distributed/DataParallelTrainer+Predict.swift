import Foundation
import Datasets
import Tensors
import Training

extension DataParallelTrainer {
    /// The model's inference-mode outputs for every row of pass `epoch` of `data`, in row order,
    /// on every rank: for each global batch every rank computes the outputs of its own rows (one
    /// forward pass per micro-shard, so each row's output does not depend on the rank count) and
    /// the ranks' blocks are all-gathered, which in rank order is row order. If a rank cannot
    /// read its rows, every rank throws (``DataParallelError``) instead of waiting.
    /// - Returns: `[rows] + model.outputShape`.
    public func predict<Data: RandomAccessDataset>(
        _ data: Data, epoch: Int = 0
    ) throws -> Tensor<Float> where Data.Element == (Tensor<Float>, Tensor<Float>) {
        try Self.checkRows(data)
        guard epoch >= 0 else { throw DataParallelError.invalidArgument(argument: "epoch", reason: "must be >= 0, got \(epoch)") }
        let rank = communicator.rank, outputs = model.outputFeatures
        var predictions: [Float] = []
        predictions.reserveCapacity(data.count * outputs)
        for step in 0..<stepsPerEpoch(rowCount: data.count) {
            let firstRow = step * globalBatchSize
            let plan = try MicroShardPlan(globalBatchSize: min(globalBatchSize, data.count - firstRow),
                                          microShardCount: microShardCount, rankCount: communicator.size)
            // Each rank's block starts with its status: 0, or 1 when it failed and sends nothing else.
            var block: [Float] = [0]
            var localFailure: DataParallelError?
            do {
                let localRows = plan.rows(ofRank: rank)
                if !localRows.isEmpty {
                    let (x, _) = try Self.read(data, rows: (firstRow + localRows.lowerBound)..<(firstRow + localRows.upperBound),
                                               epoch: UInt64(epoch))
                    for shard in plan.microShards(ofRank: rank) {
                        let rows = plan.rows(ofMicroShard: shard)
                        guard !rows.isEmpty else { continue }
                        let local = (rows.lowerBound - localRows.lowerBound)..<(rows.upperBound - localRows.lowerBound)
                        block += try model(x.rows(local), mode: .inference).scalars
                    }
                }
            } catch {
                let message = (error as? any LocalizedError)?.errorDescription ?? "\(error)"
                localFailure = .rankFailed(rank: rank, epoch: epoch, step: step, message: message)
                block = [1]
            }
            let blocks = try communicator.allGather(block)
            if let localFailure { throw localFailure }
            if let failed = blocks.firstIndex(where: { $0.first != 0 }) {
                throw DataParallelError.otherRankFailed(
                    rank: rank, epoch: epoch, step: step,
                    underlying: .invalidPlan(reason: "rank \(failed) could not compute its predictions"))
            }
            for part in blocks { predictions += part.dropFirst() }
        }
        return try Tensor(shape: [data.count] + model.outputShape, scalars: predictions)
    }
}
