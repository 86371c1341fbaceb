import Foundation

/// One raw BLAS call, `c = alpha·op(a)·op(b) + beta·c` on row-major buffers: through the
/// row-major interface, or (`columnMajor`) through the column-major one with the operands
/// swapped. OpenBLAS turns a row-major call into exactly that column-major call, after first
/// checking whether its AVX-512 "direct" sgemm kernel takes it; the column-major form never
/// takes that kernel, so a part of a product the direct kernel would not take can be kept off it.
@usableFromInline
typealias RawGEMM<S> = (
    _ columnMajor: Bool, _ transposeA: Bool, _ transposeB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: S,
    _ a: UnsafePointer<S>, _ lda: Int, _ b: UnsafePointer<S>, _ ldb: Int, _ beta: S, _ c: UnsafeMutablePointer<S>, _ ldc: Int
) -> Void

/// How one shape of product is computed: whole or split (the cuts and the call form of the
/// parts), and whether its `beta` 0 call is made as a zero fill and a `beta` 1 call.
struct SplitPlan: Hashable {
    /// `nil`: one whole call.
    let split: BLASThreads.Split?
    let columnMajor: Bool
    /// Each call's outputs are set to zero first and the call adds the product with `beta` 1
    /// instead of `beta` 0 (``BLASThreads/zeroFillMultiplyAdds``).
    let zeroFills: Bool
}

extension BLASThreads {
    /// `c = alpha·op(a)·op(b) + beta·c` through `gemm`: whole on the calling thread, or split
    /// over threads when ``parts(m:n:k:)`` allows it and ``SplitProbe`` found a split of this
    /// shape whose parts give the whole call's bits; a large `beta` 0 product as a zero fill and
    /// a `beta` 1 call where the probe found that gives the same bits.
    @usableFromInline
    static func multiply<S: BLASScalar>(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: S, a: UnsafePointer<S>, lda: Int,
        b: UnsafePointer<S>, ldb: Int, beta: S, c: UnsafeMutablePointer<S>, ldc: Int, gemm: RawGEMM<S>
    ) {
        ensureOneLibraryThread()
        let parts = parts(m: m, n: n, k: k)
        guard parts != nil || (beta == 0 && alpha == 1 && m * n * k > zeroFillMultiplyAdds),
              let plan = SplitProbe.plan(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                         alpha: alpha, beta: beta, parts: parts ?? 1, gemm: gemm) else {
            gemm(false, transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            return
        }
        let operands = PartOperands(a: a, b: b, c: c)
        ProductWorkers.forEachPart(plan.partCount) { index in
            plan.computePart(index, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                             a: operands.a, lda: lda, b: operands.b, ldb: ldb, beta: beta, c: operands.c, ldc: ldc, gemm: gemm)
        }
    }
}

extension SplitPlan {
    /// How many calls the product takes.
    var partCount: Int { split.map { $0.cuts.count - 1 } ?? 1 }

    /// Makes call `index` of the plan: the outputs of its run of rows or columns (all of them
    /// when whole), zeroed first when the plan zero-fills. Each call writes its own outputs only.
    func computePart<S>(
        _ index: Int, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: S, a: UnsafePointer<S>, lda: Int,
        b: UnsafePointer<S>, ldb: Int, beta: S, c: UnsafeMutablePointer<S>, ldc: Int, gemm: RawGEMM<S>
    ) where S: BLASScalar {
        var (rows, columns) = (0..<m, 0..<n)
        if let split {
            let run = split.cuts[index]..<split.cuts[index + 1]
            if split.byRows { rows = run } else { columns = run }
        }
        let (pa, pb, pc) = partOperands(transposeA: transposeA, transposeB: transposeB, rows: rows, columns: columns,
                                        a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
        if zeroFills {
            // Bytewise (a memset): called from other modules this function runs unspecialized,
            // where a generic `initialize(repeating:)` would fill scalar by scalar. All-zero bits are +0.
            let rowBytes = columns.count * MemoryLayout<S>.stride
            for row in 0..<rows.count {
                UnsafeMutableRawPointer(pc + row * ldc).initializeMemory(as: UInt8.self, repeating: 0, count: rowBytes)
            }
        }
        gemm(columnMajor, transposeA, transposeB, rows.count, columns.count, k, alpha, pa, lda, pb, ldb,
             zeroFills ? 1 : beta, pc, ldc)
    }
}

/// The buffers of a product, shared with the threads that compute its parts (each part writes
/// its own outputs only).
private struct PartOperands<S>: @unchecked Sendable {
    let a: UnsafePointer<S>, b: UnsafePointer<S>, c: UnsafeMutablePointer<S>
}

/// Which split of a product's shape gives, scalar for scalar, the bits of the unsplit call,
/// found on the first use of the shape in the process and kept. For each candidate split
/// (``BLASThreads/candidates(m:n:k:parts:)``) in each call form (row-major; column-major
/// too when the product is one OpenBLAS's direct kernel might take), the parts run one after
/// the other on seeded operands (signs, zeros and magnitudes a thousand times apart, so any
/// other order of the sums shows), and the first whose every output has the unsplit call's
/// bits is the plan; when none does, the shape is never split. A `beta` 0 product is also
/// tried as a zero fill and a `beta` 1 call (whole, and then each split that way first): kept
/// only when the whole call so made had the `beta` 0 call's bits. A probe costs a few products
/// of its shape, once per shape (and number of parts), on the thread that first multiplies it.
enum SplitProbe {
    struct Key: Hashable {
        let scalarSize: Int, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, parts: Int
        let alphaIsOne: Bool, betaKind: Int
    }

