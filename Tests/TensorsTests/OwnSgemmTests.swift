import CVectorKernels
import Foundation
import Testing
@testable import Tensors

/// Batchwise's own sgemm (`COwnSgemm.h`, ``OwnProducts``) against an independent reference of
/// its documented order, bit for bit: every shape edge of the micro-kernel (6 x 16), the inner
/// dimension's blocks (320, 640) and the column blocking (256), every transpose, both `beta`s and
/// strides wider than the rows; every row cut, column cut and grid of parts gives the whole
/// call's bits; the error against a `Double` product is the blocked FMA chain's; zeros of both
/// signs, infinities and NaN come out as the order implies.
@Suite struct OwnSgemmTests {
    /// One product: sizes, transposes, accumulation, and how much wider than its rows each
    /// operand is stored.
    struct Shape: CustomStringConvertible, Sendable {
        let m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, accumulate: Bool, pad: Int
        var lda: Int { (transposeA ? m : k) + pad }
        var ldb: Int { (transposeB ? k : n) + pad }
        var ldc: Int { n + pad }
        var description: String {
            "\(m)x\(n)x\(k) tA \(transposeA) tB \(transposeB) \(accumulate ? "beta 1" : "beta 0") pad \(pad)"
        }
    }

    /// Stored operands of a shape (a: `[m, lda]` or `[k, lda]` when transposed, and so on).
    struct Operands {
        var a: [Float], b: [Float], c: [Float]

        init(_ s: Shape, seed: UInt64, value: (inout SplitMix64) -> Float = { Float($0.nextNormal()) }) {
            var rng = SplitMix64(seed: seed)
            a = (0..<((s.transposeA ? s.k : s.m) * s.lda)).map { _ in value(&rng) }
            b = (0..<((s.transposeB ? s.n : s.k) * s.ldb)).map { _ in value(&rng) }
            c = (0..<(s.m * s.ldc)).map { _ in value(&rng) }
        }
    }

    static let transposes = [(false, false), (true, false), (false, true), (true, true)]

    /// Each of m, n and k over the edges (others small), every transpose and `beta`, strides 3 wider.
    static let edgeShapes: [Shape] = {
        let edges = [1, 5, 6, 7, 15, 16, 17, 319, 320, 321, 639, 640, 641, 784]
        let sizes = edges.flatMap { [($0, 17, 7), (7, $0, 5), (5, 17, $0)] }
            + [(13, 45, 641), (50, 70, 784), (319, 33, 321), (6, 16, 320), (40, 300, 20)]
        return sizes.flatMap { m, n, k in
            transposes.flatMap { ta, tb in
                [false, true].map { Shape(m: m, n: n, k: k, transposeA: ta, transposeB: tb, accumulate: $0, pad: 3) }
            }
        }
    }()

    // MARK: - The reference: the documented order, scalar by scalar

    /// The length of the block of the inner dimension that starts with `remaining` terms left.
    static func blockLength(_ remaining: Int) -> Int {
        if remaining >= 640 { return 320 }
        if remaining > 320 { return (remaining / 2 + 7) / 8 * 8 }
        return remaining
    }

    /// c[i][j] for every output: per block an FMA chain from +0 in term order, the block sums
    /// added to the old value (accumulating) or to +0 in block order; strides as stored.
    static func reference(_ s: Shape, _ o: Operands) -> [Float] {
        var c = o.c
        for i in 0..<s.m {
            for j in 0..<s.n {
                var out: Float = s.accumulate ? o.c[i * s.ldc + j] : 0
                var p = 0
                while p < s.k {
                    let end = p + blockLength(s.k - p)
                    var sum: Float = 0
                    for t in p..<end {
                        let x = s.transposeA ? o.a[t * s.lda + i] : o.a[i * s.lda + t]
                        let y = s.transposeB ? o.b[j * s.ldb + t] : o.b[t * s.ldb + j]
                        sum = sum.addingProduct(x, y)
                    }
                    out = out + sum
                    p = end
                }
                c[i * s.ldc + j] = out
            }
        }
        return c
    }

