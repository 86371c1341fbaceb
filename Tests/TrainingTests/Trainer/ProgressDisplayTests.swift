import Testing
@testable import Training

@Suite struct ProgressDisplayTests {
    @Test func linesStylePrintsOnePlainLinePerEpoch() {
        let output = Recorder<String>()
        var display = ProgressDisplay(style: .lines, write: { output.append($0) })
        for epoch in 0..<2 {
            display.beginEpoch(epoch, of: 2, steps: 100)
            for step in 1...100 { display.step(step) { [("loss", 0.5)] } }
            display.endEpoch(epoch, stepsRun: 100, logs: [("loss", 0.25), ("accuracy", 0.75)])
        }
        #expect(output.values.count == 2)
        #expect(output.values[0].hasPrefix("Epoch 1/2: 100 steps"))
        #expect(output.values[1].hasSuffix(" - loss: 0.2500 - accuracy: 0.7500\n"))
    }

    @Test func barStyleRedrawsRarelyAndEndsWithTheFullBar() {
        let output = Recorder<String>()
        var display = ProgressDisplay(style: .bar, write: { output.append($0) }, redrawInterval: 3600)
        display.beginEpoch(0, of: 1, steps: 313)
        for step in 1...313 { display.step(step) { [("loss", 1)] } }
        display.endEpoch(0, stepsRun: 313, logs: [("loss", 0.1)])
        // "Epoch 1/1", the first step, the last step, and the final line: not one per step.
        #expect(output.values.count <= 4)
        let last = output.values.last ?? ""
        #expect(last.contains("313/313 [==============================]"))
        #expect(last.hasSuffix("\n"))
    }

    @Test func quietStylePrintsNothing() {
        let output = Recorder<String>()
        var display = ProgressDisplay(style: .quiet, write: { output.append($0) })
        display.beginEpoch(0, of: 1, steps: 3)
        display.step(1) { [] }
        display.endEpoch(0, stepsRun: 3, logs: [])
        display.note("stopped")
        #expect(output.values.isEmpty)
    }

    @Test func perStepTimesUseReadableUnits() {
        #expect(ProgressDisplay.perStep(0.000_313, 313) == "1µs/step")
        #expect(ProgressDisplay.perStep(3.13, 313) == "10ms/step")
        #expect(ProgressDisplay.duration(125) == "2m05s")
    }
}
