import Tensors

/// The `Float` max pooling that ``MaxPooling2D`` trains with: the same results as
/// ``PoolingMath/maxPool(_:geometry:)`` and ``PoolingMath/maxPoolBackward(upstream:argmax:inputShape:)``
/// bit for bit, but without a branch per scalar and with a 4-byte record per output scalar.
///
/// Forward records, for every output scalar, which cell of its window (`ki·windowWidth + kj`,
/// `-1` for a window wholly in the padding) held the first maximum. Each window cell is one
/// pass over the contiguous channels, compared and selected 8 lanes at a time; the first valid
/// cell is copied. A later cell replaces the maximum only when strictly greater, so ties and
/// NaNs resolve as in the reference (a NaN in the first cell stays, a later NaN is ignored).
/// Backward adds each upstream scalar to the input scalar its window cell names, going over
/// the window cells in order and adding zero where the cell did not win, so every input
/// scalar sees the same additions in the same order as the reference scatter.
enum MaxPoolKernel {
    /// The pooled `[N, OH, OW, C]` tensor and the winning window cell of every output scalar.
    /// O(N·OH·OW·window·C).
    static func forward(_ x: Tensor<Float>, geometry g: WindowGeometry) -> (output: Tensor<Float>, cells: [Int32]) {
        let n = x.shape[0], channels = x.shape[3]
        let count = n * g.outputPositions * channels
        // A window wholly in the padding keeps -infinity and cell -1, as in the reference.
        var out = [Float](repeating: -.infinity, count: count)
        var cells = [Int32](repeating: -1, count: count)
        x.withUnsafeBufferPointer { xs in
            out.withUnsafeMutableBufferPointer { outBuffer in
                cells.withUnsafeMutableBufferPointer { cellBuffer in
                    guard let input = xs.baseAddress, let output = outBuffer.baseAddress, let winners = cellBuffer.baseAddress else { return }
                    let (shared, o, a) = (SharedAddress(base: UnsafeMutablePointer(mutating: input)), SharedAddress(base: output),
                                          SharedAddress(base: winners))
                    // Large batches in runs of images side by side (each image on its own, so the same bits).
                    let inside = g.windowsLieInside
                    ParallelParts.forEach(rows: n, parts: ParallelParts.automatic(rows: n, width: x.scalarCount / max(1, n))) { images in
                        if inside {
                            poolInsideWindows(images, input: shared.base, geometry: g, channels: channels, output: o.base, cells: a.base)
                        } else {
                            poolImages(images, input: shared.base, geometry: g, channels: channels, output: o.base, cells: a.base)
                        }
                    }
                }
            }
        }
        return (Tensor(computedShape: [n, g.outputHeight, g.outputWidth, channels], out), cells)
    }

    /// The forward pass over the images of `range`.
    private static func poolImages(_ range: Range<Int>, input: UnsafePointer<Float>, geometry g: WindowGeometry, channels: Int,
                                   output o: UnsafeMutablePointer<Float>, cells a: UnsafeMutablePointer<Int32>) {
        var started = -1   // the last output position whose maximum has its first cell
        ConvolutionMath.forEachWindowCell(images: range, geometry: g) { image, position, ki, kj, pixel in
            let target = image * g.outputPositions + position
            let source = input + (image * g.inputHeight * g.inputWidth + pixel) * channels
            let cell = Int32(ki * g.windowWidth + kj)
            if target != started {
                (o + target * channels).update(from: source, count: channels)
                (a + target * channels).update(repeating: cell, count: channels)
                started = target
            } else {
                keepGreater(source, best: o + target * channels, winner: a + target * channels, cell: cell, count: channels)
            }
        }
    }

