import Foundation
import Tensors

/// Whether a convolution split into image parts, or a kernel gradient computed in runs, gives
/// the unsplit computation's bits on this machine's OpenBLAS kernels, found on the first use of
/// the shape in the process and kept (stop 19). A part's product keeps the whole inner
/// dimension, but whether it computes every scalar as the whole product does depends on the
/// kernel family: OpenBLAS 0.3.21's AVX-512 kernels kept the bits for any large cut, its
/// Haswell/Zen kernels only for row cuts at multiples of 12 rows and for no column cut
/// (docs/perf/layers.md, "Stop 19"). So no split is assumed: each candidate runs once on seeded
/// operands of the shape against the unsplit computation (the same code, one part), and only
/// one whose every scalar has the same bits is used; else fewer parts, down to none.
enum ConvolutionSplitCheck {
    enum Pass: Hashable {
        case forward(bias: Bool, keepsPatches: Bool)
        case inputGradient
        case kernelGradient(rows: Int, byTaps: Bool)
    }

    struct Key: Hashable {
        let scalarSize: Int, pass: Pass, geometry: WindowGeometry?, images: Int, channels: Int, filters: Int
        let split: Int
    }

    /// Row cuts of a product keep OpenBLAS's Haswell/Zen kernels' bits only at multiples of
    /// this many rows (the kernel's 3 x 4 blocks); image parts are cut there when they can be.
    static let rowAlignment = 12

    /// The most scalars a check allocates (operands, patches and two results): 2^25, 128 MiB of
    /// `Float`, as ``/Tensors/SplitProbe``. A larger shape is not checked and is not split:
    /// slower, never different bits.
    static let maximumCheckScalars = 1 << 25

    /// Scalars a check of an image split of `n` images allocates: inputs, patches and two results.
    static func imageCheckScalars(geometry g: WindowGeometry, images n: Int, channels: Int, filters: Int) -> Int {
        n * (3 * g.inputHeight * g.inputWidth * channels + g.outputPositions * (3 * filters + g.windowHeight * g.windowWidth * channels))
    }

    /// Images per aligned cut: the fewest whole images whose patch rows are a multiple of ``rowAlignment``.
    static func imageAlignment(positions: Int) -> Int {
        var (a, b) = (max(1, positions), rowAlignment)
        while b != 0 { (a, b) = (b, a % b) }
        return rowAlignment / a
    }

    /// The first of `candidates` (splits other than `whole`) whose result, from `compute`, has
    /// the bits of `compute(whole)`; `whole` when none has. `key` names a candidate's verdict.
    static func firstKeepingBits(_ candidates: [Int], whole: Int, key: (Int) -> Key, compute: (Int) -> [UInt8]) -> Int {
        var wholeResult: [UInt8]?
        for candidate in candidates where candidate != whole {
            let name = key(candidate)
            if let known = verdicts.withLock({ $0[name] }) {
                if known { return candidate }
                continue
            }
            if wholeResult == nil { wholeResult = compute(whole) }
            let same = compute(candidate) == wholeResult
            verdicts.withLock { $0[name] = same }
            if same { return candidate }
        }
        return whole
    }

    /// Image parts for a forward convolution: `planned` or fewer, down to 1, that keep the bits.
    static func forwardParts<S: BLASScalar>(_ planned: Int, _: S.Type, geometry g: WindowGeometry, images n: Int,
                                            channels: Int, filters: Int, bias: Bool, keepsPatches: Bool) -> Int {
        guard planned > 1, n > 1,
              imageCheckScalars(geometry: g, images: n, channels: channels, filters: filters) <= maximumCheckScalars
        else { return 1 }
        let pass = Pass.forward(bias: bias, keepsPatches: keepsPatches)
        return firstKeepingBits(Array((2...min(planned, n)).reversed()), whole: 1, key: {
            Key(scalarSize: MemoryLayout<S>.size, pass: pass, geometry: g, images: n, channels: channels, filters: filters, split: $0)
        }, compute: { parts in
            var values = ProbeValues(seed: 19)
            let x: Tensor<S> = values.tensor([n, g.inputHeight, g.inputWidth, channels])
            let kernel: Tensor<S> = values.tensor([g.windowHeight, g.windowWidth, channels, filters])
            let b: Tensor<S>? = bias ? values.tensor([filters]) : nil
            return bytes(ConvolutionMath.conv2D(x, kernel: kernel, bias: b, geometry: g, keepingPatches: keepsPatches,
                                                exactParts: parts).output)
        })
    }

