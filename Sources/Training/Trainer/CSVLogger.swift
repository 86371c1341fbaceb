import Foundation

/// Writes each completed epoch's logs to a CSV file as Keras's `CSVLogger` does: a header
/// `epoch,<log names sorted>` and one row per epoch (zero-based), values as Swift prints a
/// `Double` (the shortest text that reads back the same, as Python's `repr`), `NA` for a log an
/// epoch lacks. With `append`, an existing non-empty file is continued without a new header
/// (a resumed run), and a file it cannot continue (not text, or without that header) is refused
/// in ``trainingWillBegin()``, before the first step; otherwise the file is replaced.
///
/// Rows are appended and flushed epoch by epoch, so the file is complete up to the last epoch
/// if the process dies. An epoch cut short by a stop is not written: a resume redoes it.
///
/// ```swift
/// let csv = CSVLogger(url: URL(fileURLWithPath: "training.csv"))
/// try trainer.fit(data, epochs: 10, callbacks: [csv])
/// ```
public struct CSVLogger: TrainingCallback {
    /// The file written.
    public let url: URL
    /// The field separator (Keras's `separator`).
    public let separator: String
    /// Whether to continue an existing file instead of replacing it.
    public let append: Bool
    private var columns: [String]?
    /// False on the ranks of a data-parallel `fit` (Distributed) other than rank 0: the file is
    /// read and written by rank 0 only.
    package var writesFile = true

    /// Keras's defaults: comma-separated, replacing the file.
    public init(url: URL, separator: String = ",", append: Bool = false) {
        self.url = url
        self.separator = separator
        self.append = append
    }

    /// A file to continue is read before the first step: one that is not text or has no
    /// CSVLogger header is refused before any epoch is spent, not when the first one ends.
    public mutating func trainingWillBegin() throws {
        if writesFile, columns == nil, isContinuing { columns = try existingColumns() }
    }

    public mutating func epochDidEnd(_ event: EpochEvent, snapshot: () throws -> TrainingSnapshot) throws -> CallbackDecision {
        guard event.isComplete, writesFile else { return .proceed }
        var text = ""
        if columns == nil {
            // Read here too for callers that drive a callback without `fit`.
            let continuing = isContinuing
            columns = continuing ? try existingColumns() : event.logs.keys.sorted()
            if !continuing {
                try write(Data(), replacing: true)
                text += (["epoch"] + columns!).joined(separator: separator) + "\n"
            }
        }
        let values = columns!.map { name in event.logs[name].map { "\($0)" } ?? "NA" }
        text += (["\(event.epoch)"] + values).joined(separator: separator) + "\n"
        try write(Data(text.utf8), replacing: false)
        return .proceed
    }

    /// Whether an existing, non-empty file is continued rather than replaced.
    private var isContinuing: Bool {
        append && ((try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0) > 0
    }

    /// The header of the file being continued, so that columns stay aligned.
    private func existingColumns() throws -> [String] {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch { throw failure(error) }
        let header = text.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? ""
        let fields = header.components(separatedBy: separator)
        guard fields.first == "epoch" else {
            throw TrainingError.invalidArgument(layer: "CSVLogger",
                                                message: "\(url.path): its first line is not a CSVLogger header (epoch, ...)")
        }
        return Array(fields.dropFirst())
    }

    private func write(_ data: Data, replacing: Bool) throws {
        do {
            if replacing || !FileManager.default.fileExists(atPath: url.path) {
                try data.write(to: url)
                return
            }
            let handle = try FileHandle(forWritingTo: url)
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: data)
            try handle.synchronize()
        } catch {
            throw failure(error)
        }
    }

    private func failure(_ error: any Error) -> TrainingError {
        .invalidArgument(layer: "CSVLogger", message: "\(url.path): \(error.localizedDescription)")
    }
}
