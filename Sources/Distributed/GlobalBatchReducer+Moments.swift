import Training

extension GlobalBatchReducer {
    /// The global batch's per-column mean and centred sums `Σ(x − mean)²` in **one** collective:
    /// each rank merges its segments' moments (`SegmentMoments.merged(_:width:)`), every rank
    /// all-gathers every rank's row count, centre, residual and centred sums and status, and
    /// every rank merges the ranks' moments in rank order, so every rank gets the same bits.
    /// Chan's merge adds differences of means, never differences of squares, so it is as stable
    /// as the global mean first and the centred sums after it, which take two collectives
    /// (docs/distributed.md, "Stop 20"). A rank whose segments are malformed (a wrong width)
    /// sends zeros and status 1, and every rank throws.
    public func mergeMoments(_ segments: [SegmentMoments], width: Int) throws -> (mean: [Float], centredSquares: [Float]) {
        let operation = "mergeMoments(_:width:)"
        try agreeOnWidthUnlessAgreed(width, operation: operation)
        let wellFormed = segments.allSatisfy {
            $0.count >= 0 && $0.mean.count == width && $0.centredSums.count == width && $0.centredSquares.count == width
        }
        let localShapeError = wellFormed ? nil
            : DistributedError.shapeMismatch(operation: operation, expected: segments.count * width,
                                             actual: segments.reduce(0) { $0 + $1.mean.count })
        // Per rank: the row count's 64 bits as two Float bit patterns (an all-gather moves bytes,
        // it does no arithmetic: counts of images' pixels can pass 2^24), the status, then the
        // centres, the residual sums and the centred sums. 3,084 bytes for 256 features: within
        // Open MPI's shared-memory eager limit (4 KB), one message each way.
        let block = 3 * width + 3
        let ranks = communicator.size
        let received = scratch.receive(Float.self, count: block * ranks)
        let mine = UnsafeMutableBufferPointer(rebasing: received[(communicator.rank * block)..<((communicator.rank + 1) * block)])
        Bits.zero(mine)
        if wellFormed {
            let local = SegmentMoments.merged(segments, width: width)
            let count = UInt64(local.count)
            mine[0] = Float(bitPattern: UInt32(truncatingIfNeeded: count))
            mine[1] = Float(bitPattern: UInt32(truncatingIfNeeded: count >> 32))
            for j in 0..<width {
                mine[3 + j] = local.mean[j]
                mine[3 + width + j] = local.centredSums[j]
                mine[3 + 2 * width + j] = local.centredSquares[j]
            }
        } else {
            mine[2] = 1
        }
        do {
            try communicator.allGather(inPlace: received, agreedCounts: Array(repeating: block, count: ranks), operation: operation)
        } catch { throw localShapeError ?? error }
        if let localShapeError { throw localShapeError }
        if let failed = (0..<ranks).first(where: { received[$0 * block + 2] != 0 }) {
            throw DistributedError.otherRankInputRejected(operation: operation, rank: failed)
        }
        let parts = (0..<ranks).map { rank in
            let base = rank * block
            let count = UInt64(received[base].bitPattern) | UInt64(received[base + 1].bitPattern) << 32
            func column(_ start: Int) -> [Float] { Array(received[(base + start)..<(base + start + width)]) }
            return SegmentMoments(count: Int(count), mean: column(3), centredSums: column(3 + width), centredSquares: column(3 + 2 * width))
        }
        let total = SegmentMoments.merged(parts, width: width)
        return (total.mean, total.centredSquares)
    }
}
