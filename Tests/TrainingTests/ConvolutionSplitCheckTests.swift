import Foundation
import Testing
@testable import Training

/// The check that keeps a convolution split only where it gave the whole computation's bits,
/// and the aligned image cuts it prefers.
@Suite struct ConvolutionSplitCheckTests {
    /// A verdict name no convolution uses (no geometry, negative rows).
    func key(_ split: Int, rows: Int) -> ConvolutionSplitCheck.Key {
        .init(scalarSize: 4, pass: .kernelGradient(rows: rows, byTaps: true), geometry: nil, images: 0, channels: 1,
              filters: 1, split: split)
    }

    @Test func aSplitIsKeptOnlyWhenItGaveTheWholeBits() {
        // Splits 4 and 3 give other bytes than the whole (1); split 2 gives the same.
        var calls: [Int] = []
        let compute: (Int) -> [UInt8] = { split in calls.append(split); return split >= 3 ? [UInt8(split)] : [1] }
        let chosen = ConvolutionSplitCheck.firstKeepingBits([4, 3, 2], whole: 1, key: { key($0, rows: -101) }, compute: compute)
        #expect(chosen == 2)
        #expect(calls == [1, 4, 3, 2])
        // The verdicts are kept: asked again, nothing is computed.
        calls = []
        #expect(ConvolutionSplitCheck.firstKeepingBits([4, 3, 2], whole: 1, key: { key($0, rows: -101) }, compute: compute) == 2)
        #expect(calls.isEmpty)
        // No candidate keeps the bits: the whole computation.
        #expect(ConvolutionSplitCheck.firstKeepingBits([3], whole: 1, key: { key($0, rows: -102) }, compute: { [UInt8($0)] }) == 1)
    }

    @Test func aShapeTooLargeToCheckIsNotSplit() throws {
        // 512 MNIST images (28x28, 3x3 valid, 32 filters): a check would need 37.5 M scalars, above 2^25.
        let g = try WindowGeometry(input: (28, 28), window: (3, 3), strides: (1, 1), padding: .valid, layer: "test")
        #expect(ConvolutionSplitCheck.imageCheckScalars(geometry: g, images: 512, channels: 1, filters: 32) > ConvolutionSplitCheck.maximumCheckScalars)
        #expect(ConvolutionSplitCheck.forwardParts(4, Float.self, geometry: g, images: 512, channels: 1, filters: 32,
                                                   bias: true, keepsPatches: true) == 1)
        #expect(ConvolutionSplitCheck.inputGradientParts(4, Float.self, geometry: g, images: 512, channels: 1, filters: 32) == 1)
        // Not split because not checked (no verdict recorded), not because a check rejected the split.
        #expect(!ConvolutionSplitCheck.known.keys.contains { $0.geometry == g && $0.images == 512 })
    }

    @Test func imageCutsFallOnMultiplesOf12PatchRows() {
        // Images per cut: 676 positions (28x28 valid 3x3) = 4 · 169 → 3 images; 121 → 12; 1,600 → 3; 144 → 1.
        #expect(ConvolutionSplitCheck.imageAlignment(positions: 676) == 3)
        #expect(ConvolutionSplitCheck.imageAlignment(positions: 121) == 12)
        #expect(ConvolutionSplitCheck.imageAlignment(positions: 1_600) == 3)
        #expect(ConvolutionSplitCheck.imageAlignment(positions: 144) == 1)
        // 128 images in 4 parts cut at multiples of 12: every image once, every cut aligned.
        let runs = Runs()
        ParallelParts.forEach(rows: 128, parts: 4, alignment: 12) { runs.add($0) }
        let sorted = runs.all.sorted { $0.lowerBound < $1.lowerBound }
        #expect(sorted.map(\.lowerBound) == [0, 36, 60, 96])
        #expect(sorted.last?.upperBound == 128)
        #expect(zip(sorted, sorted.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
    }
}

/// The runs a split pass handed out, from several threads.
private final class Runs: @unchecked Sendable {
    private let lock = NSLock()
    private var runs: [Range<Int>] = []
    func add(_ run: Range<Int>) { lock.lock(); runs.append(run); lock.unlock() }
    var all: [Range<Int>] { lock.lock(); defer { lock.unlock() }; return runs }
}
