import Foundation

/// What a legend entry shows next to its name.
enum LegendSample { case line, bar, reference }

/// The parts every chart shares: the SVG envelope, plot area, axes with ticks and grid, axis labels, title and a
/// legend below the plot that wraps into rows. Element classes (`x-tick`, `y-tick`, `legend-entry`, `series`,
/// `reference`, `bar`) are stable so that tests and style sheets can find them.
struct ChartFrame {
    let width: Double
    let left = 64.0, right = 24.0, top = 40.0
    let plotHeight: Double
    let legendRows: [[(name: String, style: SeriesStyle, sample: LegendSample)]]
    let xLabelSpace: Double

    static let rowHeight = 20.0, charWidth = 6.6
    /// Charts are drawn in a 680-unit-wide coordinate system and shown 1.3 times larger (884 px), so that their
    /// 11-unit text reads at about 14 px, like the page's tables, instead of filling 60% of the 1100 px column
    /// in small print (seen in `make report-preview`). CSS `max-width: 100%` shrinks them on narrow screens.
    static let displayScale = 1.3

    /// A frame `width` wide whose plot area is `plotHeight` tall; `xLabelSpace` leaves room for long
    /// (rotated) category labels under the axis.
    init(width: Double, plotHeight: Double, legend: [(name: String, style: SeriesStyle, sample: LegendSample)],
         xLabelSpace: Double = 44) {
        self.width = width
        self.plotHeight = plotHeight
        self.xLabelSpace = xLabelSpace
        var rows: [[(name: String, style: SeriesStyle, sample: LegendSample)]] = []
        var current: [(name: String, style: SeriesStyle, sample: LegendSample)] = [], used = 0.0
        for (index, entry) in legend.enumerated() {
            let entryWidth = 44 + Double(entry.name.count) * ChartFrame.charWidth
            // Reference lines get rows of their own, after the series.
            let firstReference = entry.sample == .reference && index > 0 && legend[index - 1].sample != .reference
            if !current.isEmpty && (used + entryWidth > width - 64 - 24 || firstReference) {
                rows.append(current); current = []; used = 0
            }
            current.append(entry)
            used += entryWidth
        }
        if !current.isEmpty { rows.append(current) }
        legendRows = rows
    }

    var plotWidth: Double { width - left - right }
    var height: Double { top + plotHeight + xLabelSpace + Double(legendRows.count) * ChartFrame.rowHeight + 8 }
    func x(_ fraction: Double) -> Double { left + fraction * plotWidth }
    func y(_ fraction: Double) -> Double { top + (1 - fraction) * plotHeight }

    /// The opening `<svg>` tag, accessible title and visible title.
    func open(title: String, defs: [String] = []) -> String {
        let w = Markup.fixed(width, 0), h = Markup.fixed(height, 0), t = Markup.escape(title)
        let shownWidth = Markup.fixed(width * ChartFrame.displayScale, 0)
        let shownHeight = Markup.fixed(height * ChartFrame.displayScale, 0)
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"\(shownWidth)\" "
            + "height=\"\(shownHeight)\" viewBox=\"0 0 \(w) \(h)\" role=\"img\" font-family=\"sans-serif\" "
            + "font-size=\"11\">"
            + "<title>\(t)</title>"
        if !defs.isEmpty { out += "<defs>" + defs.joined() + "</defs>" }
        out += "<rect width=\"\(w)\" height=\"\(h)\" fill=\"white\"/>"
        out += "<text class=\"chart-title\" x=\"\(Markup.fixed(left))\" y=\"22\" font-size=\"14\" "
            + "font-weight=\"bold\">\(t)</text>"
        return out
    }

    /// The x axis: ticks with labels and vertical grid lines at `ticks`, placed by `scale`.
    func xAxis(_ ticks: [AxisTick], scale: AxisScale, label: String) -> String {
        let base = Markup.fixed(y(0)), topY = Markup.fixed(y(1))
        var out = "<g class=\"x-axis\"><line x1=\"\(Markup.fixed(x(0)))\" y1=\"\(base)\" x2=\"\(Markup.fixed(x(1)))\" "
            + "y2=\"\(base)\" stroke=\"#333\"/>"
        for tick in ticks {
            let px = Markup.fixed(x(scale.fraction(tick.value)))
            out += "<g class=\"x-tick\"><line x1=\"\(px)\" y1=\"\(topY)\" x2=\"\(px)\" y2=\"\(base)\" "
                + "stroke=\"#e3e3e3\"/>"
                + "<text x=\"\(px)\" y=\"\(Markup.fixed(y(0) + 15))\" text-anchor=\"middle\">"
                + "\(Markup.escape(tick.label))</text></g>"
        }
        out += axisLabelX(label) + "</g>"
        return out
    }