    /// The most scalars a probe allocates (operands, start values and two outputs): 2^25, 128
    /// MiB of `Float`. A larger shape is not probed and stays whole, on one thread: slower,
    /// never different bits.
    static let maximumProbeScalars = 1 << 25

    /// The plan for this shape, probing it first if it is new; `nil`: keep it whole.
    static func plan<S: BLASScalar>(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: S, beta: S, parts: Int, gemm: RawGEMM<S>
    ) -> SplitPlan? {
        let key = Key(scalarSize: MemoryLayout<S>.size, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                      parts: parts, alphaIsOne: alpha == 1, betaKind: beta == 0 ? 0 : beta == 1 ? 1 : 2)
        if let known = verdicts.withLock({ $0[key] }) { return known }
        let found = probe(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, beta: beta,
                          parts: parts, gemm: gemm)
        verdicts.withLock { $0[key] = .some(found) }
        return found
    }

    /// Probes every candidate; the first plan whose calls gave the unsplit call's bits: a split
    /// (zero-filled first, then as called), else the whole call zero-filled; `nil`: none did.
    static func probe<S: BLASScalar>(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: S, beta: S, parts: Int, gemm: RawGEMM<S>
    ) -> SplitPlan? {
        BLASThreads.ensureOneLibraryThread()   // the unsplit call is the one-thread call
        let candidates = BLASThreads.candidates(m: m, n: n, k: k, parts: parts)
        guard !candidates.isEmpty || (beta == 0 && alpha == 1), m * k + k * n + 3 * m * n <= maximumProbeScalars else { return nil }
        var generator = ProbeValues(seed: UInt64(m &* 31 &+ n &* 17 &+ k))
        let a = (0..<(m * k)).map { _ in S(generator.next()) }
        let b = (0..<(k * n)).map { _ in S(generator.next()) }
        let initial = (0..<(m * n)).map { _ in S(generator.next()) }
        let (lda, ldb, ldc) = (transposeA ? m : k, transposeB ? k : n, n)
        var whole = initial
        gemm(false, transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, &whole, ldc)
        func givesWholeBits(_ plan: SplitPlan) -> Bool {
            var parted = initial
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    parted.withUnsafeMutableBufferPointer { pc in
                        for index in 0..<plan.partCount {
                            plan.computePart(index, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                             alpha: alpha, a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb,
                                             beta: beta, c: pc.baseAddress!, ldc: ldc, gemm: gemm)
                        }
                    }
                }
            }
            return whole.withUnsafeBytes { w in parted.withUnsafeBytes { p in w.elementsEqual(p) } }
        }
        // A zero fill is tried only with alpha 1 (see BLASThreads.zeroFillMultiplyAdds) and kept
        // only where the whole call keeps its bits with one.
        let wholeZeroFilled = SplitPlan(split: nil, columnMajor: false, zeroFills: true)
        let zeroFills = beta == 0 && alpha == 1 && givesWholeBits(wholeZeroFilled)
        // Only an untransposed sgemm with alpha 1 and beta 0 may take the direct kernel.
        let forms = S.self == Float.self && !transposeA && !transposeB && alpha == 1 && beta == 0 ? [false, true] : [false]
        for split in candidates {
            for zeroFill in zeroFills ? [true, false] : [false] {
                for columnMajor in forms {
                    let plan = SplitPlan(split: split, columnMajor: columnMajor, zeroFills: zeroFill)
                    if givesWholeBits(plan) { return plan }
                }
            }
        }
        return zeroFills ? wholeZeroFilled : nil
    }

    /// Forgets every verdict (tests: probe again).
    static func reset() { verdicts.withLock { $0.removeAll() } }

    /// The verdicts so far: a plan, or `.some(nil)` for a shape that runs as called, whole.
    static var known: [Key: SplitPlan?] { verdicts.withLock { $0 } }

    private static let verdicts = LockedVerdicts()
}

/// The verdict table behind an `NSLock` (which Thread Sanitizer sees).
private final class LockedVerdicts: @unchecked Sendable {
    private let lock = NSLock()
    private var table: [SplitProbe.Key: SplitPlan?] = [:]

    func withLock<R>(_ body: (inout [SplitProbe.Key: SplitPlan?]) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&table)
    }
}

/// The probe's operands: values in [-1, 1), one in eight a thousand times larger and one in
/// sixteen zero, from a 64-bit linear congruential generator (cheap even in debug builds).
private struct ProbeValues {
    var state: UInt64

    init(seed: UInt64) { state = seed ^ 0x9E37_79B9_7F4A_7C15 }

    mutating func next() -> Double {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let bits = state >> 40   // 24 bits
        if bits & 15 == 0 { return 0 }
        let value = Double(bits) / Double(1 << 23) - 1
        return bits & 7 == 1 ? value * 1000 : value
    }
}