    /// The kernel's result for the outputs in each of `parts` (rows x columns), one call each.
    static func kernel(_ s: Shape, _ o: Operands, parts: [(Range<Int>, Range<Int>)]) -> [Float] {
        var c = o.c
        for (rows, columns) in parts {
            let done = OwnProducts.computePart(transposeA: s.transposeA, transposeB: s.transposeB, m: s.m, n: s.n, k: s.k,
                                               a: o.a, lda: s.lda, b: o.b, ldb: s.ldb, accumulate: s.accumulate,
                                               c: &c, ldc: s.ldc, rows: rows, columns: columns)
            #expect(done, "\(s): the kernel refused")
        }
        return c
    }

    static func whole(_ s: Shape, _ o: Operands) -> [Float] { kernel(s, o, parts: [(0..<s.m, 0..<s.n)]) }

    /// Scalars whose bits differ (NaN counts as equal to NaN: the reference's payloads are
    /// the C library's, the kernel's the vector unit's).
    static func differences(_ x: [Float], _ y: [Float]) -> Int {
        zip(x, y).filter { $0.bitPattern != $1.bitPattern && !($0.isNaN && $1.isNaN) }.count
    }

    // MARK: - Tests

    @Test(arguments: edgeShapes)
    func theKernelSumsInTheDocumentedOrder(_ s: Shape) throws {
        try #require(OwnProducts.available, "no AVX2 and FMA: the kernel is never taken")
        let o = Operands(s, seed: UInt64(s.m &* 1_000_003 &+ s.n &* 1009 &+ s.k))
        let expected = Self.reference(s, o)
        #expect(Self.differences(Self.whole(s, o), expected) == 0, "\(s)")
    }

    /// Every row cut and every column cut into two calls, and grids of 2, 3 and 4 parts cut at
    /// drawn rows and columns, give the whole call's bits (and touch nothing outside their part).
    @Test(arguments: [(37, 50, 321), (13, 100, 341), (130, 40, 50), (7, 300, 9)].flatMap { m, n, k in
        transposes.flatMap { ta, tb in
            [false, true].map { Shape(m: m, n: n, k: k, transposeA: ta, transposeB: tb, accumulate: $0, pad: 2) }
        }
    })
    func everyCutGivesTheWholeCallsBits(_ s: Shape) throws {
        try #require(OwnProducts.available, "no AVX2 and FMA: the kernel is never taken")
        let o = Operands(s, seed: 77)
        let whole = Self.whole(s, o)
        var changed: [String] = []
        for r in 1..<s.m where Self.differences(Self.kernel(s, o, parts: [(0..<r, 0..<s.n), (r..<s.m, 0..<s.n)]), whole) > 0 {
            changed.append("row \(r)")
        }
        for j in 1..<s.n where Self.differences(Self.kernel(s, o, parts: [(0..<s.m, 0..<j), (0..<s.m, j..<s.n)]), whole) > 0 {
            changed.append("column \(j)")
        }
        var rng = SplitMix64(seed: 5)
        for grid in 0..<30 {
            let count = 2 + grid % 3
            func cuts(_ length: Int) -> [Int] {
                ([0, length] + (1..<count).map { _ in rng.nextIndex(below: length + 1) }).sorted()
            }
            let (rows, columns) = (cuts(s.m), cuts(s.n))
            let parts = (0..<count).flatMap { i in
                (0..<count).map { j in (rows[i]..<rows[i + 1], columns[j]..<columns[j + 1]) }
            }
            if Self.differences(Self.kernel(s, o, parts: parts), whole) > 0 { changed.append("grid \(rows) x \(columns)") }
        }
        #expect(changed.isEmpty, "\(s): \(changed.prefix(8))")
    }

