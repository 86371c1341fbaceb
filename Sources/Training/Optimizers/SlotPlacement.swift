import Tensors

/// Where an optimizer's slot buffers start in memory, so that the streams of Adam's fused pass
/// do not slow each other down. Only addresses are chosen: values, shapes and state are the same.
///
/// The fused pass (``AdamKernel``) reads and writes five buffers of one variable in step: the
/// weight, its gradient, the momentum, the velocity and the EMA average. On this project's
/// benchmark CPU (AMD Zen 4) it runs about 35% slower when two of the buffers start a few bytes
/// apart modulo 4 KiB (the loads of one stream then wait on stores to another that look like
/// the same address to the CPU), and 8x slower at some spacings where all five share the low 12
/// bits (docs/perf/layers.md, stop 16). glibc hands out a variable's slots, created one after
/// another, back to back: 48 bytes apart modulo 4 KiB, the slow case.
///
/// A Swift array cannot be allocated at a chosen address, but the allocator carves buffers out
/// of its heap in order, so the capacity of one buffer decides where the next starts. Every
/// slot buffer of a large variable gets its own offset modulo ``period``, as far as possible
/// from the offsets of the variable's weight and gradient and of its other slots, and in the
/// weight's phase modulo ``alignment`` (``AdamKernel`` starts its eight-lane loop where the
/// weight is aligned, so the slots are aligned there too); each buffer gets the spare capacity
/// that puts the next one on its offset. Where the allocator does not place the next buffer
/// where expected (a free hole, another thread), a spacer buffer, freed at the end, is
/// allocated to learn where buffers land now (at most ``spacersPerBuffer`` per buffer);
/// otherwise the buffer stays where it landed.
enum SlotPlacement {
    /// The span of address bits that decides whether two streams get in each other's way.
    static let period = 4096
    /// The bytes of one eight-lane load: a load at a multiple of this never straddles two
    /// cache lines.
    static let alignment = 32
    /// Variables with fewer scalars are not placed: their whole pass is a few hundred cycles.
    static let minimumCount = 4096
    /// Variables with more scalars are not placed either: glibc maps buffers above its largest
    /// mmap threshold (32 MiB) on their own pages, all at one offset, and spacers cannot move them.
    static let maximumCount = (32 << 20) / MemoryLayout<Float>.stride
    /// Spacers tried before a buffer is left where the allocator puts it.
    static let spacersPerBuffer = 4

    /// `slots[variable][slot]`, each a tensor of `shapes[variable]` filled with
    /// `initialValues[slot]`. `neighbours[variable]` are the addresses of the variable's weight
    /// and gradient (in that order), when known.
    static func buffers(shapes: [[Int]], initialValues: [Float], neighbours: [[Int]] = []) throws -> [[Tensor<Float>]] {
        #if canImport(Glibc)
        return try placedBuffers(shapes: shapes, initialValues: initialValues, neighbours: neighbours)
        #else
        return shapes.map { shape in initialValues.map { Tensor(repeating: $0, shape: shape) } }
        #endif
    }

    /// The offset in ``period`` that is `phase` past a multiple of ``alignment`` and farthest
    /// (around the period) from every address in `occupied` and `more`; the first such offset
    /// when several tie, `phase` when none is occupied. (Two lists rather than one so that the
    /// placement loop allocates nothing.)
    static func bestOffset(avoiding occupied: [Int], _ more: [Int] = [], phase: Int = 0) -> Int {
        var best = phase, bestDistance = -1
        for candidate in Swift.stride(from: phase % alignment, to: period, by: alignment) {
            var distance = period
            for address in occupied { distance = min(distance, circularDistance(candidate, address)) }
            for address in more { distance = min(distance, circularDistance(candidate, address)) }
            if distance > bestDistance { (best, bestDistance) = (candidate, distance) }
        }
        return best
    }

    /// How far apart two addresses are modulo ``period``, the shorter way around.
    static func circularDistance(_ a: Int, _ b: Int) -> Int {
        let forward = ((a - b) % period + period) % period
        return min(forward, period - forward)
    }

    /// The address of a tensor's first scalar.
    static func address(of tensor: Tensor<Float>) -> Int {
        tensor.withUnsafeBufferPointer { Int(bitPattern: $0.baseAddress) }
    }

