import Foundation

/// A small, dependency-free SVG line chart: one or more named series over a shared x axis.
///
/// ```swift
/// var chart = LineChart(title: "Accuracy vs shift", xLabel: "shift", yLabel: "accuracy")
/// chart.add(LineChart.Series(name: "inference", points: [(0, 0.98), (2, 0.5)]))
/// let svg = chart.svg(width: 640, height: 400)
/// ```
struct LineChart: Sendable {
    /// One line of the chart.
    struct Series: Sendable {
        /// The legend label.
        var name: String
        /// The points, drawn in order and joined by straight segments.
        var points: [(x: Double, y: Double)]
        /// A series from its points.
        init(name: String, points: [(x: Double, y: Double)]) {
            self.name = name
            self.points = points
        }
    }

    /// The title above the plot.
    var title: String
    /// The x axis label.
    var xLabel: String
    /// The y axis label.
    var yLabel: String
    /// Fixed y range; when `nil` the range is fitted to the data.
    var yRange: ClosedRange<Double>?
    /// The series, in the order added (and legend order).
    private(set) var series: [Series] = []

    /// An empty chart; add series with ``add(_:)``.
    init(title: String, xLabel: String, yLabel: String, yRange: ClosedRange<Double>? = nil) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.yRange = yRange
    }

    /// Adds one series, drawn in the next palette colour.
    mutating func add(_ line: Series) { series.append(line) }

    private static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]

    /// The chart as an `<svg>` element of the given size, placed at (`x`, `y`) when embedded.
    func svg(width: Double, height: Double, x: Double = 0, y: Double = 0) -> String {
        let left = 60.0, right = 160.0, top = 36.0, bottom = 48.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let xs = series.flatMap { $0.points.map(\.x) }
        let ys = series.flatMap { $0.points.map(\.y) }.filter(\.isFinite)
        let xMin = xs.min() ?? 0, xMax = max(xs.max() ?? 1, (xs.min() ?? 0) + 1e-9)
        var yMin = yRange?.lowerBound ?? (ys.min() ?? 0)
        var yMax = yRange?.upperBound ?? (ys.max() ?? 1)
        if yMax - yMin < 1e-9 { yMin -= 0.5; yMax += 0.5 }
        func px(_ value: Double) -> Double { left + (value - xMin) / (xMax - xMin) * plotWidth }
        func py(_ value: Double) -> Double { top + (1 - (value - yMin) / (yMax - yMin)) * plotHeight }

        var out = "<svg x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(width))\" height=\"\(f(height))\" "
            + "xmlns=\"http://www.w3.org/2000/svg\" font-family=\"sans-serif\" font-size=\"12\">\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        out += "<text x=\"\(f(left + plotWidth / 2))\" y=\"20\" text-anchor=\"middle\" font-size=\"14\" "
            + "font-weight=\"bold\">\(escape(title))</text>\n"
        for tick in Self.ticks(from: yMin, to: yMax) {
            out += "<line x1=\"\(f(left))\" x2=\"\(f(left + plotWidth))\" y1=\"\(f(py(tick)))\" "
                + "y2=\"\(f(py(tick)))\" stroke=\"#e0e0e0\"/>\n"
            out += "<text x=\"\(f(left - 6))\" y=\"\(f(py(tick) + 4))\" text-anchor=\"end\">\(Self.label(tick))</text>\n"
        }
        for tick in Self.ticks(from: xMin, to: xMax) {
            out += "<text x=\"\(f(px(tick)))\" y=\"\(f(top + plotHeight + 16))\" "
                + "text-anchor=\"middle\">\(Self.label(tick))</text>\n"
        }
        out += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" "
            + "fill=\"none\" stroke=\"#444\"/>\n"
        out += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(height - 10))\" text-anchor=\"middle\">"
            + "\(escape(xLabel))</text>\n"
        out += "<text transform=\"translate(16 \(f(top + plotHeight / 2))) rotate(-90)\" "
            + "text-anchor=\"middle\">\(escape(yLabel))</text>\n"
        for (index, line) in series.enumerated() {
            let color = Self.palette[index % Self.palette.count]
            let points = line.points.filter { $0.y.isFinite }
                .map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            out += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(points)\"/>\n"
            if line.points.count <= 20 {
                for point in line.points where point.y.isFinite {
                    out += "<circle cx=\"\(f(px(point.x)))\" cy=\"\(f(py(point.y)))\" r=\"3\" fill=\"\(color)\"/>\n"
                }
            }
            let legendY = top + 14 + Double(index) * 18
            out += "<line x1=\"\(f(left + plotWidth + 12))\" x2=\"\(f(left + plotWidth + 32))\" "
                + "y1=\"\(f(legendY - 4))\" y2=\"\(f(legendY - 4))\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            out += "<text x=\"\(f(left + plotWidth + 36))\" y=\"\(f(legendY))\">\(escape(line.name))</text>\n"
        }
        return out + "</svg>\n"
    }

    /// About five round tick values covering `lower...upper`.
    static func ticks(from lower: Double, to upper: Double) -> [Double] {
        let span = upper - lower
        guard span > 0, span.isFinite else { return [lower] }
        let raw = span / 5
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        var ticks: [Double] = []
        var tick = ceil(lower / step - 1e-9) * step
        while tick <= upper + step * 1e-9 { ticks.append(tick); tick += step }
        return ticks
    }

    static func label(_ value: Double) -> String {
        let rounded = (value * 1000).rounded() / 1000
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
