import Testing
import Tensors

/// `Array(count:writingEachElementWith:)`: what the body writes is the array, on both sides of
/// the zero-filled limit, and an empty array never runs the body.
@Suite struct SmallAllocationTests {
    @Test(arguments: [1, 7, 512, 513, 5_000])
    func theArrayHoldsWhatTheBodyWrote(_ count: Int) {
        var seen = -1
        let values = [Float](count: count) { buffer in
            seen = buffer.count
            for i in buffer.indices { buffer[i] = Float(i) * 0.5 - 3 }
        }
        #expect(seen == count)
        #expect(values.count == count)
        #expect(values == (0..<count).map { Float($0) * 0.5 - 3 })
    }

    @Test func anEmptyArrayDoesNotRunTheBody() {
        var ran = false
        let values = [Double](count: 0) { _ in ran = true }
        #expect(values.isEmpty)
        #expect(!ran)
    }

    @Test func theLimitSitsWhereTheDocumentationSays() {
        #expect([Float].zeroFilledAllocationLimit == 512)
    }
}
