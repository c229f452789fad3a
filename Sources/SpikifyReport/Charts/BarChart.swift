import Foundation

/// One bar series of a grouped bar chart: a value per category (`nil` where it has none).
public struct BarSeries: Sendable, Equatable {
    public var name: String
    public var values: [Double?]
    public init(name: String, values: [Double?]) {
        self.name = name
        self.values = values
    }
}

/// Grouped bars as inline SVG: one group per category, one bar per series, each series with its own colour and
/// hatch (`SeriesStyle`). Used for spikes per site and energy per layer. Values below zero are drawn as zero;
/// the y axis starts at 0 with nice ticks. Wide category lists make the chart wider (at least `minBarWidth`).
public struct BarChart: Sendable {
    public var title: String
    public var yLabel: String
    public var categories: [String]
    public var series: [BarSeries]
    public var width: Double = 680
    public var plotHeight: Double = 240
    public var minBarWidth: Double = 4
    /// The narrowest slot per category when labels are rotated: one 11 px line of text plus a gap.
    public var minLabelSlot: Double = 16
    /// Prefix of the hatch pattern ids; make it unique per page when several charts share one HTML document.
    public var idPrefix: String

    public init(title: String, yLabel: String, categories: [String], series: [BarSeries], idPrefix: String) {
        self.title = title
        self.yLabel = yLabel
        self.categories = categories
        self.series = series
        self.idPrefix = Markup.identifier(idPrefix)
    }

    /// The y scale: 0 to the largest value, widened to a nice bound.
    public func yScale() -> AxisScale {
        let largest = series.flatMap { $0.values.compactMap { $0 } }.filter(\.isFinite).max() ?? 1
        return AxisScale(kind: .linear, lower: 0, upper: max(largest, 1e-12)).widenedToNiceBounds()
    }

    /// The chart as one `<svg>` element.
    public func svg() -> String {
        let styles = series.indices.map(SeriesStyle.at)
        let patterns = styles.enumerated().map { $0.element.hatchPattern(id: "\(idPrefix)-hatch\($0.offset)") }
        let legend = series.indices.map { (name: series[$0].name, style: styles[$0], sample: LegendSample.bar) }
        let longest = Double(categories.map(\.count).max() ?? 0)
        let rotate = categories.count > 6 || longest > 12
        // A slot per category wide enough for its bars and for one line of label text (11 px): labels of
        // neighbouring categories must not overlap. Slots under 24 px get vertical labels, wider ones 45°.
        let groupWidth = max(Double(series.count) * minBarWidth + 4, rotate ? minLabelSlot : 1)
        let neededWidth = 64 + 24 + Double(categories.count) * groupWidth
        let chartWidth = max(width, neededWidth)
        let slot = (chartWidth - 64 - 24) / Double(max(categories.count, 1))
        let vertical = rotate && slot < 24
        let labelSpace = !rotate ? 44 : 20 + min(longest, 28) * ChartFrame.charWidth * (vertical ? 1 : 0.75)
        let frame = ChartFrame(width: chartWidth, plotHeight: plotHeight, legend: legend, xLabelSpace: labelSpace)
        let ys = yScale()
        var out = frame.open(title: title, defs: patterns.compactMap { $0 })
        out += frame.yAxis(ys.ticks(), scale: ys, label: yLabel)
        out += "<g class=\"x-axis\"><line x1=\"\(Markup.fixed(frame.x(0)))\" y1=\"\(Markup.fixed(frame.y(0)))\" "
            + "x2=\"\(Markup.fixed(frame.x(1)))\" y2=\"\(Markup.fixed(frame.y(0)))\" stroke=\"#333\"/>"
        let barWidth = slot * 0.8 / Double(max(series.count, 1))
        for (c, category) in categories.enumerated() {
            // Vertical labels: the baseline runs up from under the slot's centre, shifted by a third of the font
            // size so that the glyphs, not the baseline, are centred.
            let cx = frame.x(0) + slot * (Double(c) + 0.5) + (vertical ? 4 : 0), ty = frame.y(0) + (vertical ? 8 : 12)
            let anchor = rotate ? "end" : "middle"
            let angle = vertical ? -90 : -45
            let transform = rotate ? " transform=\"rotate(\(angle) \(Markup.fixed(cx)) \(Markup.fixed(ty)))\"" : ""
            out += "<g class=\"x-tick\"><text x=\"\(Markup.fixed(cx))\" y=\"\(Markup.fixed(ty))\" "
                + "text-anchor=\"\(anchor)\"\(transform)>\(Markup.escape(category))</text></g>"
        }
        out += "</g>"
        for (s, bars) in series.enumerated() {
            let fill = patterns[s] == nil ? styles[s].color : "url(#\(idPrefix)-hatch\(s))"
            out += "<g class=\"series\" data-name=\"\(Markup.escape(bars.name))\">"
            for (c, value) in bars.values.prefix(categories.count).enumerated() {
                guard let value, value.isFinite else { continue }
                let top = frame.y(min(1, max(0, ys.fraction(value))))
                let x = frame.x(0) + slot * (Double(c) + 0.1) + barWidth * Double(s)
                out += "<rect class=\"bar\" x=\"\(Markup.fixed(x))\" y=\"\(Markup.fixed(top))\" "
                    + "width=\"\(Markup.fixed(barWidth))\" height=\"\(Markup.fixed(frame.y(0) - top))\" "
                    + "fill=\"\(fill)\" stroke=\"#333\" stroke-width=\"0.4\"><title>"
                    + "\(Markup.escape(bars.name)) · \(Markup.escape(categories[c])): \(Markup.compact(value))"
                    + "</title></rect>"
            }
            out += "</g>"
        }
        return out + frame.legend(patternID: { patterns.indices.contains($0) && patterns[$0] != nil
            ? "\(idPrefix)-hatch\($0)" : nil }) + "</svg>"
    }
}

