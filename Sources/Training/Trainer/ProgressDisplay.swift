import Foundation

/// How `fit` reports progress.
///
/// ```swift
/// try trainer.fit(data, epochs: 10, stepsPerEpoch: 313, progress: .automatic) // bar on a terminal
/// try trainer.fit(data, epochs: 10, stepsPerEpoch: 313, progress: .quiet)     // library use
/// ```
public enum ProgressStyle: Sendable {
    /// A live bar when standard output is a terminal, one line per epoch otherwise.
    case automatic
    /// A Keras-like live bar per epoch (step/steps, bar, ETA, time per step, running metrics).
    case bar
    /// One plain line per epoch.
    case lines
    /// Nothing.
    case quiet
}

/// Draws the progress of one `fit` call. Costs one clock read per step; the bar is redrawn
/// at most every `redrawInterval` seconds, so printing never shows in the step time.
package struct ProgressDisplay {
    private let style: ProgressStyle
    private let write: (String) -> Void
    private let redrawInterval: Double
    private var epochStart: UInt64 = 0
    private var lastDraw: UInt64 = 0
    private var epochs = 0
    private var steps: Int?

    package init(style: ProgressStyle, write: ((String) -> Void)? = nil, redrawInterval: Double = 0.1) {
        if case .automatic = style {
            self.style = isatty(STDOUT_FILENO) == 1 ? .bar : .lines
        } else {
            self.style = style
        }
        self.write = write ?? { text in
            FileHandle.standardOutput.write(Data(text.utf8))
        }
        self.redrawInterval = redrawInterval
    }

    package mutating func beginEpoch(_ epoch: Int, of epochs: Int, steps: Int?) {
        self.epochs = epochs
        self.steps = steps
        epochStart = DispatchTime.now().uptimeNanoseconds
        lastDraw = 0
        if case .bar = style { write("Epoch \(epoch + 1)/\(epochs)\n") }
    }

    package mutating func step(_ step: Int, logs: () -> [(String, Double)]) {
        guard case .bar = style else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        guard Double(now &- lastDraw) / 1e9 >= redrawInterval || step == steps else { return }
        lastDraw = now
        write("\r" + barLine(step: step, now: now, logs: logs()) + "\u{1B}[K")
    }

    package mutating func endEpoch(_ epoch: Int, stepsRun: Int, logs: [(String, Double)]) {
        let now = DispatchTime.now().uptimeNanoseconds
        switch style {
        case .bar:
            write("\r" + barLine(step: stepsRun, now: now, logs: logs, finished: true) + "\u{1B}[K\n")
        case .lines:
            let elapsed = Double(now &- epochStart) / 1e9
            write("Epoch \(epoch + 1)/\(epochs): \(stepsRun) steps, \(Self.duration(elapsed))"
                  + " (\(Self.perStep(elapsed, stepsRun)))" + Self.metrics(logs) + "\n")
        case .quiet, .automatic:
            break
        }
    }

    /// A line outside the bar (why training stopped, for instance).
    package func note(_ text: String) {
        if case .quiet = style { return }
        write(text + "\n")
    }

    private func barLine(step: Int, now: UInt64, logs: [(String, Double)], finished: Bool = false) -> String {
        let elapsed = Double(now &- epochStart) / 1e9
        let width = 30
        var line: String
        if let steps, steps > 0 {
            let digits = String(steps).count
            let done = min(width, width * step / steps)
            let arrow = done < width ? ">" : ""
            let filled = String(repeating: "=", count: max(0, done - (arrow.isEmpty ? 0 : 1))) + arrow
            line = String(repeating: " ", count: digits - String(step).count) + "\(step)/\(steps) ["
                + filled + String(repeating: ".", count: width - filled.count) + "]"
            if finished || step >= steps {
                line += " - \(Self.duration(elapsed))"
            } else {
                let eta = step > 0 ? elapsed / Double(step) * Double(steps - step) : 0
                line += " - ETA: \(Self.duration(eta))"
            }
        } else {
            line = "\(step) steps - \(Self.duration(elapsed))"
        }
        return line + " \(Self.perStep(elapsed, step))" + Self.metrics(logs)
    }

    static func metrics(_ logs: [(String, Double)]) -> String {
        logs.map { " - \($0.0): \(String(format: "%.4f", $0.1))" }.joined()
    }

    static func duration(_ seconds: Double) -> String {
        if seconds < 60 { return String(format: "%.1fs", seconds) }
        let minutes = Int(seconds) / 60
        return "\(minutes)m\(String(format: "%02d", Int(seconds) % 60))s"
    }

    static func perStep(_ seconds: Double, _ steps: Int) -> String {
        guard steps > 0 else { return "-/step" }
        let perStep = seconds / Double(steps)
        if perStep >= 1 { return String(format: "%.2fs/step", perStep) }
        if perStep >= 1e-3 { return String(format: "%.0fms/step", perStep * 1e3) }
        return String(format: "%.0fµs/step", perStep * 1e6)
    }
}
