import Foundation
import SpikifyCore
import SpikifyReport

extension EvaluationReport {
    /// This report as the renderers read it: its JSON decoded as a `ReportDocument` (the same bytes
    /// `write(to:)` writes, so a page made now equals one made later from the file).
    public func document() throws -> ReportDocument {
        try ReportDocument.decode(from: try json())
    }

    /// The energy estimate per image of ANN, bit-width-matched QANN and SNN (docs/energy.md).
    public func energyEstimate(constants: EnergyConstants = .horowitz45nm) throws -> EnergyEstimate {
        EnergyEstimate.estimate(try document(), constants: constants)
    }
}

/// Writing report pages (docs/report.md): HTML or Markdown for one or more reports, atomically.
public enum ReportPages {
    /// The page path next to a JSON report: `R.json` → `R.html` (any other name gets `.html` appended).
    public static func htmlPath(forReport path: String) -> String {
        let url = URL(fileURLWithPath: path)
        guard url.pathExtension.lowercased() == "json" else { return path + ".html" }
        return String(path.dropLast(url.pathExtension.count)) + "html"
    }

    /// Renders `set` in `format` and writes it to `path` atomically.
    public static func write(_ set: ReportSet, format: ReportFormat, to path: String,
                             title: String = "Spikify evaluation report") throws {
        guard !set.documents.isEmpty || !set.unavailable.isEmpty else {
            throw SpikifyError.invalidArgument("no reports to render into \(path)")
        }
        try AtomicFile.write(Data(format.render(set, title: title).utf8), to: path)
    }

    /// Reads the JSON report files `inputs` (eval reports or compare lists), renders them as one page and writes
    /// it; returns what was rendered. Errors name the file and the key that could not be read.
    @discardableResult
    public static func write(reportFiles inputs: [String], format: ReportFormat, to path: String,
                             title: String = "Spikify evaluation report") throws -> ReportSet {
        guard !inputs.isEmpty else { throw SpikifyError.invalidArgument("give at least one JSON report") }
        let set: ReportSet
        do { set = try ReportSet.load(paths: inputs) } catch let error as ReportReadError {
            throw SpikifyError.invalidData(file: error.path, message: error.message)
        }
        try write(set, format: format, to: path, title: title)
        return set
    }
}
