import Tensors

/// ``Conv2D``'s products: im2col into sgemm forward, the kernel gradient from the kept patch
/// matrix, and the input gradient as `dy·kernelᵀ` folded back by col2im.
///
/// A large convolution splits its batch into ``imageParts`` runs of whole images that
/// unfold, multiply and fold back side by side on `DispatchQueue.concurrentPerform`, each
/// product on one BLAS thread (``/Tensors/BLASThreads/onOneThread(_:)``): then the unfolding and
/// the folding run on both cores too, not just sgemm, and no BLAS thread spins between them.
/// Whether a part's product computes every output row as the whole-batch product does depends
/// on OpenBLAS's kernel family (the AVX-512 kernels: any large cut; Haswell/Zen: row cuts at
/// multiples of 12 rows), so parts are cut at whole images whose patch rows are a multiple of
/// 12 where they can be, and ``ConvolutionSplitCheck`` checks each split once per shape against
/// the whole computation before it is used (`ConvolutionPartsTests`). The kernel gradient sums
/// over the batch: its runs cut taps or filters, never images, and are checked the same way.
///
/// Products whose patch rows are short (a grey image's 3x3 window: 9 taps) go to
/// ``ShortPatchProducts``' kernels instead of sgemm when they are known to give sgemm's bits.
extension ConvolutionMath {
    /// The most scalars of a patch matrix a training forward pass keeps for the kernel
    /// gradient (64 MiB of Float); larger ones are unfolded again, chunk by chunk, in backward.
    static let keptPatchBudget = 1 << 24

    /// The fewest multiply-adds (2²³) one part's product may have. Below it the hand-off costs
    /// more than a second core saves (an 8x8 image CNN's convolutions stay whole), and, what
    /// decides it, OpenBLAS would compute the part with another kernel than the whole product
    /// and round differently: its small-matrix kernel (up to 10⁶ multiply-adds) and, for an
    /// untransposed product with `beta` 0 on one thread, its direct kernel (up to 28·512²).
    static let minimumPartMultiplyAdds = 1 << 23

    /// The most parts a batch is split into: a few per core, so a core taken away by other
    /// processes for a while delays one part rather than half the batch.
    static let imageParts = 4

    /// The parts ``conv2D(_:kernel:bias:geometry:keepingPatches:imageParts:)`` splits `images`
    /// into, `perImage` multiply-adds each, when one product takes at most `chunk` images: the
    /// most, up to ``imageParts``, for which every product, split or whole, still has
    /// ``minimumPartMultiplyAdds`` (so OpenBLAS takes each with the same kernel); 1 when even
    /// the whole batch's products do not.
    static func automaticParts(images: Int, perImage: Int, chunk: Int) -> Int {
        // The smallest product of `count` images taken `chunk` at a time: the remainder, if any.
        func smallestProduct(_ count: Int) -> Int {
            (count <= chunk || count % chunk == 0 ? min(count, chunk) : count % chunk) * perImage
        }
        guard images > 1, smallestProduct(images) >= minimumPartMultiplyAdds else { return 1 }
        var parts = min(imageParts, images)
        while parts > 1 && min(smallestProduct(images / parts), smallestProduct((images + parts - 1) / parts)) < minimumPartMultiplyAdds {
            parts -= 1
        }
        return parts
    }

    /// Rows or columns per product of the kernel gradient, of `extent` in all, `perUnit`
    /// multiply-adds each: all of them (one product on OpenBLAS's threads) unless runs of a
    /// multiple of `multiple` (24 for rows: whole 3 x 4 row blocks of the Haswell/Zen kernels and
    /// of 8), up to ``imageParts`` of them (or `requested`), each keep ``minimumPartMultiplyAdds``.
    /// A plan only: ``ConvolutionSplitCheck`` keeps it only where its runs keep the bits.
    static func gradientRunWidth(extent: Int, perUnit: Int, requested: Int? = nil, multiple: Int = 8) -> Int {
        var parts = min(requested ?? imageParts, extent / multiple)
        while parts > 1 {
            let rounded = ((extent + parts - 1) / parts + multiple - 1) / multiple * multiple
            let last = extent - (extent - 1) / rounded * rounded
            if min(rounded, last) * perUnit >= minimumPartMultiplyAdds || requested != nil { return rounded }
            parts -= 1
        }
        return extent
    }

