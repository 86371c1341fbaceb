import Testing
@testable import Experiments

@Suite struct LineChartTests {
    @Test func ticksAreRoundAndCoverTheRange() {
        let ticks = LineChart.ticks(from: 0, to: 1)
        #expect(ticks.count == 6)
        #expect(zip(ticks, [0, 0.2, 0.4, 0.6, 0.8, 1]).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(LineChart.label(ticks[3]) == "0.6")
        #expect(LineChart.ticks(from: 0, to: 3).first == 0)
        #expect(LineChart.ticks(from: 0, to: 3).last == 3)
    }

    @Test func everySeriesGetsALineAndALegendEntry() {
        var chart = LineChart(title: "a < b", xLabel: "shift", yLabel: "accuracy", yRange: 0...1)
        chart.add(.init(name: "inference", points: [(0, 0.9), (1, 0.7), (2, 0.5)]))
        chart.add(.init(name: "batch", points: [(0, 0.95), (1, 0.9), (2, .nan)]))
        let svg = chart.svg(width: 640, height: 400)
        #expect(svg.components(separatedBy: "<polyline").count == 3)
        #expect(svg.contains(">inference<") && svg.contains(">batch<"))
        #expect(svg.contains("a &lt; b"))
        #expect(!svg.contains("nan"))
    }
}
