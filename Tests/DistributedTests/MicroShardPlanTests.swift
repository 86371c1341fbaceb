import Distributed
import Testing

@Suite struct MicroShardPlanTests {
    /// For every rank count, the ranks' rows tile the global batch in order, each rank's rows
    /// are exactly its micro-shards' rows, and a micro-shard's rows do not depend on the rank count.
    @Test(arguments: [0, 1, 7, 64, 65, 1000])
    func ranksTileTheGlobalBatchAndMicroShardsDoNotMove(globalBatchSize: Int) throws {
        for microShards in [1, 3, 8, 16] {
            let reference = try MicroShardPlan(globalBatchSize: globalBatchSize, microShardCount: microShards, rankCount: 1)
            for ranks in 1...5 {
                let plan = try MicroShardPlan(globalBatchSize: globalBatchSize, microShardCount: microShards, rankCount: ranks)
                var nextRow = 0, nextShard = 0
                for rank in 0..<ranks {
                    let rows = plan.rows(ofRank: rank), shards = plan.microShards(ofRank: rank)
                    #expect(rows.lowerBound == nextRow && shards.lowerBound == nextShard)
                    nextRow = rows.upperBound
                    nextShard = shards.upperBound
                    let shardRows = shards.flatMap { Array(plan.rows(ofMicroShard: $0)) }
                    #expect(shardRows == Array(rows))
                }
                #expect(nextRow == globalBatchSize && nextShard == microShards)
                for shard in 0..<microShards { #expect(plan.rows(ofMicroShard: shard) == reference.rows(ofMicroShard: shard)) }
            }
        }
    }

    @Test func twoRanksOfSixtyFourRowsGetThirtyTwoEach() throws {
        let plan = try MicroShardPlan(globalBatchSize: 64, microShardCount: 8, rankCount: 2)
        #expect(plan.rows(ofRank: 0) == 0..<32 && plan.rows(ofRank: 1) == 32..<64)
        #expect(plan.microShards(ofRank: 1) == 4..<8 && plan.rows(ofMicroShard: 5) == 40..<48)
    }

    @Test func invalidPlansThrow() {
        #expect(throws: DistributedError.invalidPlan(reason: "global batch size -1 is negative")) {
            try MicroShardPlan(globalBatchSize: -1, microShardCount: 8, rankCount: 2)
        }
        #expect(throws: DistributedError.invalidPlan(reason: "micro-shard count 0 is below 1")) {
            try MicroShardPlan(globalBatchSize: 8, microShardCount: 0, rankCount: 2)
        }
        #expect(throws: DistributedError.invalidPlan(reason: "rank count 0 is below 1")) {
            try MicroShardPlan(globalBatchSize: 8, microShardCount: 8, rankCount: 0)
        }
        #expect(throws: DistributedError.self) {
            try MicroShardPlan(globalBatchSize: Int.max / 2, microShardCount: 8, rankCount: 1)
        }
    }
}