    /// `y = conv(x, kernel) + bias` for x `[N, H, W, in]`, kernel `[kh, kw, in, out]`, bias
    /// `[out]`; the result is `[N, OH, OW, out]`. Shapes must already agree with `g`.
    /// O(N·OH·OW·kh·kw·in·out) in sgemm/dgemm, plus the unfolding.
    static func conv2D<S: BLASScalar>(_ x: Tensor<S>, kernel: Tensor<S>, bias: Tensor<S>?, geometry g: WindowGeometry) -> Tensor<S> {
        conv2D(x, kernel: kernel, bias: bias, geometry: g, keepingPatches: false).output
    }

    /// ``conv2D(_:kernel:bias:geometry:)`` that, with `keepingPatches` and a patch matrix
    /// within ``keptPatchBudget``, unfolds the whole batch and returns the patch matrix too,
    /// for ``conv2DBackward(x:kernel:upstream:geometry:patches:wantsParameters:wantsBias:wantsInput:imageParts:)``
    /// to take the kernel gradient from without unfolding again. `imageParts` overrides
    /// ``automaticParts(images:perImage:chunk:)`` (tests compare 1 against several). Either way
    /// the split is used only when ``ConvolutionSplitCheck`` found it gives the whole batch's
    /// bits (else fewer parts); `exactParts` skips that check (the check's own runs).
    static func conv2D<S: BLASScalar>(_ x: Tensor<S>, kernel: Tensor<S>, bias: Tensor<S>?, geometry g: WindowGeometry,
                                      keepingPatches: Bool, imageParts requested: Int? = nil,
                                      exactParts: Int? = nil) -> (output: Tensor<S>, patches: [S]?) {
        let n = x.shape[0], channels = x.shape[3], filters = kernel.shape[3]
        let depth = g.windowHeight * g.windowWidth * channels
        let positions = g.outputPositions
        let imageSize = g.inputHeight * g.inputWidth * channels
        let shape = [n, g.outputHeight, g.outputWidth, filters]
        let count = n * positions * filters
        // Zero uninitialized capacity would write to the shared empty-array storage (a data race).
        guard count > 0, depth > 0 else { return (Tensor(computedShape: shape, [S](repeating: 0, count: count)), nil) }
        let keeps = keepingPatches && n * positions * depth <= keptPatchBudget
        // Images unfolded per product: the whole part when the patches are kept, else what fits the budget.
        let chunk = keeps ? n : imagesPerChunk(rowsPerImage: positions, width: depth, batch: n)
        // `exactParts`: ConvolutionSplitCheck's own runs; every other split is checked to keep the bits first.
        let parts = exactParts ?? ConvolutionSplitCheck.forwardParts(
            requested ?? automaticParts(images: n, perImage: positions * depth * filters, chunk: chunk), S.self, geometry: g,
            images: n, channels: channels, filters: filters, bias: bias != nil, keepsPatches: keepingPatches)
        let alignment = ConvolutionSplitCheck.imageAlignment(positions: positions)
        var kept: [S]? = keeps ? uninitializedScalars(n * positions * depth) : nil   // im2col writes every entry
        let out = [S](unsafeUninitializedCapacity: count) { o, initialized in
            x.withUnsafeBufferPointer { xs in
                kernel.withUnsafeBufferPointer { k in
                    withOptionalBuffer(bias) { b in
                        withOptionalMutableBuffer(&kept) { keptBase in
                            let addresses = Addresses(x: xs.baseAddress!, kernel: k.baseAddress!, bias: b,
                                                      patches: keptBase, output: o.baseAddress!)
                            ParallelParts.forEach(rows: n, parts: parts, alignment: alignment, oneBLASThread: true) { images in
                                var local: [S] = addresses.patches == nil ? uninitializedScalars(min(chunk, images.count) * positions * depth) : []
                                local.withUnsafeMutableBufferPointer { scratch in
                                    var first = images.lowerBound
                                    while first < images.upperBound {
                                        let count = min(chunk, images.upperBound - first)
                                        let patches = addresses.patches.map { $0 + first * positions * depth } ?? scratch.baseAddress!
                                        im2col(addresses.x + first * imageSize, images: count, channels: channels, geometry: g,
                                               into: patches)
                                        let output = addresses.output + first * positions * filters
                                        if let bias = addresses.bias, S.self == Float.self,
                                           ShortPatchProducts.takesForward(rows: count * positions, depth: depth, filters: filters) {
                                            // Short patch rows: sgemm's bits without its packing and bias-filled output (ShortPatchProducts).
                                            ShortPatchProducts.forward(floats(UnsafePointer(patches)), rows: count * positions, depth: depth,
                                                                       kernel: floats(addresses.kernel), bias: floats(bias),
                                                                       filters: filters, into: mutableFloats(output))
                                        } else {
                                            // Every output scalar is written: the bias (then the product is added) or the product alone.
                                            if let bias = addresses.bias {
                                                var row = output
                                                for _ in 0..<(count * positions) {
                                                    for f in 0..<filters { row[f] = bias[f] }
                                                    row += filters
                                                }
                                            }
                                            S.gemm(transposeA: false, transposeB: false, m: count * positions, n: filters, k: depth,
                                                   alpha: 1, a: patches, lda: depth, b: addresses.kernel, ldb: filters,
                                                   beta: addresses.bias == nil ? 0 : 1, c: output, ldc: filters)
                                        }
                                        first += count
                                    }
                                }
                            }
                        }
                    }
                }
            }
            initialized = count
        }
        return (Tensor(computedShape: shape, out), kept)
    }