    /// Image parts for an input gradient: `planned` or fewer, down to 1, that keep the bits.
    static func inputGradientParts<S: BLASScalar>(_ planned: Int, _: S.Type, geometry g: WindowGeometry, images n: Int,
                                                  channels: Int, filters: Int) -> Int {
        guard planned > 1, n > 1,
              imageCheckScalars(geometry: g, images: n, channels: channels, filters: filters) <= maximumCheckScalars
        else { return 1 }
        return firstKeepingBits(Array((2...min(planned, n)).reversed()), whole: 1, key: {
            Key(scalarSize: MemoryLayout<S>.size, pass: .inputGradient, geometry: g, images: n, channels: channels,
                filters: filters, split: $0)
        }, compute: { parts in
            var values = ProbeValues(seed: 23)
            let x: Tensor<S> = values.tensor([n, g.inputHeight, g.inputWidth, channels])
            let kernel: Tensor<S> = values.tensor([g.windowHeight, g.windowWidth, channels, filters])
            let dy: Tensor<S> = values.tensor([n, g.outputHeight, g.outputWidth, filters])
            let result = ConvolutionMath.conv2DBackward(x: x, kernel: kernel, upstream: dy, geometry: g, wantsParameters: false,
                                                        wantsBias: false, wantsInput: true, exactParts: parts)
            return bytes(result.input!)
        })
    }

    /// The run width for a kernel gradient of `rows` patch rows: `planned` if its runs keep the
    /// whole product's bits, else `extent` (one product).
    static func kernelGradientWidth<S: BLASScalar>(_ planned: Int, _: S.Type, rows: Int, depth: Int, filters: Int,
                                                   byTaps: Bool) -> Int {
        let extent = byTaps ? depth : filters
        guard planned < extent, rows * (depth + filters) + 2 * depth * filters <= maximumCheckScalars else { return extent }
        return firstKeepingBits([planned], whole: extent, key: {
            Key(scalarSize: MemoryLayout<S>.size, pass: .kernelGradient(rows: rows, byTaps: byTaps), geometry: nil,
                images: 0, channels: depth, filters: filters, split: $0)
        }, compute: { width in
            var values = ProbeValues(seed: 29)
            let patches: [S] = values.scalars(rows * depth), upstream: [S] = values.scalars(rows * filters)
            var gradient = [S](repeating: 0, count: depth * filters)
            patches.withUnsafeBufferPointer { p in
                upstream.withUnsafeBufferPointer { u in
                    gradient.withUnsafeMutableBufferPointer { d in
                        ConvolutionMath.kernelGradientRuns(patches: p.baseAddress!, upstream: u.baseAddress!, rows: rows,
                                                           depth: depth, filters: filters, byTaps: byTaps, width: width,
                                                           into: d.baseAddress!)
                    }
                }
            }
            return gradient.withUnsafeBytes { Array($0) }
        })
    }

    /// Forgets every verdict (tests: check again).
    static func reset() { verdicts.withLock { $0.removeAll() } }

    /// The verdicts so far: whether each checked split kept the bits.
    static var known: [Key: Bool] { verdicts.withLock { $0 } }

    private static func bytes<S: BLASScalar>(_ tensor: Tensor<S>) -> [UInt8] {
        tensor.withUnsafeBufferPointer { UnsafeRawBufferPointer($0).map { $0 } }
    }

    private static let verdicts = LockedVerdicts()
}

/// The verdict table behind an `NSLock`.
private final class LockedVerdicts: @unchecked Sendable {
    private let lock = NSLock()
    private var table: [ConvolutionSplitCheck.Key: Bool] = [:]

    func withLock<R>(_ body: (inout [ConvolutionSplitCheck.Key: Bool]) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&table)
    }
}

/// The check's operands: normal values, one in eight a thousand times larger and one in sixteen
/// zero, so any other order of a sum shows in its bits.
private struct ProbeValues {
    var generator: SplitMix64

    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    mutating func scalars<S: BLASScalar>(_ count: Int) -> [S] {
        (0..<count).map { index in
            let value = generator.nextNormal()
            return index % 16 == 5 ? 0 : S(index % 8 == 3 ? value * 1000 : value)
        }
    }

    mutating func tensor<S: BLASScalar>(_ shape: [Int]) -> Tensor<S> {
        Tensor(computedShape: shape, scalars(shape.reduce(1, *)))
    }
}