    /// ``poolImages(_:input:geometry:channels:output:cells:)`` for windows that lie wholly inside
    /// the image (`valid` padding): 8 channels of one output position at a time go over the
    /// window's cells in registers, in the same cell order with the same strict comparison, so
    /// the results are the same bits without a call and a store per window cell.
    private static func poolInsideWindows(_ range: Range<Int>, input: UnsafePointer<Float>, geometry g: WindowGeometry,
                                          channels: Int, output o: UnsafeMutablePointer<Float>, cells a: UnsafeMutablePointer<Int32>) {
        let imageSize = g.inputHeight * g.inputWidth * channels
        let rowStride = g.dilationHeight * g.inputWidth * channels, columnStride = g.dilationWidth * channels
        for image in range {
            var target = image * g.outputPositions * channels
            for oh in 0..<g.outputHeight {
                for ow in 0..<g.outputWidth {
                    let corner = input + image * imageSize + (g.inputRow(oh, 0) * g.inputWidth + g.inputColumn(ow, 0)) * channels
                    var c = 0
                    while c + 8 <= channels {
                        var best = UnsafeRawPointer(corner + c).loadUnaligned(as: SIMD8<Float>.self)
                        var winner = SIMD8<Int32>(repeating: 0)
                        for ki in 0..<g.windowHeight {
                            for kj in 0..<g.windowWidth where ki > 0 || kj > 0 {
                                let source = corner + ki * rowStride + kj * columnStride + c
                                let value = UnsafeRawPointer(source).loadUnaligned(as: SIMD8<Float>.self)
                                let greater = value .> best
                                best.replace(with: value, where: greater)
                                winner.replace(with: SIMD8(repeating: Int32(ki * g.windowWidth + kj)), where: greater)
                            }
                        }
                        UnsafeMutableRawPointer(o + target + c).storeBytes(of: best, as: SIMD8<Float>.self)
                        UnsafeMutableRawPointer(a + target + c).storeBytes(of: winner, as: SIMD8<Int32>.self)
                        c += 8
                    }
                    while c < channels {
                        var best = corner[c], winner: Int32 = 0
                        for ki in 0..<g.windowHeight {
                            for kj in 0..<g.windowWidth where ki > 0 || kj > 0 {
                                let value = corner[ki * rowStride + kj * columnStride + c]
                                if value > best {
                                    best = value
                                    winner = Int32(ki * g.windowWidth + kj)
                                }
                            }
                        }
                        o[target + c] = best
                        a[target + c] = winner
                        c += 1
                    }
                    target += channels
                }
            }
        }
    }

    /// ∂L/∂x `inputShape` from ∂L/∂y and the cells ``forward(_:geometry:)`` recorded.
    /// O(N·OH·OW·window·C) plus zeroing the input gradient.
    static func backward(upstream dy: Tensor<Float>, cells: [Int32], inputShape: [Int], geometry g: WindowGeometry) -> Tensor<Float> {
        let n = inputShape[0], channels = inputShape[3]
        let count = inputShape.reduce(1, *)
        // Zero uninitialized capacity would write to the shared empty-array storage (a data race).
        guard count > 0, dy.scalarCount > 0 else { return Tensor(computedShape: inputShape, [Float](repeating: 0, count: count)) }
        let imageSize = count / n
        let dx = dy.withUnsafeBufferPointer { gs in
            cells.withUnsafeBufferPointer { cellBuffer in
                [Float](unsafeUninitializedCapacity: count) { dxBuffer, initialized in
                    let upstream = SharedAddress(base: UnsafeMutablePointer(mutating: gs.baseAddress!))
                    let winners = SharedAddress(base: UnsafeMutablePointer(mutating: cellBuffer.baseAddress!))
                    let d = SharedAddress(base: dxBuffer.baseAddress!)
                    // Large batches in runs of images side by side, each zeroing and filling its own images.
                    let disjoint = g.windowsLieInside && g.dilationHeight == 1 && g.dilationWidth == 1 && g.strideHeight >= g.windowHeight && g.strideWidth >= g.windowWidth
                    let tiles = disjoint && g.outputHeight * g.strideHeight == g.inputHeight && g.outputWidth * g.strideWidth == g.inputWidth
                      && g.strideHeight == g.windowHeight && g.strideWidth == g.windowWidth
                    ParallelParts.forEach(rows: n, parts: ParallelParts.automatic(rows: n, width: imageSize)) { images in
                        // Windows that tile the image write every input scalar; otherwise the uncovered ones stay zero.
                        if !tiles { (d.base + images.lowerBound * imageSize).update(repeating: 0, count: images.count * imageSize) }
                        if disjoint {
                            scatterDisjointWindows(images, upstream: upstream.base, cells: winners.base, geometry: g, channels: channels,
                                                   into: d.base)
                            return
                        }
                        ConvolutionMath.forEachWindowCell(images: images, geometry: g) { image, position, ki, kj, pixel in
                            let source = (image * g.outputPositions + position) * channels
                            addWinning(upstream.base + source, winner: winners.base + source, cell: Int32(ki * g.windowWidth + kj),
                                       into: d.base + image * imageSize + pixel * channels, count: channels)
                        }
                    }
                    initialized = count
                }
            }
        }
        return Tensor(computedShape: inputShape, dx)
    }

