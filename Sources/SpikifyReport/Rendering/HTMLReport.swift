import Foundation

/// One self-contained HTML page for one or more evaluation reports: inline CSS and inline SVG, no scripts, no
/// network, well-formed XML (XHTML syntax) so that it can be checked and post-processed (docs/report.md).
public enum HTMLReport {
    /// The page comparing `reports` (one curve per report in every chart). `title` heads the page;
    /// `unavailable` lists methods of a comparison that did not run (`spikify compare`), under the summary.
    public static func render(_ reports: [ReportDocument], title: String = "Spikify evaluation report",
                              unavailable: [UnavailableMethod] = []) -> String {
        let names = ReportFacts.names(reports)
        var body = "<h1>\(Markup.escape(title))</h1>"
        body += summary(reports, names)
        body += notRun(unavailable)
        body += HTMLCharts.accuracy(reports, names)
        body += HTMLCharts.spikes(reports, names)
        body += HTMLCharts.settle(reports, names)
        body += HTMLEnergy.section(reports, names)
        body += modelCards(reports, names)
        return """
        <!DOCTYPE html>
        <html xmlns="http://www.w3.org/1999/xhtml" lang="en"><head><meta charset="utf-8"/>\
        <meta name="viewport" content="width=device-width, initial-scale=1"/>\
        <title>\(Markup.escape(title))</title><style>\(css)</style></head>
        <body>\(body)</body></html>

        """
    }

    static let css = """
        body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1100px;margin:2em auto;\
        padding:0 1em;color:#222;line-height:1.45}h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc}\
        table{border-collapse:collapse;margin:0.6em 0;font-size:0.9em}th,td{border:1px solid #ccc;\
        padding:0.25em 0.6em;text-align:right}th:first-child,td:first-child{text-align:left}\
        th{background:#f3f3f3}.chart{max-width:100%;height:auto;display:block;margin:0.8em 0}\
        .wide{overflow-x:auto}.note{color:#666;font-style:italic}code{font-size:0.9em}\
        dl{display:grid;grid-template-columns:max-content auto;gap:0.2em 1em}dt{font-weight:bold}dd{margin:0}\
        details{margin:0.6em 0}summary{cursor:pointer;color:#0a4f7a}
        """

    /// A table with a header row; cells are escaped here.
    static func table(_ header: [String], _ rows: [[String]], caption: String? = nil) -> String {
        var out = "<table>"
        if let caption { out += "<caption>\(Markup.escape(caption))</caption>" }
        out += "<thead><tr>" + header.map { "<th>\(Markup.escape($0))</th>" }.joined() + "</tr></thead><tbody>"
        for row in rows { out += "<tr>" + row.map { "<td>\(Markup.escape($0))</td>" }.joined() + "</tr>" }
        return out + "</tbody></table>"
    }

    static func note(_ text: String) -> String { "<p class=\"note\">\(Markup.escape(text))</p>" }

    /// One row per report: accuracies, agreement and settle statistics after the last step.
    static func summary(_ reports: [ReportDocument], _ names: [String]) -> String {
        let rows = zip(reports, names).map { r, name -> [String] in
            let t = r.timesteps.last
            let at = { (list: [Double]?) in t.flatMap { ReportFacts.value(list, at: $0, timesteps: r.timesteps) } }
            let settle = r.snn?.settleSteps
            return [name, r.samples.map(String.init) ?? "—", t.map(String.init) ?? "—",
                    Markup.percent(r.ann?.accuracy, 2), "\(r.referenceName) " + Markup.percent(r.referenceAccuracy, 2),
                    Markup.percent(at(r.snn?.accuracy), 2), Markup.percent(at(r.snn?.agreementWithAnn), 2),
                    Markup.percent(at(r.agreementWithReference), 2),
                    r.maxLogitDifferenceToReference.map { Markup.fixed($0, 4) } ?? "—",
                    r.snn?.meanStepsRun.map { Markup.fixed($0, 1) } ?? "—",
                    settle.map { s in [s.median.map { Markup.significant($0) }, s.p99.map(String.init),
                                       s.max.map(String.init)].map { $0 ?? "—" }.joined(separator: " / ")
                        + " (\(s.unsettled ?? 0) unsettled)" } ?? "—"]
        }
        return "<h2 id=\"summary\">Summary</h2>" + table(
            ["Report", "Samples", "T", "ANN acc", "Reference acc", "SNN acc at T", "Agree ANN", "Agree ref",
             "max |Δlogit| to ref", "Mean steps run", "Settle median / p99 / max"], rows)
    }

    /// The methods a comparison asked for that did not run, and why (empty when all ran).
    static func notRun(_ unavailable: [UnavailableMethod]) -> String {
        guard !unavailable.isEmpty else { return "" }
        return "<h2 id=\"not-run\">Methods not run</h2>"
            + table(["Method", "Status"], unavailable.map { [$0.method, $0.status] })
    }

    /// Configuration, simulation, data set and command of each report.
    static func modelCards(_ reports: [ReportDocument], _ names: [String]) -> String {
        var out = "<h2 id=\"model-card\">Model card</h2>"
        for (r, name) in zip(reports, names) {
            out += "<h3>\(Markup.escape(name))</h3><dl>"
            for (key, value) in ReportFacts.modelCard(r) {
                let shown = key == "Command" ? "<code>\(Markup.escape(value))</code>" : Markup.escape(value)
                out += "<dt>\(Markup.escape(key))</dt><dd>\(shown)</dd>"
            }
            out += "</dl>"
            if r.config == nil { out += note("This report has no model configuration (older report).") }
        }
        return out
    }
}
