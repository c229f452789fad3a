import Foundation

/// The chart sections of the HTML report: accuracy and agreement against T, spikes, settle steps.
enum HTMLCharts {
    static func figure(_ svg: String) -> String { "<div class=\"wide\">\(svg)</div>" }

    /// Accuracy, agreement with the ANN and with each report's reference network against T (log₂ axis), one
    /// curve per report; the ANN's and references' accuracies (and agreements) as labelled horizontal lines.
    static func accuracy(_ reports: [ReportDocument], _ names: [String]) -> String {
        var out = "<h2 id=\"accuracy\">Accuracy and agreement against timesteps</h2>"
        func curves(_ list: (ReportDocument) -> [Double]?) -> [LineSeries] {
            perReport(reports, names) { ReportFacts.percentSeries($1, list($0), timesteps: $0.timesteps) }
        }
        let accuracy = curves { $0.snn?.accuracy }
        let references = referenceLines(reports, names, [("ANN", { $0.ann?.accuracy }),
                                                          (nil, { $0.referenceAccuracy })])
        if accuracy.isEmpty {
            out += HTMLReport.note("No report has SNN accuracies (evaluated without labels): see agreement below.")
        } else {
            out += figure(LineChart(title: "SNN accuracy", xLabel: "timesteps T (log scale)", yLabel: "accuracy",
                                    series: accuracy, references: references).svg())
        }
        let withANN = curves { $0.snn?.agreementWithAnn }
        let referenceVsANN = referenceLines(
            reports, names, [(nil, { $0.reference?.agreementWithAnn ?? $0.qann?.agreementWithAnn })], suffix: " vs ANN")
        if !withANN.isEmpty {
            out += figure(LineChart(title: "Top-1 agreement with the ANN", xLabel: "timesteps T (log scale)",
                                    yLabel: "agreement", series: withANN, references: referenceVsANN).svg())
        }
        let withReference = perReport(reports, names) { r, name in
            ReportFacts.percentSeries("\(name) vs \(r.referenceName)", r.agreementWithReference, timesteps: r.timesteps)
        }
        if !withReference.isEmpty {
            out += figure(LineChart(title: "Top-1 agreement with the reference network",
                                    xLabel: "timesteps T (log scale)",
                                    yLabel: "agreement", series: withReference).svg())
        }
        if withANN.isEmpty && withReference.isEmpty {
            out += HTMLReport.note("No per-step agreement in these reports.")
        }
        return out
    }

    /// The series `make` draws for each report that has the data, each styled as its report in every chart.
    static func perReport(_ reports: [ReportDocument], _ names: [String],
                          _ make: (ReportDocument, String) -> LineSeries?) -> [LineSeries] {
        zip(reports.indices, zip(reports, names)).compactMap { index, pair in
            make(pair.0, pair.1).map { LineSeries(name: $0.name, points: $0.points, styleIndex: index) }
        }
    }

    /// One labelled line per distinct value of each quantity (`ANN 98.1%`): a value the reports share is drawn
    /// once; when they differ, each label names its reports. Quantities with the same shown value for the same
    /// reports share one line (`ANN = QANN 97.0%`, a QAT QANN as accurate as its ANN), so the key does not list
    /// the same line twice. A `nil` name means the report's reference name.
    static func referenceLines(_ reports: [ReportDocument], _ names: [String],
                               _ quantities: [(name: String?, value: (ReportDocument) -> Double?)],
                               suffix: String = "") -> [ReferenceLine] {
        var entries: [(names: [String], shown: String, value: Double, reports: [String], tagged: Bool)] = []
        for quantity in quantities {
            var values: [(name: String, shown: String, value: Double, reports: [String])] = []
            for (r, name) in zip(reports, names) {
                guard let v = quantity.value(r), v.isFinite else { continue }
                let label = (quantity.name ?? r.referenceName) + suffix, shown = Markup.percent(v)
                if let i = values.firstIndex(where: { $0.name == label && $0.shown == shown }) {
                    values[i].reports.append(name)
                } else {
                    values.append((label, shown, v, [name]))
                }
            }
            let distinct = Set(values.map(\.shown)).count > 1
            for v in values {
                if let i = entries.firstIndex(where: { $0.shown == v.shown && $0.reports == v.reports && $0.tagged == distinct }) {
                    if !entries[i].names.contains(v.name) { entries[i].names.append(v.name) }
                } else {
                    entries.append(([v.name], v.shown, v.value, v.reports, distinct))
                }
            }
        }
        return entries.map { e in
            ReferenceLine(label: e.names.joined(separator: " = ") + " " + e.shown
                            + (e.tagged ? " (\(e.reports.joined(separator: ", ")))" : ""),
                          y: 100 * e.value)
        }
    }

