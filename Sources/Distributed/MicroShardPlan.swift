/// How one global batch is cut into a fixed number of micro-shards and how the micro-shards
/// are dealt to the ranks: the layout that makes ``ReductionMode/ordered`` sums independent
/// of the number of ranks.
///
/// Micro-shard `k` holds rows `k·B/M ..< (k+1)·B/M` of the global batch (`B` rows, `M`
/// micro-shards, integer division), so its rows do not depend on the number of ranks. Rank
/// `r` of `R` holds micro-shards `r·M/R ..< (r+1)·M/R`, contiguous, hence a contiguous block
/// of rows. A micro-shard or a rank may hold no rows (a short last batch); it then contributes
/// zeros. Choose `M` as a multiple of every rank count you use (e.g. 8 for 1, 2, 4 and 8 ranks)
/// so that ranks get equal work.
///
/// ```swift
/// import Distributed
///
/// let plan = try MicroShardPlan(globalBatchSize: 64, microShardCount: 8, rankCount: 2)
/// let rowsOfRank1 = plan.rows(ofRank: 1)         // 32..<64
/// let rowsOfShard5 = plan.rows(ofMicroShard: 5)   // 40..<48
/// ```
public struct MicroShardPlan: Equatable, Sendable {
    /// Rows in the global batch.
    public let globalBatchSize: Int
    /// The fixed number of micro-shards the global batch is cut into.
    public let microShardCount: Int
    /// The number of ranks sharing the batch.
    public let rankCount: Int

    /// A plan, or ``DistributedError/invalidPlan(reason:)`` for a negative batch size, fewer
    /// than one micro-shard or rank, or sizes whose products overflow.
    public init(globalBatchSize: Int, microShardCount: Int, rankCount: Int) throws {
        guard globalBatchSize >= 0 else { throw DistributedError.invalidPlan(reason: "global batch size \(globalBatchSize) is negative") }
        guard microShardCount >= 1 else { throw DistributedError.invalidPlan(reason: "micro-shard count \(microShardCount) is below 1") }
        guard rankCount >= 1 else { throw DistributedError.invalidPlan(reason: "rank count \(rankCount) is below 1") }
        guard !globalBatchSize.multipliedReportingOverflow(by: microShardCount).overflow,
              !microShardCount.multipliedReportingOverflow(by: rankCount).overflow else {
            throw DistributedError.invalidPlan(
                reason: "global batch size \(globalBatchSize) x \(microShardCount) micro-shards x \(rankCount) ranks overflows")
        }
        self.globalBatchSize = globalBatchSize
        self.microShardCount = microShardCount
        self.rankCount = rankCount
    }

    /// The rows of the global batch in micro-shard `microShard` (`0..<microShardCount`).
    public func rows(ofMicroShard microShard: Int) -> Range<Int> {
        precondition((0..<microShardCount).contains(microShard), "micro-shard \(microShard) not in 0..<\(microShardCount)")
        return firstRow(ofMicroShard: microShard)..<firstRow(ofMicroShard: microShard + 1)
    }

    /// The micro-shards rank `rank` (`0..<rankCount`) holds, in order.
    public func microShards(ofRank rank: Int) -> Range<Int> {
        precondition((0..<rankCount).contains(rank), "rank \(rank) not in 0..<\(rankCount)")
        return (rank * microShardCount / rankCount)..<((rank + 1) * microShardCount / rankCount)
    }

    /// The rows of the global batch rank `rank` holds: the union of its micro-shards' rows.
    public func rows(ofRank rank: Int) -> Range<Int> {
        let shards = microShards(ofRank: rank)
        return firstRow(ofMicroShard: shards.lowerBound)..<firstRow(ofMicroShard: shards.upperBound)
    }

    private func firstRow(ofMicroShard microShard: Int) -> Int {
        microShard * globalBatchSize / microShardCount
    }
}
