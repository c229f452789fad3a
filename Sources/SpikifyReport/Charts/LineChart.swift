import Foundation

/// A named series of (x, y) points; points with non-finite coordinates, or x ≤ 0 on a log axis, are skipped.
/// `styleIndex` picks its `SeriesStyle` (default: its position in the chart), so that one report keeps one style
/// in every chart even when some charts leave other reports out.
public struct LineSeries: Sendable, Equatable {
    public var name: String
    public var points: [(x: Double, y: Double)]
    public var styleIndex: Int?
    public init(name: String, points: [(x: Double, y: Double)], styleIndex: Int? = nil) {
        self.name = name
        self.points = points
        self.styleIndex = styleIndex
    }
    public init(name: String, x: [Double], y: [Double], styleIndex: Int? = nil) {
        self.init(name: name, points: zip(x, y).map { (x: $0, y: $1) }, styleIndex: styleIndex)
    }
    public static func == (a: LineSeries, b: LineSeries) -> Bool {
        a.name == b.name && a.styleIndex == b.styleIndex && a.points.map(\.x) == b.points.map(\.x)
            && a.points.map(\.y) == b.points.map(\.y)
    }
}

/// A horizontal reference line with a label, e.g. the ANN's accuracy ("ANN 98.1%").
public struct ReferenceLine: Sendable, Equatable {
    public var label: String
    public var y: Double
    public init(label: String, y: Double) {
        self.label = label
        self.y = y
    }
}