    /// Gradients of ``conv2D(_:kernel:bias:geometry:)`` from ∂L/∂y (`[N, OH, OW, out]`):
    /// ∂kernel = patchesᵀ·dy (Keras layout), ∂bias = Σ dy over N, OH, OW, and ∂x = col2im(dy·kernelᵀ).
    /// Each is computed only when asked for. `patches`, the whole batch's patch matrix that
    /// ``conv2D(_:kernel:bias:geometry:keepingPatches:imageParts:)`` kept, saves unfolding `x`
    /// again, and then the input gradient splits into `imageParts` (default
    /// ``automaticParts(images:perImage:chunk:)``), and the kernel gradient into runs
    /// (``gradientRunWidth(extent:perUnit:requested:multiple:)``), each checked to keep the bits as
    /// in the forward pass (`exactParts`: unchecked). Same order of work as the forward pass, twice.
    static func conv2DBackward<S: BLASScalar>(
        x: Tensor<S>, kernel: Tensor<S>, upstream dy: Tensor<S>, geometry g: WindowGeometry, patches kept: [S]? = nil,
        wantsParameters: Bool, wantsBias: Bool, wantsInput: Bool, imageParts requested: Int? = nil, exactParts: Int? = nil
    ) -> (input: Tensor<S>?, kernel: Tensor<S>?, bias: Tensor<S>?) {
        let n = x.shape[0], channels = x.shape[3], filters = kernel.shape[3]
        let depth = g.windowHeight * g.windowWidth * channels
        let positions = g.outputPositions
        let imageSize = g.inputHeight * g.inputWidth * channels
        var dKernel = [S](repeating: 0, count: wantsParameters ? depth * filters : 0)
        var dx = [S](repeating: 0, count: wantsInput ? x.scalarCount : 0)
        let usesKept = kept?.count == n * positions * depth
        if n > 0, positions > 0, filters > 0, depth > 0, wantsParameters && usesKept {
            // The whole batch's kernel gradient: one product per run of its rows (kernel taps)
            // or of its columns (filters), whichever is longer, so the shorter operand is the
            // one every run packs again. Each scalar still sums over the whole batch in order;
            // whether a run's product rounds as the whole one does depends on the kernel family,
            // so the runs are checked first (ConvolutionSplitCheck), else one product.
            let rows = n * positions
            let byTaps = depth >= filters
            let extent = byTaps ? depth : filters
            let planned = gradientRunWidth(extent: extent, perUnit: (byTaps ? filters : depth) * rows, requested: requested,
                                           multiple: byTaps ? 24 : 8)
            let width = exactParts.map { _ in planned } ?? ConvolutionSplitCheck.kernelGradientWidth(
                planned, S.self, rows: rows, depth: depth, filters: filters, byTaps: byTaps)
            kept!.withUnsafeBufferPointer { p in
                dy.withUnsafeBufferPointer { g2 in
                    dKernel.withUnsafeMutableBufferPointer { dk in
                        kernelGradientRuns(patches: p.baseAddress!, upstream: g2.baseAddress!, rows: rows, depth: depth,
                                           filters: filters, byTaps: byTaps, width: width, into: dk.baseAddress!)
                    }
                }
            }
        }
        let unfolds = wantsParameters && !usesKept
        if n > 0, positions > 0, filters > 0, depth > 0, unfolds || wantsInput {
            let chunk = imagesPerChunk(rowsPerImage: positions, width: depth, batch: n)
            // Unfolding for the kernel gradient accumulates over the batch in order: one part.
            let parts = unfolds ? 1 : exactParts ?? ConvolutionSplitCheck.inputGradientParts(
                requested ?? automaticParts(images: n, perImage: positions * depth * filters, chunk: chunk), S.self,
                geometry: g, images: n, channels: channels, filters: filters)
            let alignment = ConvolutionSplitCheck.imageAlignment(positions: positions)
            x.withUnsafeBufferPointer { xs in
                kernel.withUnsafeBufferPointer { k in
                    dy.withUnsafeBufferPointer { g2 in
                        dKernel.withUnsafeMutableBufferPointer { dk in
                            dx.withUnsafeMutableBufferPointer { d in
                                let addresses = BackwardAddresses(x: xs.baseAddress!, kernel: k.baseAddress!, upstream: g2.baseAddress!,
                                                                  kernelGradient: unfolds ? dk.baseAddress : nil,
                                                                  // An empty array's buffer may still have an address.
                                                                  inputGradient: wantsInput ? d.baseAddress : nil)
                                ParallelParts.forEach(rows: n, parts: parts, alignment: alignment, oneBLASThread: true) { images in
                                    // im2col or the product writes every entry before it is read.
                                    var patches: [S] = uninitializedScalars(min(chunk, images.count) * positions * depth)
                                    patches.withUnsafeMutableBufferPointer { p in
                                        var first = images.lowerBound
                                        while first < images.upperBound {
                                            let count = min(chunk, images.upperBound - first)
                                            let rows = count * positions
                                            let upstream = addresses.upstream + first * positions * filters
                                            if unfolds {
                                                im2col(addresses.x + first * imageSize, images: count, channels: channels,
                                                       geometry: g, into: p.baseAddress!)
                                                S.gemm(transposeA: true, transposeB: false, m: depth, n: filters, k: rows,
                                                       alpha: 1, a: p.baseAddress!, lda: depth, b: upstream, ldb: filters,
                                                       beta: first == 0 ? 0 : 1, c: addresses.kernelGradient!, ldc: filters)
                                            }
                                            if let inputGradient = addresses.inputGradient {
                                                S.gemm(transposeA: false, transposeB: true, m: rows, n: depth, k: filters,
                                                       alpha: 1, a: upstream, lda: filters, b: addresses.kernel, ldb: filters,
                                                       beta: 0, c: p.baseAddress!, ldc: depth)
                                                col2im(p.baseAddress!, images: count, channels: channels, geometry: g,
                                                       addingInto: inputGradient + first * imageSize)
                                            }
                                            first += count
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let input = wantsInput ? Tensor(computedShape: x.shape, dx) : nil
        let kernelGradient = wantsParameters ? Tensor(computedShape: kernel.shape, dKernel) : nil
        let biasGradient = wantsParameters && wantsBias ? try! dy.sumOverChannels() : nil
        return (input, kernelGradient, biasGradient)
    }

    /// The kernel gradient `patchesᵀ·upstream` of `rows` patch rows into `gradient` (`[depth,
    /// filters]`), one product per run of `width` taps (`byTaps`) or filters, the runs side by
    /// side, each on one BLAS thread. Each scalar still sums over all rows in order.
    static func kernelGradientRuns<S: BLASScalar>(
        patches p: UnsafePointer<S>, upstream u: UnsafePointer<S>, rows: Int, depth: Int, filters: Int, byTaps: Bool, width: Int,
        into gradientBase: UnsafeMutablePointer<S>
    ) {
        let extent = byTaps ? depth : filters
        let patches = SharedAddress(base: UnsafeMutablePointer(mutating: p))
        let upstream = SharedAddress(base: UnsafeMutablePointer(mutating: u))
        let gradient = SharedAddress(base: gradientBase)
        let runs = (extent + width - 1) / width
        ParallelParts.forEach(rows: runs, parts: runs, oneBLASThread: true) { parts in
            for part in parts {
                let first = part * width, count = min(width, extent - first)
                if byTaps {
                    S.gemm(transposeA: true, transposeB: false, m: count, n: filters, k: rows,
                           alpha: 1, a: patches.base + first, lda: depth, b: upstream.base, ldb: filters,
                           beta: 0, c: gradient.base + first * filters, ldc: filters)
                } else if S.self == Float.self, ShortPatchProducts.takesKernelGradient(rows: rows, depth: depth, filters: count) {
                    ShortPatchProducts.kernelGradient(floats(UnsafePointer(patches.base)), upstream: floats(UnsafePointer(upstream.base)),
                                                      rows: rows, depth: depth, filters: filters, run: first..<(first + count),
                                                      into: mutableFloats(gradient.base))
                } else {
                    S.gemm(transposeA: true, transposeB: false, m: depth, n: count, k: rows,
                           alpha: 1, a: patches.base, lda: depth, b: upstream.base + first, ldb: filters,
                           beta: 0, c: gradient.base + first, ldc: filters)
                }
            }
        }
    }

    /// `count` scalars that the caller writes before reading (no zero fill); empty for 0.
    static func uninitializedScalars<S: BLASScalar>(_ count: Int) -> [S] {
        // Zero uninitialized capacity would write to the shared empty-array storage (a data race).
        guard count > 0 else { return [] }
        return [S](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }
}

/// `pointer` as `Float` scalars, for the `Float`-only short-patch kernels (callers check `S.self == Float.self`).
private func floats<S: BLASScalar>(_ pointer: UnsafePointer<S>) -> UnsafePointer<Float> {
    UnsafeRawPointer(pointer).assumingMemoryBound(to: Float.self)
}

/// ``floats(_:)`` for a buffer the kernel writes.
private func mutableFloats<S: BLASScalar>(_ pointer: UnsafeMutablePointer<S>) -> UnsafeMutablePointer<Float> {
    UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: Float.self)
}

/// The buffers of one forward convolution, shared by its parts.
private struct Addresses<S: BLASScalar>: @unchecked Sendable {
    let x: UnsafePointer<S>, kernel: UnsafePointer<S>, bias: UnsafePointer<S>?
    let patches: UnsafeMutablePointer<S>?, output: UnsafeMutablePointer<S>
}

/// The buffers of one convolution backward pass, shared by its parts.
private struct BackwardAddresses<S: BLASScalar>: @unchecked Sendable {
    let x: UnsafePointer<S>, kernel: UnsafePointer<S>, upstream: UnsafePointer<S>
    let kernelGradient: UnsafeMutablePointer<S>?, inputGradient: UnsafeMutablePointer<S>?
}

/// Calls `body` with the base address of `tensor`'s scalars, or nil without a tensor.
private func withOptionalBuffer<S: BLASScalar, R>(_ tensor: Tensor<S>?, _ body: (UnsafePointer<S>?) -> R) -> R {
    guard let tensor else { return body(nil) }
    return tensor.withUnsafeBufferPointer { body($0.baseAddress) }
}

/// Calls `body` with the base address of `array`'s scalars, or nil without an array.
private func withOptionalMutableBuffer<S: BLASScalar, R>(_ array: inout [S]?, _ body: (UnsafeMutablePointer<S>?) -> R) -> R {
    guard array != nil else { return body(nil) }
    return array!.withUnsafeMutableBufferPointer { body($0.baseAddress) }
}
