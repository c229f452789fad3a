import ArgumentParser
import Foundation
import Spikify

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render one or more evaluation reports as one self-contained HTML page (or Markdown tables).",
        discussion: """
            Reads JSON reports from 'spikify eval --report' (or the compare.json of 'spikify compare') and writes one \
            page comparing them: summary, accuracy and agreement against T, spikes, settle steps, energy estimate \
            per image and model cards (docs/report.md, docs/energy.md). HTML has inline CSS and SVG, no scripts.
            """)

    @Argument(help: "JSON reports (eval --report files, or compare.json).")
    var reports: [String]

    @Option(help: "Output file; written atomically.")
    var out: String

    @Option(help: "html (charts) or md (Markdown tables, no plots); default: md when --out ends in .md, else html.")
    var format: ReportFormat?

    @Option(help: "The page's heading.")
    var title = "Spikify evaluation report"

    func validate() throws {
        guard !reports.isEmpty else { throw ValidationError("give at least one JSON report") }
    }

    func run() throws {
        let format = format ?? ReportFormat.implied(by: out)
        let set = try ReportPages.write(reportFiles: reports, format: format, to: out, title: title)
        let notRun = set.unavailable.isEmpty ? "" : " and \(set.unavailable.count) method(s) not run"
        print("\(format == .html ? "html" : "markdown") report of \(set.documents.count) evaluation(s)\(notRun): \(out)")
    }
}

extension ReportFormat: ExpressibleByArgument {}
