import Testing
@testable import Tensors

/// ``BLASThreads``: OpenBLAS stays at one thread, scopes, and that no setting changes a
/// product's bits. The settings are process-wide, so the suite runs serially and puts them back.
@Suite(.serialized) struct BLASThreadsTests {
    /// Runs `body` with `maximum` threads and `limit`, restoring both afterwards.
    func with<R>(maximum: Int, limit: Int, _ body: () throws -> R) rethrows -> R {
        let (oldMaximum, oldLimit) = (BLASThreads.maximum, BLASThreads.singleThreadedMultiplyAdds)
        defer {
            BLASThreads.maximum = oldMaximum
            BLASThreads.singleThreadedMultiplyAdds = oldLimit
        }
        BLASThreads.maximum = maximum
        BLASThreads.singleThreadedMultiplyAdds = limit
        return try body()
    }

    @Test func openBLASStaysOnOneThreadWhateverTheSettings() throws {
        _ = try Tensor.matmul(Tensor<Float>(zeros: [300, 300]), Tensor<Float>(zeros: [300, 300]))
        #expect(BLASThreads.libraryThreadCount == 1)
        with(maximum: 3, limit: 0) {
            BLASThreads.onOneThread { #expect(BLASThreads.libraryThreadCount == 1) }
            #expect(BLASThreads.libraryThreadCount == 1)
            #expect(BLASThreads.maximum == 3)
        }
        #expect(BLASThreads.libraryThreadsAtStart >= 1)
    }

    @Test func scopesNestAndSettingsClamp() {
        let before = BLASThreads.activeScopes
        BLASThreads.onOneThread {
            BLASThreads.onOneThread { #expect(BLASThreads.activeScopes >= before + 2) }
            #expect(BLASThreads.activeScopes >= before + 1)
        }
        with(maximum: -3, limit: -5) {
            #expect(BLASThreads.maximum == 1)
            #expect(BLASThreads.singleThreadedMultiplyAdds == 0)
        }
    }

    // Shapes of the digits CNN's and the MLP's products, in every transpose, with beta 0 and 1,
    // under every setting that decides whether and how a product is split.
    @Test(arguments: [
        GEMMCase(m: 512, k: 144, n: 32, transposeA: false, transposeB: false, beta: 1),
        GEMMCase(m: 512, k: 144, n: 32, transposeA: false, transposeB: false, beta: 0),
        GEMMCase(m: 128, k: 256, n: 64, transposeA: false, transposeB: false, beta: 0),
        GEMMCase(m: 144, k: 512, n: 32, transposeA: true, transposeB: false, beta: 0),
        GEMMCase(m: 512, k: 32, n: 144, transposeA: false, transposeB: true, beta: 0),
        GEMMCase(m: 2048, k: 9, n: 16, transposeA: false, transposeB: false, beta: 0),
        GEMMCase(m: 300, k: 100, n: 100, transposeA: true, transposeB: true, beta: 1),
        GEMMCase(m: 301, k: 203, n: 257, transposeA: false, transposeB: false, beta: 0),
    ])
    func noSettingChangesAProductsBits(_ c: GEMMCase) {
        let operands = c.operands(seed: 13)
        func product() -> [UInt32] { c.productBits(operands) }
        let reference = with(maximum: 1, limit: 1 << 22) { product() }
        #expect(with(maximum: 2, limit: 1 << 22) { product() } == reference, "\(c)")
        #expect(with(maximum: 2, limit: 0) { product() } == reference, "\(c)")
        #expect(with(maximum: 3, limit: 0) { product() } == reference, "\(c)")
        #expect(BLASThreads.onOneThread { product() } == reference, "\(c)")
    }
}