/// A line chart as inline SVG: several series, each with its own colour, dash pattern and marker
/// (`SeriesStyle`), reference lines, nice ticks on a linear or logarithmic x axis, and a legend.
/// The main use is a quantity against timesteps t = 1…T on a log₂ axis (docs/report.md).
public struct LineChart: Sendable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var xAxis: AxisKind
    /// `true`: y values are percentages (0…100), ticks read `95%` and the range stays inside 0…100.
    public var yIsPercent: Bool
    public var series: [LineSeries]
    public var references: [ReferenceLine]
    public var width: Double = 680
    public var plotHeight: Double = 260
    /// `true`: the values hold from one x to the next (integers per step, such as the spike alphabet): drawn as
    /// steps, with whole-number y ticks.
    public var stepped = false
    /// At most this many markers per series, spread along the x axis, so dense series stay readable.
    public var maxMarkers = 14

    public init(title: String, xLabel: String, yLabel: String, xAxis: AxisKind = .log2, yIsPercent: Bool = true,
                series: [LineSeries], references: [ReferenceLine] = []) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.xAxis = xAxis
        self.yIsPercent = yIsPercent
        self.series = series
        self.references = references
    }

    private func usable(_ p: (x: Double, y: Double)) -> Bool {
        p.x.isFinite && p.y.isFinite && (xAxis == .linear || p.x > 0)
    }

    /// The x scale: the data's x range (1…1 widened by `AxisScale`).
    public func xScale() -> AxisScale {
        let xs = series.flatMap { $0.points.filter(usable).map(\.x) }
        return AxisScale(kind: xAxis, lower: xs.min() ?? 1, upper: xs.max() ?? 1)
    }

    /// The y scale: data and reference lines, widened to nice bounds (and kept in 0…100 for percentages).
    public func yScale() -> AxisScale {
        var ys = series.flatMap { $0.points.filter(usable).map(\.y) } + references.map(\.y).filter(\.isFinite)
        if ys.isEmpty { ys = yIsPercent ? [0, 100] : [0, 1] }
        var lo = ys.min() ?? 0, hi = ys.max() ?? 1
        if hi - lo < 1e-9 { lo -= 1; hi += 1 }
        let pad = (hi - lo) * 0.04
        lo -= pad
        hi += pad
        if yIsPercent { lo = max(0, lo); hi = min(100, hi) }
        if !yIsPercent && (ys.min() ?? 0) >= 0 { lo = 0 }  // counts start at zero
        var scale = AxisScale(kind: .linear, lower: lo, upper: hi).widenedToNiceBounds()
        if yIsPercent { scale = AxisScale(kind: .linear, lower: max(0, scale.lower), upper: min(100, scale.upper)) }
        return scale
    }

    /// The chart as one `<svg>` element.
    public func svg() -> String {
        let styles = series.enumerated().map { SeriesStyle.at($0.element.styleIndex ?? $0.offset) }
        let referenceStyle = SeriesStyle(color: "#555555", dash: "3 3", marker: .circle, hatch: 0)
        let shown = references.filter(\.y.isFinite)
        let legend = series.indices.map { (name: series[$0].name, style: styles[$0], sample: LegendSample.line) }
            + shown.map { (name: $0.label, style: referenceStyle, sample: LegendSample.reference) }
        let frame = ChartFrame(width: width, plotHeight: plotHeight, legend: legend)
        let xs = xScale(), ys = yScale()
        var out = frame.open(title: title)
        var yTicks = ys.ticks(format: yIsPercent ? AxisScale.percentLabel : AxisScale.plainLabel)
        if stepped, yTicks.filter({ $0.value == $0.value.rounded() }).count >= 2 {
            yTicks = yTicks.filter { $0.value == $0.value.rounded() }
        }
        out += frame.yAxis(yTicks, scale: ys, label: yLabel)
        out += frame.xAxis(xs.ticks(), scale: xs, label: xLabel)
        // Reference lines across the plot, labelled in the key under the legend (`ChartFrame.legend`).
        for reference in shown {
            let py = Markup.fixed(frame.y(min(1, max(0, ys.fraction(reference.y)))))
            out += "<g class=\"reference-line\"><line x1=\"\(Markup.fixed(frame.x(0)))\" y1=\"\(py)\" "
                + "x2=\"\(Markup.fixed(frame.x(1)))\" y2=\"\(py)\" stroke=\"\(referenceStyle.color)\" "
                + "stroke-width=\"1.2\" stroke-dasharray=\"\(referenceStyle.dash)\"><title>"
                + "\(Markup.escape(reference.label))</title></line></g>"
        }
        for (index, line) in series.enumerated() {
            out += seriesSVG(line, style: styles[index], frame: frame, xs: xs, ys: ys)
        }
        return out + frame.legend() + "</svg>"
    }

    private func seriesSVG(_ line: LineSeries, style: SeriesStyle, frame: ChartFrame, xs: AxisScale,
                           ys: AxisScale) -> String {
        let pixels = line.points.filter(usable).map { (frame.x(xs.fraction($0.x)), frame.y(ys.fraction($0.y))) }
        let dash = style.dash.isEmpty ? "" : " stroke-dasharray=\"\(style.dash)\""
        let name = Markup.escape(line.name)
        var out = "<g class=\"series\" data-name=\"\(name)\"><title>\(name)</title>"
        if !pixels.isEmpty {
            var path = "M" + Markup.fixed(pixels[0].0) + "," + Markup.fixed(pixels[0].1)
            for i in pixels.indices.dropFirst() {
                if stepped { path += "L" + Markup.fixed(pixels[i].0) + "," + Markup.fixed(pixels[i - 1].1) }
                path += "L" + Markup.fixed(pixels[i].0) + "," + Markup.fixed(pixels[i].1)
            }
            out += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(style.color)\" stroke-width=\"2\"\(dash)/>"
        }
        // Markers at points at least plotWidth / maxMarkers apart (always the first and last point).
        let spacing = frame.plotWidth / Double(max(maxMarkers, 1))
        var lastX = -Double.infinity
        for (index, point) in pixels.enumerated()
        where point.0 - lastX >= spacing || index == pixels.count - 1 {
            out += style.markerSVG(x: point.0, y: point.1)
            lastX = point.0
        }
        return out + "</g>"
    }
}