    /// Spikes per step (total per image), spikes per image and firing rate per site, and the spike alphabet.
    static func spikes(_ reports: [ReportDocument], _ names: [String]) -> String {
        var out = "<h2 id=\"spikes\">Spikes</h2>"
        // Per-step charts end one step after the last spike of any report (ReportFacts.spikingSteps).
        let steps = ReportFacts.spikingSteps(reports)
        func cut(_ list: [Double]?) -> [Double]? { list.map { Array($0.prefix(steps ?? $0.count)) } }
        let longest = reports.map { $0.snn?.spikesPerStep?.count ?? $0.sites?.compactMap(\.spikesPerStep?.count).max() ?? 0 }
            .max() ?? 0
        if let steps, steps < longest {
            out += HTMLReport.note("No report has spikes after step \(steps - 1) (every sample was quiet); the per-step "
                + "charts and the table end at step \(steps) of \(longest).")
        }
        let perStep = perReport(reports, names) {
            ReportFacts.perImageSeries($1, cut($0.snn?.spikesPerStep), samples: $0.samples)
        }
        if perStep.isEmpty {
            out += HTMLReport.note(
                "No per-step spike counts in these reports (older format): spikes per step are not plotted.")
        } else {
            out += figure(LineChart(title: "Spikes per step (all sites, per image)", xLabel: "step t (log scale)",
                                    yLabel: "spikes per image", yIsPercent: false, series: perStep).svg())
        }
        var siteNames: [String] = []
        for r in reports { for s in r.sites ?? [] where !siteNames.contains(s.site) { siteNames.append(s.site) } }
        if siteNames.isEmpty {
            out += HTMLReport.note("No per-site statistics in these reports.")
        } else {
            func bars(_ value: (ReportDocument.Site) -> Double?) -> [BarSeries] {
                zip(reports, names).map { r, name in
                    let bySite = Dictionary((r.sites ?? []).map { ($0.site, $0) }, uniquingKeysWith: { a, _ in a })
                    return BarSeries(name: name, values: siteNames.map { bySite[$0].flatMap(value) })
                }
            }
            out += figure(BarChart(title: "Spikes per image by site", yLabel: "spikes per image", categories: siteNames,
                                   series: bars(\.spikesPerImage), idPrefix: "sites-spikes").svg())
            out += figure(BarChart(title: "Firing rate by site (spikes per neuron per step)", yLabel: "firing rate",
                                   categories: siteNames, series: bars(\.firingRate), idPrefix: "sites-rate").svg())
            for (r, name) in zip(reports, names) {
                let blocks = ReportFacts.spikesPerStepByBlock(r)
                guard !blocks.isEmpty else { continue }
                let series = blocks.map { block in
                    let perStep = cut(block.perStep) ?? []
                    return LineSeries(name: block.name, x: perStep.indices.map { Double($0 + 1) }, y: perStep)
                }
                out += figure(LineChart(title: "Spikes per step by block: \(name)", xLabel: "step t (log scale)",
                                        yLabel: "spikes per image", yIsPercent: false, series: series).svg())
            }
            let perSiteStep = siteStepTable(reports, names, steps: steps)
            if !perSiteStep.isEmpty { out += perSiteStep }
        }
        let alphabet = perReport(reports, names) { r, name in
            cut(r.spikeAlphabetPerStep).map { LineSeries(name: name, x: $0.indices.map { Double($0 + 1) }, y: $0) }
        }
        if alphabet.isEmpty {
            out += HTMLReport.note("No spike alphabet (largest |spike| per step) in these reports.")
        } else {
            var chart = LineChart(title: "Spike alphabet: largest |spike| per step", xLabel: "step t (log scale)",
                                  yLabel: "largest |spike|", yIsPercent: false, series: alphabet)
            chart.stepped = true
            out += figure(chart.svg())
        }
        return out
    }

