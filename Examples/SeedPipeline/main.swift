/// SeedPipeline: the seed pipeline `Slices(x, y) → shuffle(bufferSize:seed:) → repeat →
/// batch(32) → prefetch(2)`, printed batch by batch, then saved mid-epoch and resumed.
///
/// It shows that an iterator's position is a small value: `it.state.encoded()` gives JSON
/// bytes, and `makeIterator(resumingFrom:)` in a fresh iterator continues with exactly the
/// batches the uninterrupted iterator yields (checked here; exit code 1 on a mismatch).
///
///     swift run SeedPipeline
import Batchwise
import Foundation

let rows = 100          // batch comes after repeat, so batches span epoch boundaries
var generator = SplitMix64(seed: 18)
let xs = (0..<rows).map { _ in generator.nextNormal() }      // x ~ N(0, 1), label x > 0
let x = try Tensor<Double>(shape: [rows, 1], scalars: xs)
let y = try Tensor<Double>(shape: [rows, 1], scalars: xs.map { $0 > 0 ? 1 : 0 })

let pipeline = try Slices(x, y)
    .shuffle(bufferSize: rows, seed: 18).repeat().batch(32).prefetch(2)

func describe(_ batch: (Tensor<Double>, Tensor<Double>)) -> String {
    let first = batch.0.scalars.prefix(3).map { String(format: "%+.3f", $0) }
    let labels = batch.1.scalars.prefix(3).map { String(Int($0)) }
    return "rows \(batch.0.shape[0]), first x \(first), first y \(labels)"
}

// The uninterrupted run: 10 batches (320 rows, 3.2 epochs).
var reference: [(Tensor<Double>, Tensor<Double>)] = []
var whole = pipeline.makeIterator()
for step in 0..<10 {
    guard let batch = try whole.next() else { break }
    reference.append(batch)
    if step < 6 { print("batch \(step): \(describe(batch))") }
}

// Interrupt after 6 batches (row 192: mid-epoch 1), keep only the encoded state, resume elsewhere.
let stopAfter = 6
var first = pipeline.makeIterator()
for _ in 0..<stopAfter { _ = try first.next() }
let saved = try first.state.encoded()
print("saved state after \(stopAfter) batches: \(saved.count) bytes of JSON")

var resumed = try pipeline.makeIterator(resumingFrom: IteratorState(encoded: saved))
var mismatches = 0
for step in stopAfter..<reference.count {
    guard let batch = try resumed.next() else {
        print("resumed iterator ended early at batch \(step)")
        exit(1)
    }
    let same = batch.0 == reference[step].0 && batch.1 == reference[step].1
    print("batch \(step) resumed: \(describe(batch)) \(same ? "== uninterrupted" : "MISMATCH")")
    if !same { mismatches += 1 }
}
if mismatches > 0 {
    print("SeedPipeline: \(mismatches) resumed batches differ from the uninterrupted run")
    exit(1)
}
print("SeedPipeline: resumed batches \(stopAfter)..<\(reference.count) equal the uninterrupted run")