    /// `Float.gemm` takes such products to the kernel, and split over 1 to 4 threads (runs of
    /// columns or rows, no probe) it gives the whole call's bits: the BN MLP's products, a
    /// convolution-like narrow product (cut by rows) and odd sizes, also with `alpha` 1 forced
    /// through the splitting path.
    @Test(arguments: [
        Shape(m: 128, n: 256, k: 784, transposeA: false, transposeB: false, accumulate: true, pad: 0),
        Shape(m: 784, n: 256, k: 128, transposeA: true, transposeB: false, accumulate: false, pad: 0),
        Shape(m: 128, n: 256, k: 256, transposeA: false, transposeB: true, accumulate: false, pad: 0),
        Shape(m: 3000, n: 16, k: 75, transposeA: false, transposeB: false, accumulate: false, pad: 0),
        Shape(m: 301, n: 257, k: 203, transposeA: true, transposeB: true, accumulate: true, pad: 1),
    ])
    func gemmSplitsByConstructionWithTheKernelsBits(_ s: Shape) throws {
        try #require(OwnProducts.available, "no AVX2 and FMA: the kernel is never taken")
        let o = Operands(s, seed: 91)
        let whole = Self.whole(s, o)
        for parts in 1...4 {
            var c = o.c
            BLASThreads.$forcedParts.withValue(parts) {
                Float.gemm(transposeA: s.transposeA, transposeB: s.transposeB, m: s.m, n: s.n, k: s.k, alpha: 1,
                           a: o.a, lda: s.lda, b: o.b, ldb: s.ldb, beta: s.accumulate ? 1 : 0, c: &c, ldc: s.ldc)
            }
            #expect(Self.differences(c, whole) == 0, "\(s) on \(parts) parts")
        }
        if let split = OwnProducts.split(m: s.m, n: s.n, k: s.k, parts: 2) {
            let alignment = split.byRows ? OwnProducts.rowAlignment : OwnProducts.columnAlignment
            #expect(split.cuts.dropLast().allSatisfy { $0 % alignment == 0 }, "\(s): \(split)")
        }
    }

    @Test func narrowProductsAreCutByRowsAndWideOnesByColumns() {
        #expect(OwnProducts.split(m: 128, n: 256, k: 784, parts: 2) == .init(byRows: false, cuts: [0, 128, 256]))
        #expect(OwnProducts.split(m: 784, n: 256, k: 128, parts: 2) == .init(byRows: false, cuts: [0, 128, 256]))
        #expect(OwnProducts.split(m: 128, n: 250, k: 784, parts: 3) == .init(byRows: false, cuts: [0, 80, 160, 250]))
        #expect(OwnProducts.split(m: 3000, n: 16, k: 75, parts: 2) == .init(byRows: true, cuts: [0, 1500, 3000]))
        #expect(OwnProducts.split(m: 100, n: 40, k: 1000, parts: 2) == .init(byRows: true, cuts: [0, 48, 100]))
        #expect(OwnProducts.split(m: 5, n: 20, k: 1 << 20, parts: 2) == nil)   // no two runs of 6 rows or 2 panels
        // Tall products (a convolution's im2col product) by rows even when wide enough for columns.
        #expect(OwnProducts.split(m: 15_488, n: 64, k: 288, parts: 2) == .init(byRows: true, cuts: [0, 7740, 15_488]))
        #expect(OwnProducts.split(m: 1024, n: 256, k: 128, parts: 2) == .init(byRows: false, cuts: [0, 128, 256]))
        #expect(OwnProducts.split(m: 1025, n: 256, k: 128, parts: 2) == .init(byRows: true, cuts: [0, 510, 1025]))
    }