    /// The backward scatter for windows that lie inside the image and do not overlap: each
    /// input scalar under a window gets its one addition onto zero, `0 + (winner ? g : 0)`,
    /// stored without reading the zero first (the same bits: `+0 + -0` is `+0`, as in the scatter).
    private static func scatterDisjointWindows(_ range: Range<Int>, upstream: UnsafePointer<Float>, cells: UnsafePointer<Int32>,
                                               geometry g: WindowGeometry, channels: Int, into dx: UnsafeMutablePointer<Float>) {
        let imageSize = g.inputHeight * g.inputWidth * channels
        let zero = SIMD8<Float>(repeating: 0)
        for image in range {
            var source = image * g.outputPositions * channels
            for oh in 0..<g.outputHeight {
                for ow in 0..<g.outputWidth {
                    let corner = dx + image * imageSize + (g.inputRow(oh, 0) * g.inputWidth + g.inputColumn(ow, 0)) * channels
                    for ki in 0..<g.windowHeight {
                        for kj in 0..<g.windowWidth {
                            let target = corner + (ki * g.inputWidth + kj) * channels
                            let cell = Int32(ki * g.windowWidth + kj), cellLanes = SIMD8<Int32>(repeating: cell)
                            var c = 0
                            while c + 8 <= channels {
                                let gradient = UnsafeRawPointer(upstream + source + c).loadUnaligned(as: SIMD8<Float>.self)
                                let winner = UnsafeRawPointer(cells + source + c).loadUnaligned(as: SIMD8<Int32>.self)
                                UnsafeMutableRawPointer(target + c).storeBytes(
                                    of: zero + zero.replacing(with: gradient, where: winner .== cellLanes), as: SIMD8<Float>.self)
                                c += 8
                            }
                            while c < channels {
                                let add: Float = cells[source + c] == cell ? upstream[source + c] : 0
                                target[c] = 0 + add
                                c += 1
                            }
                        }
                    }
                    source += channels
                }
            }
        }
    }

    // The channel loops in explicit 8-lane vectors: with three pointers that LLVM cannot
    // prove apart, the scalar loops stayed scalar with a branch per channel. (A Float
    // comparison's mask is a SIMDMask of Int32 lanes, so it selects the Int32 cells too.)

    /// `best[c] = max(best[c], source[c])` keeping the first maximum, with `winner[c] = cell` where it changed.
    @inline(__always)
    private static func keepGreater(_ source: UnsafePointer<Float>, best: UnsafeMutablePointer<Float>,
                                    winner: UnsafeMutablePointer<Int32>, cell: Int32, count: Int) {
        let cells = SIMD8<Int32>(repeating: cell)
        var c = 0
        while c + 8 <= count {
            let value = UnsafeRawPointer(source + c).loadUnaligned(as: SIMD8<Float>.self)
            let current = UnsafeRawPointer(best + c).loadUnaligned(as: SIMD8<Float>.self)
            let previous = UnsafeRawPointer(winner + c).loadUnaligned(as: SIMD8<Int32>.self)
            let greater = value .> current
            UnsafeMutableRawPointer(best + c).storeBytes(of: current.replacing(with: value, where: greater), as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(winner + c).storeBytes(
                of: previous.replacing(with: cells, where: greater),
                as: SIMD8<Int32>.self)
            c += 8
        }
        while c < count {
            if source[c] > best[c] {
                best[c] = source[c]
                winner[c] = cell
            }
            c += 1
        }
    }

    /// `target[c] += winner[c] == cell ? gradient[c] : 0`.
    @inline(__always)
    private static func addWinning(_ gradient: UnsafePointer<Float>, winner: UnsafePointer<Int32>, cell: Int32,
                                   into target: UnsafeMutablePointer<Float>, count: Int) {
        let cells = SIMD8<Int32>(repeating: cell), zero = SIMD8<Float>(repeating: 0)
        var c = 0
        while c + 8 <= count {
            let g = UnsafeRawPointer(gradient + c).loadUnaligned(as: SIMD8<Float>.self)
            let w = UnsafeRawPointer(winner + c).loadUnaligned(as: SIMD8<Int32>.self)
            let t = UnsafeRawPointer(target + c).loadUnaligned(as: SIMD8<Float>.self)
            let selected = zero.replacing(with: g, where: w .== cells)
            UnsafeMutableRawPointer(target + c).storeBytes(of: t + selected, as: SIMD8<Float>.self)
            c += 8
        }
        while c < count {
            let add: Float = winner[c] == cell ? gradient[c] : 0
            target[c] += add
            c += 1
        }
    }
}
