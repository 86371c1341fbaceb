import Testing
@testable import Tensors

/// Large products split over threads of our own (``BLASThreads/splitsLargeProducts``): which
/// products are split and along which axis, and that a split product has, scalar for scalar,
/// the bits of one unsplit single-threaded call. The settings are process-wide and other
/// suites change them meanwhile, so the products are split through the task-local
/// ``BLASThreads/forcedParts`` and the unsplit ones run inside a one-thread scope of their own.
@Suite struct BLASSplitTests {
    @Test func largeProductsAreSplitByRowsOrAlignedColumns() {
        // The BN MLP's large products (batch 128): the forward and input-gradient products
        // (128 rows, 256 columns) by columns, the first kernel gradient (784 x 256) by rows.
        #expect(BLASThreads.split(m: 128, n: 256, k: 784, parts: 2) == .init(byRows: false, cuts: [0, 128, 256]))
        #expect(BLASThreads.split(m: 784, n: 256, k: 128, parts: 2) == .init(byRows: true, cuts: [0, 392, 784]))
        #expect(BLASThreads.split(m: 256, n: 256, k: 128, parts: 2) == .init(byRows: true, cuts: [0, 128, 256]))
        #expect(BLASThreads.split(m: 301, n: 9, k: 2000, parts: 3) == .init(byRows: true, cuts: [0, 100, 200, 301]))
        // Columns at multiples of 64, the last part ragged; rows when the columns do not divide.
        #expect(BLASThreads.split(m: 20, n: 1000, k: 300, parts: 2) == .init(byRows: false, cuts: [0, 448, 1000]))
        #expect(BLASThreads.split(m: 31, n: 200, k: 600, parts: 4) == .init(byRows: false, cuts: [0, 64, 128, 200]))
        #expect(BLASThreads.split(m: 64, n: 100, k: 400, parts: 2) == .init(byRows: true, cuts: [0, 32, 64]))
        // Fewer parts when a part would fall to OpenBLAS's small-matrix limit: 200 x 17 x 700
        // is 2.38 million multiply-adds, so two parts of about 1.19 million, not three.
        #expect(BLASThreads.split(m: 200, n: 17, k: 700, parts: 3) == .init(byRows: true, cuts: [0, 100, 200]))
        #expect(BLASThreads.split(m: 128, n: 256, k: 32, parts: 2) == nil)   // 2 x 0.52 million
        // Too narrow either way, or one part.
        #expect(BLASThreads.split(m: 1, n: 127, k: 1 << 20, parts: 2) == nil)
        #expect(BLASThreads.split(m: 128, n: 256, k: 784, parts: 1) == nil)
        // Aligned rows: multiples of 12, the last part ragged.
        #expect(BLASThreads.splitAlignedRows(m: 128, n: 256, k: 784, parts: 2) == .init(byRows: true, cuts: [0, 60, 128]))
        #expect(BLASThreads.splitAlignedRows(m: 784, n: 256, k: 128, parts: 2) == .init(byRows: true, cuts: [0, 384, 784]))
        #expect(BLASThreads.candidates(m: 128, n: 256, k: 784, parts: 2).count == 2)
        // Never split: small, one part, inside a scope.
        BLASThreads.$forcedParts.withValue(2) {
            #expect(BLASThreads.parts(m: 128, n: 10, k: 1600) == nil)
            #expect(BLASThreads.parts(m: 128, n: 256, k: 784) == 2)
        }
        BLASThreads.$forcedParts.withValue(1) { #expect(BLASThreads.parts(m: 128, n: 256, k: 784) == nil) }
        BLASThreads.onOneThread {
            if BLASThreads.forcedParts == nil { #expect(BLASThreads.parts(m: 128, n: 256, k: 784) == nil) }
        }
    }

    // The MLP's products as DenseMath issues them (forward with beta 1 onto the bias, kernel
    // gradients xᵀ·dz, input gradients dz·Wᵀ), each also in rows where it is cut by columns
    // and the other way round, then odd shapes: rows cut at odd offsets, inner dimensions above
    // OpenBLAS's block depth, both transposes, ragged column parts.
    @Test(arguments: [
        GEMMCase(m: 128, k: 784, n: 256, transposeA: false, transposeB: false, beta: 1),
        GEMMCase(m: 128, k: 256, n: 256, transposeA: false, transposeB: false, beta: 1),
        GEMMCase(m: 784, k: 128, n: 256, transposeA: true, transposeB: false, beta: 0),
        GEMMCase(m: 256, k: 128, n: 256, transposeA: true, transposeB: false, beta: 0),
        GEMMCase(m: 128, k: 256, n: 256, transposeA: false, transposeB: true, beta: 0),
        GEMMCase(m: 256, k: 784, n: 128, transposeA: false, transposeB: false, beta: 1),
        GEMMCase(m: 256, k: 128, n: 784, transposeA: true, transposeB: false, beta: 0),
        GEMMCase(m: 256, k: 256, n: 128, transposeA: false, transposeB: true, beta: 0),
        GEMMCase(m: 301, k: 203, n: 257, transposeA: false, transposeB: false, beta: 1),
        GEMMCase(m: 131, k: 1000, n: 257, transposeA: false, transposeB: true, beta: 1),
        GEMMCase(m: 783, k: 131, n: 129, transposeA: true, transposeB: false, beta: 0),
        GEMMCase(m: 97, k: 333, n: 301, transposeA: true, transposeB: true, beta: 0.5),
        GEMMCase(m: 20, k: 300, n: 1000, transposeA: false, transposeB: false, beta: 1),
        GEMMCase(m: 17, k: 1000, n: 300, transposeA: true, transposeB: false, beta: 0),
        GEMMCase(m: 31, k: 517, n: 333, transposeA: false, transposeB: true, beta: 1),
        // Inner dimensions above the block depth with few outputs: parts near OpenBLAS's small-matrix limit.
        GEMMCase(m: 200, k: 700, n: 17, transposeA: false, transposeB: false, beta: 1),
        GEMMCase(m: 300, k: 2000, n: 8, transposeA: true, transposeB: true, beta: 0),
        GEMMCase(m: 40, k: 450, n: 400, transposeA: true, transposeB: false, beta: 0),
    ])
    func aSplitProductHasTheOneThreadBits(_ c: GEMMCase) {
        let operands = c.operands(seed: 21)
        // Float.gemm (the own sgemm, split by runs of columns or rows without a probe) and its
        // OpenBLAS path (split where the probe found a cut that keeps the bits).
        for viaOpenBLAS in [false, true] {
            func product() -> [UInt32] { c.productBits(operands, viaOpenBLAS: viaOpenBLAS) }
            let split = BLASThreads.$forcedParts.withValue(4) { product() }
            let unsplit = BLASThreads.onOneThread { product() }   // no split inside a scope
            #expect(split == unsplit, "\(c) via OpenBLAS \(viaOpenBLAS)")
        }
        let unsplit = BLASThreads.onOneThread { c.productBits(operands, viaOpenBLAS: true) }
        // Every shape that can be cut into runs of 12 rows has a split that keeps the bits (so
        // the MLP's products use both threads). Shapes of few rows may stay whole: on the
        // Haswell/Zen kernels no column cut keeps the bits.
        if BLASThreads.splitAlignedRows(m: c.m, n: c.n, k: c.k, parts: 4) != nil {
            let plans = SplitProbe.known.filter { $0.key.m == c.m && $0.key.n == c.n && $0.key.k == c.k && $0.key.parts == 4 }
            #expect(plans.values.contains { $0?.split != nil }, "\(c) was not split")
        }
        // And the product is a product: one entry against a Double dot product.
        let (i, j) = (c.m - 1, c.n / 2)
        let dot = (0..<c.k).reduce(0.0) { sum, t in
            sum + Double(operands.a[c.transposeA ? t * c.m + i : i * c.k + t]) * Double(operands.b[c.transposeB ? j * c.k + t : t * c.n + j])
        }
        let expected = dot + Double(c.beta) * Double(operands.initial[i * c.n + j])
        #expect(abs(Double(Float(bitPattern: unsplit[i * c.n + j])) - expected) < 1e-3 * Double(c.k).squareRoot())
    }

    @Test func aSplitDoubleProductHasTheOneThreadBits() throws {
        var rng = SplitMix64(seed: 22)
        let (m, k, n) = (129, 401, 120)
        let a = try Tensor<Double>(shape: [k, m], scalars: (0..<(m * k)).map { _ in rng.nextNormal() })
        let b = try Tensor<Double>(shape: [n, k], scalars: (0..<(k * n)).map { _ in rng.nextNormal() })
        let split = try BLASThreads.$forcedParts.withValue(3) {
            #expect(BLASThreads.candidates(m: m, n: n, k: k, parts: 3).first?.cuts == [0, 43, 86, 129])
            return try Tensor.matmul(a, b, transposeA: true, transposeB: true)
        }
        let unsplit = try BLASThreads.onOneThread { try Tensor.matmul(a, b, transposeA: true, transposeB: true) }
        #expect(split.scalars.map(\.bitPattern) == unsplit.scalars.map(\.bitPattern))
    }

    /// A shape too large to probe within ``SplitProbe/maximumProbeScalars`` is not probed (no
    /// 320 MB of probe operands for a 4096³ product) and stays whole.
    @Test func aShapeTooLargeToProbeStaysWhole() {
        #expect(SplitProbe.probe(transposeA: false, transposeB: false, m: 4096, n: 4096, k: 4096, alpha: Float(1),
                                 beta: Float(0), parts: 2, gemm: Float.cblasGEMM) == nil)
        #expect(SplitProbe.probe(transposeA: false, transposeB: false, m: 1024, n: 2048, k: 64, alpha: Float(1),
                                 beta: Float(1), parts: 2, gemm: Float.cblasGEMM) != nil)
    }

    /// A split the probe rejects is not used: on a kernel that computes a scalar by its place
    /// in the tiles (OpenBLAS 0.3.21's Haswell/Zen sgemm), the column cut of the MLP's forward
    /// product changes bits, and the plan is then another split or none; the product keeps
    /// the unsplit bits either way (checked above).
    @Test func theProbeKeepsOnlySplitsWithTheUnsplitBits() {
        let c = GEMMCase(m: 128, k: 400, n: 256, transposeA: false, transposeB: false, beta: 1)
        let operands = c.operands(seed: 23)
        for split in BLASThreads.candidates(m: c.m, n: c.n, k: c.k, parts: 2) {
            var whole = operands.initial, parted = operands.initial
            operands.a.withUnsafeBufferPointer { pa in
                operands.b.withUnsafeBufferPointer { pb in
                    Float.cblasGEMM(columnMajor: false, transposeA: false, transposeB: false, m: c.m, n: c.n, k: c.k, alpha: 1,
                                    a: pa.baseAddress!, lda: c.k, b: pb.baseAddress!, ldb: c.n, beta: 1, c: &whole, ldc: c.n)
                    parted.withUnsafeMutableBufferPointer { pc in
                        for index in 0..<(split.cuts.count - 1) {
                            let run = split.cuts[index]..<split.cuts[index + 1]
                            let (rows, columns) = split.byRows ? (run, 0..<c.n) : (0..<c.m, run)
                            let (ra, rb, rc) = partOperands(transposeA: false, transposeB: false, rows: rows, columns: columns,
                                                            a: pa.baseAddress!, lda: c.k, b: pb.baseAddress!, ldb: c.n,
                                                            c: pc.baseAddress!, ldc: c.n)
                            Float.cblasGEMM(columnMajor: false, transposeA: false, transposeB: false, m: rows.count,
                                            n: columns.count, k: c.k, alpha: 1, a: ra, lda: c.k, b: rb, ldb: c.n, beta: 1, c: rc, ldc: c.n)
                        }
                    }
                }
            }
            let keepsBits = whole.map(\.bitPattern) == parted.map(\.bitPattern)
            let plan = SplitProbe.probe(transposeA: false, transposeB: false, m: c.m, n: c.n, k: c.k, alpha: Float(1), beta: Float(1),
                                        parts: 2, gemm: Float.cblasGEMM)
            // A split that changes these operands' bits is never the plan.
            if !keepsBits { #expect(plan?.split != split, "\(split) changes bits but was chosen") }
        }
    }
}