    /// The error against a `Double` product stays within the blocked chain's bound: at most
    /// (longest block + blocks + 1) roundings of the size of Σ|a·b| + |c|.
    @Test(arguments: [(64, 48, 784), (33, 70, 2000), (100, 20, 320)])
    func theErrorIsTheBlockedChainsError(_ m: Int, _ n: Int, _ k: Int) throws {
        try #require(OwnProducts.available, "no AVX2 and FMA: the kernel is never taken")
        let s = Shape(m: m, n: n, k: k, transposeA: false, transposeB: false, accumulate: true, pad: 0)
        let o = Operands(s, seed: 3) { $0.nextUniformFloat() - 0.5 }
        let c = Self.whole(s, o)
        var blocks = 0, p = 0
        while p < k { p += Self.blockLength(k - p); blocks += 1 }
        let roundings = Double(Self.blockLength(k) + blocks + 1) * 0x1p-24
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var exact = Double(o.c[i * n + j]), magnitude = abs(exact)
                for t in 0..<k {
                    let product = Double(o.a[i * k + t]) * Double(o.b[t * n + j])
                    exact += product
                    magnitude += abs(product)
                }
                worst = max(worst, abs(Double(c[i * n + j]) - exact) / (roundings * magnitude))
            }
        }
        #expect(worst <= 1, "error \(worst) of the bound")
    }

    /// Zeros of both signs, infinities and NaN: the reference's results (so the order's), and
    /// what that order implies spelled out: a `beta` 0 call never reads `c` (NaN there stays
    /// out, a -0 sum stores +0), a chain from +0 over signed zeros gives +0, `beta` 1 adds to
    /// the old value (-0 + +0 is +0; NaN stays), an infinity fills its row, ∞ in one block and
    /// -∞ in the next give NaN, NaN in `a` fills its row.
    @Test func specialValuesFollowTheOrder() throws {
        try #require(OwnProducts.available, "no AVX2 and FMA: the kernel is never taken")
        for (ta, tb) in Self.transposes {
            for accumulate in [false, true] {
                let s = Shape(m: 9, n: 21, k: 700, transposeA: ta, transposeB: tb, accumulate: accumulate, pad: 1)
                var o = Operands(s, seed: 8) { rng in [0, -0.0, 1, -2.5][rng.nextIndex(below: 4)] }
                func setA(_ i: Int, _ t: Int, _ v: Float) { o.a[ta ? t * s.lda + i : i * s.lda + t] = v }
                for t in 0..<s.k { setA(0, t, -0.0); setA(1, t, 0) }   // rows 0, 1: zero products only
                setA(2, 5, .infinity)                                  // row 2: +∞ · b
                setA(3, 5, .infinity); setA(3, 400, -.infinity)        // row 3: blocks 320 + 192 + 188
                setA(4, 650, .nan)
                for j in 0..<s.n { o.b[tb ? j * s.ldb + 5 : 5 * s.ldb + j] = 1; o.b[tb ? j * s.ldb + 400 : 400 * s.ldb + j] = 1 }
                o.c[5 * s.ldc + 0] = .nan
                o.c[6 * s.ldc + 0] = -0.0
                let c = Self.whole(s, o)
                #expect(Self.differences(c, Self.reference(s, o)) == 0, "\(s)")
                for j in 0..<s.n {
                    #expect(c[j].bitPattern == (accumulate ? (o.c[j] + 0) : 0).bitPattern, "row 0 column \(j)")
                    #expect(c[2 * s.ldc + j] == .infinity && c[3 * s.ldc + j].isNaN && c[4 * s.ldc + j].isNaN, "\(s) column \(j)")
                }
                #expect(c[5 * s.ldc].isNaN == accumulate, "\(s): NaN in c")
                if !accumulate { #expect(!c.indices.contains { c[$0].isNaN && $0 / s.ldc != 3 && $0 / s.ldc != 4 && $0 % s.ldc < s.n }) }
                // The padding past each row's n outputs is never written.
                for i in 0..<s.m { #expect(c[i * s.ldc + s.n].bitPattern == o.c[i * s.ldc + s.n].bitPattern) }
            }
        }
        // No terms: beta 0 stores +0, beta 1 keeps the old value (here -0).
        for accumulate in [false, true] {
            var c: [Float] = [-0.0, .nan, 3]
            #expect(OwnProducts.computePart(transposeA: false, transposeB: false, m: 1, n: 3, k: 0, a: [1], lda: 1, b: [1],
                                            ldb: 3, accumulate: accumulate, c: &c, ldc: 3, rows: 0..<1, columns: 0..<3))
            #expect(c.map(\.bitPattern) == (accumulate ? [(-0.0 as Float).bitPattern, Float.nan.bitPattern, Float(3).bitPattern]
                                                       : [0, 0, 0]))
        }
    }
}