    #if canImport(Glibc)
    /// Bytes from the first element of one array to that of the array glibc allocates right
    /// after it from the same free space: the Swift array header (32 bytes) and the elements,
    /// plus glibc's 8-byte chunk header, rounded up to glibc's 16 bytes.
    private static func stride(capacity: Int) -> Int { (32 + 4 * capacity + 8 + 15) & ~15 }

    /// A `[Float]` of `count` copies of `value` with room for `capacity` elements.
    private static func array(count: Int, capacity: Int, value: Float) -> [Float] {
        Array(unsafeUninitializedCapacity: capacity) { buffer, initialized in
            UnsafeMutableBufferPointer(rebasing: buffer[..<count]).initialize(repeating: value)
            initialized = count
        }
    }

    /// Spare capacity that moves the array after one starting at `start` (with `count`
    /// elements) to `target` modulo ``period``.
    private static func padding(start: Int, count: Int, target: Int) -> Int {
        let lands = start + stride(capacity: count)
        return ((target - lands) % period + period) % period / 4
    }

    private static func placedBuffers(shapes: [[Int]], initialValues: [Float], neighbours: [[Int]]) throws -> [[Tensor<Float>]] {
        let counts = shapes.map { $0.reduce(1, *) }
        let slotCount = initialValues.count
        let none: [Int] = []
        // Everything small is allocated up front, so that none of it lands between two large buffers.
        var slots = [[Tensor<Float>]](repeating: [], count: shapes.count)
        for v in slots.indices { slots[v].reserveCapacity(slotCount) }
        var spacers: [[Float]] = []
        spacers.reserveCapacity(spacersPerBuffer * shapes.count * slotCount)
        var placed: [Int] = []   // addresses of the current variable's slots so far
        placed.reserveCapacity(slotCount + 1)
        /// The offset for variable `v`'s slot `s`, given `placed`; nil when it is not placed.
        func goal(_ v: Int, _ s: Int) -> Int? {
            guard v < shapes.count, (minimumCount..<maximumCount).contains(counts[v]) else { return nil }
            let fixed = v < neighbours.count ? neighbours[v] : none
            return bestOffset(avoiding: fixed, s == 0 ? none : placed, phase: fixed.first.map { $0 % alignment } ?? 0)
        }
        var expected: Int?   // where the allocator should put the next large buffer
        for v in shapes.indices {
            placed.removeAll(keepingCapacity: true)
            let count = counts[v]
            for s in 0..<slotCount {
                guard let target = goal(v, s) else {
                    slots[v].append(Tensor(repeating: initialValues[s], shape: shapes[v]))
                    expected = nil
                    continue
                }
                // Until a buffer lands on the target: when the next buffer is expected elsewhere
                // (or nobody knows where), a spacer sized to move the one after it onto the target;
                // a buffer that lands off target is kept as a spacer too, up to the last try.
                var tries = 0
                while true {
                    let last = tries == spacersPerBuffer
                    if !last, expected.map({ $0 % period != target }) ?? true {
                        let spare = expected.map { padding(start: $0, count: count, target: target) } ?? 0
                        let spacer = array(count: 1, capacity: count + spare, value: 0)
                        expected = spacer.withUnsafeBufferPointer { Int(bitPattern: $0.baseAddress) }
                            + stride(capacity: count + spare)
                        spacers.append(spacer)
                        tries += 1
                        continue
                    }
                    // This buffer's spare room puts the next one (this variable's next slot, or
                    // the next variable's first) on its offset.
                    let start = expected ?? 0
                    placed.append(start)
                    let next = s + 1 < slotCount ? goal(v, s + 1) : goal(v + 1, 0)
                    placed.removeLast()
                    let spare = next.map { padding(start: start, count: count, target: $0) } ?? 0
                    let buffer = array(count: count, capacity: count + spare, value: initialValues[s])
                    let landed = buffer.withUnsafeBufferPointer { Int(bitPattern: $0.baseAddress) }
                    expected = landed + stride(capacity: count + spare)
                    if landed % period != target, !last {
                        spacers.append(buffer)
                        tries += 1
                        continue
                    }
                    placed.append(landed)
                    slots[v].append(try Tensor(shape: shapes[v], scalars: buffer))
                    break
                }
            }
        }
        withExtendedLifetime(spacers) {}
        return slots
    }
    #endif
}
