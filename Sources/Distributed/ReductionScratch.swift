/// The all-gather's send and receive memory, kept between reductions: fresh multi-megabyte
/// arrays on every step cost more in page faults than the copy itself (measured with
/// `batchwise-bench distributed`). Raw memory, bound to `Float` or `Double` per call.
final class ReductionScratch {
    private var sendMemory = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    private var receiveMemory = UnsafeMutableRawBufferPointer(start: nil, count: 0)

    func send<Scalar>(_: Scalar.Type, count: Int) -> UnsafeMutableBufferPointer<Scalar> {
        Self.buffer(&sendMemory, Scalar.self, count: count)
    }

    func receive<Scalar>(_: Scalar.Type, count: Int) -> UnsafeMutableBufferPointer<Scalar> {
        Self.buffer(&receiveMemory, Scalar.self, count: count)
    }

    /// The last (large) result handed out, reused when its holder has let go of it (the trainer
    /// keeps a step's reduced gradients only until it has built the gradient tensors).
    private var lastResult: Any?

    /// An array of `count` values (their contents undefined) with room for one more: the last
    /// kept result's memory when nothing else holds it any more, else a fresh one. A fresh
    /// megabyte per step cost page faults (`batchwise-bench distributed`).
    func reusableResult<Scalar: CommunicatorScalar>(_: Scalar.Type, count: Int) -> [Scalar] {
        var reused = lastResult as? [Scalar] ?? []
        lastResult = nil
        guard reused.count == count else {
            reused = Bits.zeros(Scalar.self, count: count)
            reused.reserveCapacity(count + 1)
            return reused
        }
        return reused
    }

    /// Keeps `result` for ``reusableResult(_:count:)``.
    func keepResult<Scalar: CommunicatorScalar>(_ result: [Scalar]) {
        lastResult = result
    }

    private static func buffer<Scalar>(
        _ memory: inout UnsafeMutableRawBufferPointer, _: Scalar.Type, count: Int
    ) -> UnsafeMutableBufferPointer<Scalar> {
        let bytes = count * MemoryLayout<Scalar>.stride
        if memory.count < bytes {
            memory.deallocate()
            memory = .allocate(byteCount: bytes, alignment: 16)
        }
        let typed = memory.bindMemory(to: Scalar.self)
        return UnsafeMutableBufferPointer(rebasing: typed[0..<count])
    }

    deinit {
        sendMemory.deallocate()
        receiveMemory.deallocate()
    }
}

/// Copies and zeros of `Float` / `Double` buffers as raw bytes: in the reductions' code, generic
/// over the scalar, the typed `update(from:count:)` and `Array(repeating:count:)` copied element
/// by element through the runtime's value witnesses (a `perf` profile of
/// `batchwise-bench distributed`). All-zero bytes are `+0.0` in both types.
enum Bits {
    static func copy<Scalar: CommunicatorScalar>(_ source: UnsafePointer<Scalar>, to target: UnsafeMutablePointer<Scalar>, count: Int) {
        UnsafeMutableRawPointer(target).copyMemory(from: UnsafeRawPointer(source), byteCount: count * MemoryLayout<Scalar>.stride)
    }

    static func zero<Scalar: CommunicatorScalar>(_ target: UnsafeMutableBufferPointer<Scalar>) {
        guard let base = target.baseAddress else { return }
        UnsafeMutableRawPointer(base).initializeMemory(as: UInt8.self, repeating: 0, count: target.count * MemoryLayout<Scalar>.stride)
    }

    /// `count` zeros.
    static func zeros<Scalar: CommunicatorScalar>(_: Scalar.Type, count: Int) -> [Scalar] {
        guard count > 0 else { return [] }
        return [Scalar](unsafeUninitializedCapacity: count) { buffer, initialized in
            zero(buffer)
            initialized = count
        }
    }
}