    func axisLabelX(_ label: String) -> String {
        "<text class=\"x-label\" x=\"\(Markup.fixed(x(0.5)))\" y=\"\(Markup.fixed(y(0) + xLabelSpace - 8))\" "
            + "text-anchor=\"middle\">\(Markup.escape(label))</text>"
    }

    /// The y axis: ticks with labels and horizontal grid lines.
    func yAxis(_ ticks: [AxisTick], scale: AxisScale, label: String) -> String {
        let x0 = Markup.fixed(x(0)), x1 = Markup.fixed(x(1))
        var out = "<g class=\"y-axis\"><line x1=\"\(x0)\" y1=\"\(Markup.fixed(y(0)))\" x2=\"\(x0)\" "
            + "y2=\"\(Markup.fixed(y(1)))\" stroke=\"#333\"/>"
        for tick in ticks {
            let py = Markup.fixed(y(scale.fraction(tick.value)))
            out += "<g class=\"y-tick\"><line x1=\"\(x0)\" y1=\"\(py)\" x2=\"\(x1)\" y2=\"\(py)\" stroke=\"#e3e3e3\"/>"
                + "<text x=\"\(Markup.fixed(x(0) - 6))\" y=\"\(Markup.fixed(y(scale.fraction(tick.value)) + 4))\" "
                + "text-anchor=\"end\">\(Markup.escape(tick.label))</text></g>"
        }
        let cy = Markup.fixed(y(0.5))
        out += "<text class=\"y-label\" x=\"14\" y=\"\(cy)\" text-anchor=\"middle\" "
            + "transform=\"rotate(-90 14 \(cy))\">\(Markup.escape(label))</text></g>"
        return out
    }

    /// The legend rows under the plot; each entry shows its series' line (dash and marker) or bar fill. Reference
    /// lines (class `reference`, after the series, on rows of their own) show their dashed line and full label:
    /// written here rather than on the plot, where labels of close values overlap each other and the curves.
    func legend(patternID: (Int) -> String? = { _ in nil }) -> String {
        var out = "<g class=\"legend\">"
        var index = 0
        for (row, entries) in legendRows.enumerated() {
            let cy = y(0) + xLabelSpace + 6 + Double(row) * ChartFrame.rowHeight
            var cx = left
            for entry in entries {
                let cls = entry.sample == .reference ? "reference" : "legend-entry"
                out += "<g class=\"\(cls)\">" + sample(entry, at: cx, cy, pattern: patternID(index))
                    + "<text x=\"\(Markup.fixed(cx + 36))\" y=\"\(Markup.fixed(cy + 4))\">"
                    + "\(Markup.escape(entry.name))</text></g>"
                cx += 44 + Double(entry.name.count) * ChartFrame.charWidth
                index += 1
            }
        }
        return out + "</g>"
    }

    private func sample(_ entry: (name: String, style: SeriesStyle, sample: LegendSample), at cx: Double,
                        _ cy: Double, pattern: String?) -> String {
        let style = entry.style
        switch entry.sample {
        case .bar:
            let fill = pattern.map { "url(#\($0))" } ?? style.color
            return "<rect x=\"\(Markup.fixed(cx + 4))\" y=\"\(Markup.fixed(cy - 6))\" width=\"22\" height=\"12\" "
                + "fill=\"\(fill)\" stroke=\"#333\" stroke-width=\"0.5\"/>"
        case .line, .reference:
            let dash = style.dash.isEmpty ? "" : " stroke-dasharray=\"\(style.dash)\""
            let line = "<line x1=\"\(Markup.fixed(cx))\" y1=\"\(Markup.fixed(cy))\" x2=\"\(Markup.fixed(cx + 30))\" "
                + "y2=\"\(Markup.fixed(cy))\" stroke=\"\(style.color)\" stroke-width=\"2\"\(dash)/>"
            return entry.sample == .line ? line + style.markerSVG(x: cx + 15, y: cy) : line
        }
    }
}
