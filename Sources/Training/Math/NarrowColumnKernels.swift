/// ``BatchNormMath``'s loops for `Float` inputs of at most ``maximumWidth`` columns (the seed
/// model's BatchNormalization layers are 1 and 8 wide), eight columns at a time in SIMD
/// registers that stay there across the rows.
///
/// The loops they stand in for run over the columns inside each row; for so few columns
/// LLVM's vectorized loop spent its time on per-row set-up and alias checks (about 16
/// instructions per scalar). Here each block of eight columns, and each column past the last
/// full block, runs down all the rows with its sums in registers. Every lane does the float
/// operation of the scalar loop, in the same order (each column's sums run over the rows in
/// row order, starting from zero), so the results are the same bits.
enum NarrowColumnKernels {
    /// Widths up to this take these loops; wider inputs keep the row-wise loops, which
    /// vectorize well across many columns.
    static let maximumWidth = 16

    typealias Lanes = SIMD8<Float>

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> Lanes { UnsafeRawPointer(p).loadUnaligned(as: Lanes.self) }

    @inline(__always)
    static func store(_ lanes: Lanes, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: lanes, as: Lanes.self)
    }

    /// `Σ` of eight columns down `rows` rows `stride` scalars apart, from zero in row order.
    @inline(__always)
    static func blockSum(_ p: UnsafePointer<Float>, rows: Int, stride: Int) -> Lanes {
        var sum = Lanes(repeating: 0)
        var row = p
        for _ in 0..<rows {
            sum += load(row)
            row += stride
        }
        return sum
    }

    /// `Σ` of one column down `rows` rows `stride` scalars apart, from zero in row order.
    @inline(__always)
    static func columnSum(_ p: UnsafePointer<Float>, rows: Int, stride: Int) -> Float {
        var sum: Float = 0
        var row = p
        for _ in 0..<rows {
            sum += row.pointee
            row += stride
        }
        return sum
    }

    /// Column means and biased variances of `rows` (at least one) × `columns` scalars:
    /// `Σx · (1/N)`, then `Σ(x − mean)² · (1/N)`, as `BatchNormMath.moments`. Eight columns
    /// at a time in registers; the last `columns % 8` one by one, down their rows.
    static func moments(_ x: UnsafePointer<Float>, rows: Int, columns: Int,
                        mean: UnsafeMutablePointer<Float>, variance: UnsafeMutablePointer<Float>) {
        let scale = 1 / Float(rows)
        var first = 0
        while first + 8 <= columns {
            let m = blockSum(x + first, rows: rows, stride: columns) * scale
            var squares = Lanes(repeating: 0)
            var row = x + first
            for _ in 0..<rows {
                let d = load(row) - m
                squares += d * d
                row += columns
            }
            store(m, mean + first)
            store(squares * scale, variance + first)
            first += 8
        }
        for column in first..<columns {
            let m = columnSum(x + column, rows: rows, stride: columns) * scale
            var squares: Float = 0
            var row = x + column
            for _ in 0..<rows {
                let d = row.pointee - m
                squares += d * d
                row += columns
            }
            mean[column] = m
            variance[column] = squares * scale
        }
    }

    /// `Σ x` per column over the rows in order, as `DenseMath.columnSums` (a bias gradient).
    static func columnSums(_ x: UnsafePointer<Float>, rows: Int, columns: Int, into sums: UnsafeMutablePointer<Float>) {
        var first = 0
        while first + 8 <= columns {
            store(blockSum(x + first, rows: rows, stride: columns), sums + first)
            first += 8
        }
        for column in first..<columns {
            sums[column] = columnSum(x + column, rows: rows, stride: columns)
        }
    }

    /// `y = x·a + b` per column (`a`, `b` the normalization's factors), as `BatchNormMath.normalize`.
    static func normalize(_ x: UnsafePointer<Float>, rows: Int, columns: Int, a: UnsafePointer<Float>,
                          b: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        var first = 0
        while first + 8 <= columns {
            let factor = load(a + first), offset = load(b + first)
            var source = x + first, target = y + first
            for _ in 0..<rows {
                store(load(source) * factor + offset, target)
                source += columns
                target += columns
            }
            first += 8
        }
        for column in first..<columns {
            let factor = a[column], offset = b[column]
            var source = x + column, target = y + column
            for _ in 0..<rows {
                target.pointee = source.pointee * factor + offset
                source += columns
                target += columns
            }
        }
    }

    /// `Σg` and `Σg·x̂` per column with `x̂ = (x − mean)·inverseStd`, as the first loop of
    /// `BatchNormMath.backward`.
    static func gradientSums(x: UnsafePointer<Float>, upstream g: UnsafePointer<Float>, rows: Int, columns: Int,
                             mean: UnsafePointer<Float>, inverseStd: UnsafePointer<Float>,
                             sumG: UnsafeMutablePointer<Float>, sumGX: UnsafeMutablePointer<Float>) {
        var first = 0
        while first + 8 <= columns {
            let mu = load(mean + first), inv = load(inverseStd + first)
            var sg = Lanes(repeating: 0), sgx = Lanes(repeating: 0)
            var xRow = x + first, gRow = g + first
            for _ in 0..<rows {
                let gi = load(gRow)
                let xh = (load(xRow) - mu) * inv
                sg += gi
                sgx += gi * xh
                xRow += columns
                gRow += columns
            }
            store(sg, sumG + first)
            store(sgx, sumGX + first)
            first += 8
        }
        for column in first..<columns {
            let mu = mean[column], inv = inverseStd[column]
            var sg: Float = 0, sgx: Float = 0
            var xRow = x + column, gRow = g + column
            for _ in 0..<rows {
                let gi = gRow.pointee
                let xh = (xRow.pointee - mu) * inv
                sg += gi
                sgx += gi * xh
                xRow += columns
                gRow += columns
            }
            sumG[column] = sg
            sumGX[column] = sgx
        }
    }

    /// ∂x of `BatchNormMath.backward`'s second loop: `s·(g − (1/N)·(Σg + x̂·Σg·x̂))` through batch
    /// statistics, `g·s` through constant ones (`s` = gamma·inverseStd).
    static func inputGradient(x: UnsafePointer<Float>, upstream g: UnsafePointer<Float>, rows: Int, columns: Int,
                              mean: UnsafePointer<Float>, inverseStd: UnsafePointer<Float>, scale s: UnsafePointer<Float>,
                              sumG: UnsafePointer<Float>, sumGX: UnsafePointer<Float>, batchStatistics: Bool,
                              into d: UnsafeMutablePointer<Float>) {
        let invN = 1 / Float(rows)
        var first = 0
        while first + 8 <= columns {
            let mu = load(mean + first), inv = load(inverseStd + first), factor = load(s + first)
            let sg = load(sumG + first), sgx = load(sumGX + first)
            var xRow = x + first, gRow = g + first, target = d + first
            for _ in 0..<rows {
                let gi = load(gRow)
                if batchStatistics {
                    let xh = (load(xRow) - mu) * inv
                    store(factor * (gi - invN * (sg + xh * sgx)), target)
                } else {
                    store(gi * factor, target)
                }
                xRow += columns
                gRow += columns
                target += columns
            }
            first += 8
        }
        for column in first..<columns {
            let mu = mean[column], inv = inverseStd[column], factor = s[column]
            let sg = sumG[column], sgx = sumGX[column]
            var xRow = x + column, gRow = g + column, target = d + column
            for _ in 0..<rows {
                let gi = gRow.pointee
                if batchStatistics {
                    let xh = (xRow.pointee - mu) * inv
                    target.pointee = factor * (gi - invN * (sg + xh * sgx))
                } else {
                    target.pointee = gi * factor
                }
                xRow += columns
                gRow += columns
                target += columns
            }
        }
    }
}