    /// Per-site spikes at selected steps (per image), for reports with per-step site data, up to step `steps`;
    /// folded (`<details>`) because it has a row per site.
    static func siteStepTable(_ reports: [ReportDocument], _ names: [String], steps limit: Int? = nil) -> String {
        var out = ""
        for (r, name) in zip(reports, names) {
            let sites = (r.sites ?? []).filter { $0.spikesPerStep != nil }
            guard let longest = sites.compactMap({ $0.spikesPerStep?.count }).max(), longest > 0 else { continue }
            let n = min(longest, limit ?? longest)
            let steps = ReportFacts.selectedSteps(Array(1...n))
            let perImage = Double(max(r.samples ?? 1, 1))
            let rows = sites.map { site in
                [site.site] + steps.map { t in
                    site.spikesPerStep.flatMap { counts in
                        counts.indices.contains(t - 1) ? Markup.compact(counts[t - 1] / perImage) : nil
                    } ?? "—"
                }
            }
            out += "<details><summary>Spikes per image at step t, per site: \(Markup.escape(name)) "
                + "(\(sites.count) sites)</summary>"
                + HTMLReport.table(["Site"] + steps.map { "t = \($0)" }, rows,
                                   caption: "\(name): spikes per image at step t") + "</details>"
        }
        return out
    }

    /// The settle-step histogram of each report that has one, else its summary statistics.
    static func settle(_ reports: [ReportDocument], _ names: [String]) -> String {
        var out = "<h2 id=\"settle\">Settle steps</h2>"
        for (r, name) in zip(reports, names) {
            guard let s = r.snn?.settleSteps else { out += HTMLReport.note("\(name): no settle statistics."); continue }
            if let histogram = s.histogram, !histogram.isEmpty {
                if let last = histogram.lastIndex(where: { $0 > 0 }) {
                    // The axis ends one bin after the last settle step: with --until-quiet, T is a cap (say 256)
                    // far beyond the steps samples need, and the empty bins would squeeze the bars to the left.
                    let shown = Array(histogram.prefix(min(histogram.count, last + 2)))
                    out += figure(Histogram(title: "Settle steps: \(name)", xLabel: "steps until quiet",
                                            yLabel: "samples", counts: shown).svg())
                    if shown.count < histogram.count {
                        out += HTMLReport.note("\(name): no sample settled after step \(last) "
                            + "(of at most \(histogram.count - 1)); the axis ends there.")
                    }
                } else {
                    out += HTMLReport.note("\(name): no sample settled within the \(histogram.count - 1) steps run "
                        + "(\(s.unsettled ?? 0) unsettled), so there is no histogram; run spikify eval with "
                        + "--until-quiet and a larger --timesteps to measure settle steps.")
                }
            } else {
                out += HTMLReport.note(
                    "\(name): no settle-step histogram in this report (older format); statistics only.")
            }
            out += HTMLReport.table(["min", "median", "p99", "max", "mean", "unsettled"], [[
                s.min.map(String.init) ?? "—", s.median.map { Markup.significant($0) } ?? "—",
                s.p99.map(String.init) ?? "—", s.max.map(String.init) ?? "—",
                s.mean.map { Markup.fixed($0, 2) } ?? "—", s.unsettled.map(String.init) ?? "—"]], caption: name)
        }
        return out
    }
}
