/// ``BatchNormMath``'s loops for `Float` inputs of at most ``maximumWidth`` columns (the seed
/// model's BatchNormalization layers are 1 and 8 wide), eight columns at a time in SIMD
/// registers that stay there across the rows.
///
/// The loops they stand in for run over the columns inside each row; for so few columns
/// LLVM's vectorized loop spent its time on per-row set-up and alias checks (about 16
/// instructions per scalar). Every lane does the float operation of the scalar loop, in the
/// same order (each column's sums run over the rows in row order, starting from zero), so the
/// results are the same bits; lanes past the last column compute on zeros and are not stored.
enum NarrowColumnKernels {
    /// Widths up to this take these loops; wider inputs keep the row-wise loops, which
    /// vectorize well across many columns.
    static let maximumWidth = 16

    typealias Lanes = SIMD8<Float>

    /// The first `count` (at most 8) scalars at `p`, zeros after them.
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ count: Int) -> Lanes {
        if count == 8 { return UnsafeRawPointer(p).loadUnaligned(as: Lanes.self) }
        var lanes = Lanes(repeating: 0)
        for j in 0..<count { lanes[j] = p[j] }
        return lanes
    }

    /// Writes the first `count` (at most 8) lanes to `p`.
    @inline(__always)
    static func store(_ lanes: Lanes, _ p: UnsafeMutablePointer<Float>, _ count: Int) {
        if count == 8 {
            UnsafeMutableRawPointer(p).storeBytes(of: lanes, as: Lanes.self)
            return
        }
        for j in 0..<count { p[j] = lanes[j] }
    }

    /// Column means and biased variances of `rows` (at least one) × `columns` scalars:
    /// `Σx · (1/N)`, then `Σ(x − mean)² · (1/N)`, as `BatchNormMath.moments`.
    static func moments(_ x: UnsafePointer<Float>, rows: Int, columns: Int,
                        mean: UnsafeMutablePointer<Float>, variance: UnsafeMutablePointer<Float>) {
        let scale = 1 / Float(rows)
        var first = 0
        while first < columns {
            let width = Swift.min(8, columns - first)
            var sum = Lanes(repeating: 0)
            var row = x + first
            for _ in 0..<rows {
                sum += load(row, width)
                row += columns
            }
            let m = sum * scale
            var squares = Lanes(repeating: 0)
            row = x + first
            for _ in 0..<rows {
                let d = load(row, width) - m
                squares += d * d
                row += columns
            }
            store(m, mean + first, width)
            store(squares * scale, variance + first, width)
            first += 8
        }
    }

    /// `Σ x` per column over the rows in order, as `DenseMath.columnSums` (a bias gradient).
    static func columnSums(_ x: UnsafePointer<Float>, rows: Int, columns: Int, into sums: UnsafeMutablePointer<Float>) {
        var first = 0
        while first < columns {
            let width = Swift.min(8, columns - first)
            var sum = Lanes(repeating: 0)
            var row = x + first
            for _ in 0..<rows {
                sum += load(row, width)
                row += columns
            }
            store(sum, sums + first, width)
            first += 8
        }
    }

    /// `y = x·a + b` per column (`a`, `b` the normalization's factors), as `BatchNormMath.normalize`.
    static func normalize(_ x: UnsafePointer<Float>, rows: Int, columns: Int, a: UnsafePointer<Float>,
                          b: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        var first = 0
        while first < columns {
            let width = Swift.min(8, columns - first)
            let factor = load(a + first, width), offset = load(b + first, width)
            var source = x + first, target = y + first
            for _ in 0..<rows {
                store(load(source, width) * factor + offset, target, width)
                source += columns
                target += columns
            }
            first += 8
        }
    }

    /// `Σg` and `Σg·x̂` per column with `x̂ = (x − mean)·inverseStd`, as the first loop of
    /// `BatchNormMath.backward`.
    static func gradientSums(x: UnsafePointer<Float>, upstream g: UnsafePointer<Float>, rows: Int, columns: Int,
                             mean: UnsafePointer<Float>, inverseStd: UnsafePointer<Float>,
                             sumG: UnsafeMutablePointer<Float>, sumGX: UnsafeMutablePointer<Float>) {
        var first = 0
        while first < columns {
            let width = Swift.min(8, columns - first)
            let mu = load(mean + first, width), inv = load(inverseStd + first, width)
            var sg = Lanes(repeating: 0), sgx = Lanes(repeating: 0)
            var xRow = x + first, gRow = g + first
            for _ in 0..<rows {
                let gi = load(gRow, width)
                let xh = (load(xRow, width) - mu) * inv
                sg += gi
                sgx += gi * xh
                xRow += columns
                gRow += columns
            }
            store(sg, sumG + first, width)
            store(sgx, sumGX + first, width)
            first += 8
        }
    }

    /// ∂x of `BatchNormMath.backward`'s second loop: `s·(g − (1/N)·(Σg + x̂·Σg·x̂))` through batch
    /// statistics, `g·s` through constant ones (`s` = gamma·inverseStd).
    static func inputGradient(x: UnsafePointer<Float>, upstream g: UnsafePointer<Float>, rows: Int, columns: Int,
                              mean: UnsafePointer<Float>, inverseStd: UnsafePointer<Float>, scale s: UnsafePointer<Float>,
                              sumG: UnsafePointer<Float>, sumGX: UnsafePointer<Float>, batchStatistics: Bool,
                              into d: UnsafeMutablePointer<Float>) {
        let invN = Lanes(repeating: 1 / Float(rows))
        var first = 0
        while first < columns {
            let width = Swift.min(8, columns - first)
            let mu = load(mean + first, width), inv = load(inverseStd + first, width), factor = load(s + first, width)
            let sg = load(sumG + first, width), sgx = load(sumGX + first, width)
            var xRow = x + first, gRow = g + first, target = d + first
            for _ in 0..<rows {
                let gi = load(gRow, width)
                if batchStatistics {
                    let xh = (load(xRow, width) - mu) * inv
                    store(factor * (gi - invN * (sg + xh * sgx)), target, width)
                } else {
                    store(gi * factor, target, width)
                }
                xRow += columns
                gRow += columns
                target += columns
            }
            first += 8
        }
    }
}