/// A histogram of counts over consecutive integer bins 0…n−1 (e.g. samples that settled after exactly t
/// steps), as inline SVG with a linear x axis and nice ticks. Bins are drawn as adjacent bars.
public struct Histogram: Sendable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var counts: [Int]
    public var width: Double = 680
    public var plotHeight: Double = 220

    public init(title: String, xLabel: String, yLabel: String, counts: [Int]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.counts = counts
    }

    /// Bin t covers x ∈ [t − ½, t + ½].
    public func xScale() -> AxisScale {
        AxisScale(kind: .linear, lower: -0.5, upper: Double(max(counts.count, 1)) - 0.5)
    }

    public func svg() -> String {
        let frame = ChartFrame(width: width, plotHeight: plotHeight, legend: [])
        let xs = xScale()
        let ys = AxisScale(kind: .linear, lower: 0, upper: Double(max(counts.max() ?? 1, 1))).widenedToNiceBounds()
        var out = frame.open(title: title)
        out += frame.yAxis(ys.ticks(), scale: ys, label: yLabel)
        let ticks = AxisScale.niceTicks(lower: 0, upper: Double(max(counts.count - 1, 0)), target: 8)
            .filter { $0 == $0.rounded() }.map { AxisTick(value: $0, label: AxisScale.plainLabel($0)) }
        out += frame.xAxis(ticks, scale: xs, label: xLabel)
        out += "<g class=\"series\" data-name=\"counts\">"
        let color = SeriesStyle.at(0).color
        for (bin, count) in counts.enumerated() where count > 0 {
            let x0 = frame.x(xs.fraction(Double(bin) - 0.5)), x1 = frame.x(xs.fraction(Double(bin) + 0.5))
            let top = frame.y(ys.fraction(Double(count)))
            out += "<rect class=\"bar\" x=\"\(Markup.fixed(x0))\" y=\"\(Markup.fixed(top))\" "
                + "width=\"\(Markup.fixed(max(x1 - x0, 0.5)))\" height=\"\(Markup.fixed(frame.y(0) - top))\" "
                + "fill=\"\(color)\"><title>t = \(bin): \(count)</title></rect>"
        }
        return out + "</g></svg>"
    }
}
