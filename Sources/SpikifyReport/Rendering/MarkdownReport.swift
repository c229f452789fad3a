import Foundation

/// The same report as GitHub-flavoured Markdown tables, without plots (`spikify report --format md`).
public enum MarkdownReport {
    /// The Markdown document comparing `reports`.
    public static func render(_ reports: [ReportDocument], title: String = "Spikify evaluation report",
                              unavailable: [UnavailableMethod] = []) -> String {
        let names = ReportFacts.names(reports)
        var out = "# \(cell(title))\n\n## Summary\n\n"
        out += table(["Report", "Samples", "T", "ANN acc", "Ref", "Ref acc", "Ref vs ANN", "SNN acc at T",
                      "Agree ANN at T", "Agree ref at T", "max |Δlogit| to ref", "Mean steps run"],
                     zip(reports, names).map(summaryRow))
        if !unavailable.isEmpty {
            out += "\n## Methods not run\n\n" + table(["Method", "Status"], unavailable.map { [$0.method, $0.status] })
        }
        for (r, name) in zip(reports, names) {
            out += "\n## \(cell(name))\n\n### Accuracy and agreement against timesteps\n\n"
            let steps = ReportFacts.selectedSteps(r.timesteps)
            if steps.isEmpty {
                out += "_No per-step results in this report._\n"
            } else {
                out += table(["t", "SNN acc", "agree ANN", "agree \(r.referenceName)"], steps.map { t in
                    [String(t)] + [r.snn?.accuracy, r.snn?.agreementWithAnn, r.agreementWithReference].map {
                        Markup.percent(ReportFacts.value($0, at: t, timesteps: r.timesteps), 2)
                    }
                })
            }
            if let s = r.snn?.settleSteps {
                out += "\n### Settle steps\n\n" + table(["min", "median", "p99", "max", "mean", "unsettled"], [[
                    s.min.map(String.init) ?? "—", s.median.map { Markup.significant($0) } ?? "—",
                    s.p99.map(String.init) ?? "—", s.max.map(String.init) ?? "—",
                    s.mean.map { Markup.fixed($0, 2) } ?? "—",
                    s.unsettled.map(String.init) ?? "—"]])
            }
            if let sites = r.sites, !sites.isEmpty {
                out += "\n### Sites\n\n"
                out += table(["Site", "Neurons", "Spikes per image", "Firing rate", "Largest |spike|"],
                    sites.map { s in
                        [s.site, s.neurons.map(String.init) ?? "—",
                         s.spikesPerImage.map { Markup.compact($0) } ?? "—",
                         s.firingRate.map { Markup.fixed($0, 5) } ?? "—",
                         s.maxSpikePerStep?.max().map { Markup.significant($0) } ?? "—"]
                    })
            }
            out += energy(EnergyEstimate.estimate(r))
            out += "\n### Model card\n\n" + table(["Field", "Value"], ReportFacts.modelCard(r).map { [$0.0, $0.1] })
        }
        return out
    }

    static func summaryRow(_ r: ReportDocument, _ name: String) -> [String] {
        let last = { (list: [Double]?) in
            r.timesteps.last.flatMap { ReportFacts.value(list, at: $0, timesteps: r.timesteps) }
        }
        return [name, r.samples.map(String.init) ?? "—", r.timesteps.last.map(String.init) ?? "—",
                Markup.percent(r.ann?.accuracy, 2), r.referenceName, Markup.percent(r.referenceAccuracy, 2),
                Markup.percent(r.reference?.agreementWithAnn ?? r.qann?.agreementWithAnn, 2),
                Markup.percent(last(r.snn?.accuracy), 2), Markup.percent(last(r.snn?.agreementWithAnn), 2),
                Markup.percent(last(r.agreementWithReference), 2),
                r.maxLogitDifferenceToReference.map { Markup.fixed($0, 4) } ?? "—",
                r.snn?.meanStepsRun.map { Markup.fixed($0, 1) } ?? "—"]
    }

    static func energy(_ e: EnergyEstimate) -> String {
        let c = e.constants
        let nj = { (v: Double?) in v.map { Markup.fixed($0 / 1000, 3) } ?? "—" }
        let count = { (v: Double?) in v.map { Markup.compact($0) } ?? "—" }
        var out = "\n### Energy estimate (per image)\n\n"
        out += "Constants: \(c.source), E_MAC = \(Markup.significant(c.macPJ)) pJ, "
            + "E_AC = \(Markup.significant(c.acPJ)) pJ; QANN at \(e.bits.map { "\($0)" } ?? "—") bits. "
            + "Operation counts only, no memory access (docs/energy.md).\n\n"
        for note in e.notes { out += "_\(cell(note))_\n\n" }
        out += table(["Layer", "Kind", "ANN MACs", "SNN ACs", "SNN MACs", "ANN nJ", "QANN nJ", "SNN nJ"],
                     e.rows.map { r in
                         [r.name, r.kind.rawValue, count(r.annMACs), count(r.snnACs), count(r.snnMACs), nj(r.annPJ(c)),
                          nj(r.qannPJ(c, bits: e.bits)), nj(r.snnPJ(c))]
                     } + [["**total**", "", count(e.annMACs), count(e.snnACs), count(e.snnMACs), nj(e.annPJ),
                           nj(e.qannPJ), nj(e.snnPJ)]])
        return out
    }

    /// A Markdown table; cells have `|` escaped and newlines replaced so that the table stays intact.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        var out = "| " + header.map(cell).joined(separator: " | ") + " |\n"
        out += "|" + header.indices.map { $0 == 0 ? " --- |" : " ---: |" }.joined() + "\n"
        for row in rows { out += "| " + row.map(cell).joined(separator: " | ") + " |\n" }
        return out
    }

    /// Escapes a table cell: `|` → `\|`, newlines → spaces, and `<` `>` `&` as entities so raw HTML cannot
    /// enter through a name.
    static func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "|", with: "\\|")
            .replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
    }
}
