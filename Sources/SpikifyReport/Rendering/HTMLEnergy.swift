import Foundation

/// The energy section of the HTML report: totals per report, a per-layer table and per-block bars of ANN,
/// bit-width-matched QANN and SNN energy (docs/energy.md).
enum HTMLEnergy {
    static func section(_ reports: [ReportDocument], _ names: [String]) -> String {
        let estimates = reports.map { EnergyEstimate.estimate($0) }
        var out = "<h2 id=\"energy\">Energy estimate (per image)</h2>"
        let constants = estimates.first?.constants ?? .horowitz45nm
        out += "<p>Constants: \(Markup.escape(constants.source)): "
            + "E<sub>MAC</sub> = \(Markup.significant(constants.macPJ)) pJ, "
            + "E<sub>AC</sub> = \(Markup.significant(constants.acPJ)) pJ (32-bit float); integer MACs scaled by bit "
            + "width. Operation counts only: memory access is not included, and it can dominate "
            + "(Dampfhoffer et al., 2023). See docs/energy.md.</p>"
        out += HTMLReport.table(["Report", "ANN MACs", "ANN µJ", "QANN bits", "QANN µJ", "SNN ACs", "SNN MACs",
                                 "SNN µJ", "SNN / ANN", "SNN / QANN"], zip(estimates, names).map(totalsRow))
        for (index, (estimate, name)) in zip(estimates, names).enumerated() {
            out += "<h3>\(Markup.escape(name))</h3>"
            for note in estimate.notes { out += HTMLReport.note(note) }
            guard !estimate.rows.isEmpty else { out += HTMLReport.note("No layers to estimate."); continue }
            let blocks = estimate.perBlock()
            // One unit for the axis, so that ticks read `40` rather than `40k` nJ.
            let largest = blocks.flatMap { [$0.ann, $0.qann, $0.snn].compactMap { $0 } }.max() ?? 0
            let (scale, unit) = largest >= 1e6 ? (1e6, "µJ") : largest >= 1e3 ? (1e3, "nJ") : (1.0, "pJ")
            out += HTMLCharts.figure(BarChart(
                title: "Energy by block: \(name)", yLabel: "energy per image (\(unit))", categories: blocks.map(\.name),
                series: [BarSeries(name: "ANN (fp32 MAC)", values: blocks.map { $0.ann.map { $0 / scale } }),
                         BarSeries(name: "QANN (\(estimate.bits.map { "\($0)-bit" } ?? "int") MAC)",
                                   values: blocks.map { $0.qann.map { $0 / scale } }),
                         BarSeries(name: "SNN (AC + MAC)", values: blocks.map { $0.snn.map { $0 / scale } })],
                idPrefix: "energy-\(index)").svg())
            out += HTMLReport.note("Per image: \(estimate.totalsText). Bars under 1% of the axis (often the QANN's) "
                + "are too short to see.")
            out += "<details><summary>Operations and energy per layer (\(estimate.rows.count) layers)</summary>"
                + layerTable(estimate, caption: "\(name): operations and energy per layer (per image)") + "</details>"
        }
        return out
    }

    static func totalsRow(_ e: EnergyEstimate, _ name: String) -> [String] {
        let hasANN = e.rows.contains { $0.annMACs != nil }
        let ratio = { (a: Double, b: Double) in b > 0 && hasANN ? Markup.fixed(a / b, 3) : "—" }
        return [name, hasANN ? Markup.compact(e.annMACs) : "—", hasANN ? Markup.fixed(e.annPJ / 1e6, 3) : "—",
                e.bits.map(String.init) ?? "—", hasANN ? Markup.fixed(e.qannPJ / 1e6, 3) : "—",
                Markup.compact(e.snnACs), Markup.compact(e.snnMACs), Markup.fixed(e.snnPJ / 1e6, 3),
                ratio(e.snnPJ, e.annPJ), ratio(e.snnPJ, e.qannPJ)]
    }

    /// Rows: layer, kind, ANN MACs, SNN ACs, SNN MACs, ANN/QANN/SNN energy in nJ.
    static func layerTable(_ e: EnergyEstimate, caption: String) -> String {
        let c = e.constants
        let nj = { (v: Double?) in v.map { Markup.fixed($0 / 1000, 3) } ?? "—" }
        let count = { (v: Double?) in v.map { Markup.compact($0) } ?? "—" }
        let rows = e.rows.map { r in
            [r.name, r.kind.rawValue, count(r.annMACs), count(r.snnACs), count(r.snnMACs), nj(r.annPJ(c)),
             nj(r.qannPJ(c, bits: e.bits)), nj(r.snnPJ(c))]
        }
        let totals = ["total", "", count(e.annMACs), count(e.snnACs), count(e.snnMACs), nj(e.annPJ), nj(e.qannPJ),
                      nj(e.snnPJ)]
        return HTMLReport.table(["Layer", "Kind", "ANN MACs", "SNN ACs", "SNN MACs", "ANN nJ", "QANN nJ", "SNN nJ"],
                                rows + [totals], caption: caption)
            + HTMLReport.note("Steps run per image \(Markup.fixed(e.stepsRun, 2)); analog input steps "
                + "\(Markup.fixed(e.inputSteps, 2)); mean |spike| per message \(Markup.fixed(e.meanSpikeSize, 3)). "
                + "SNN MACs of products, norms and softmax are upper bounds.")
    }
}
