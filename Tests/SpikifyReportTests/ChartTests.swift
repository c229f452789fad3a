import XCTest
@testable import SpikifyReport

/// The SVG charts, read back as XML: series, ticks, legends, references, log-axis placement and escaping.
final class ChartTests: XCTestCase {
    private func accuracyChart(_ names: [String], references: [ReferenceLine] = []) -> LineChart {
        let t = (1...64).map(Double.init)
        let series = names.enumerated().map { i, name in
            LineSeries(name: name, x: t, y: t.map { 100 - 50 / $0 - Double(i) })
        }
        return LineChart(title: "Accuracy", xLabel: "T", yLabel: "accuracy", xAxis: .log2, series: series,
                         references: references)
    }

    func testLineChartHasOneSeriesAndLegendEntryPerInputSeries() throws {
        let names = ["spikezip L=16", "spikezip L=32", "calibrated"]
        let svg = try parseXML(accuracyChart(names, references: [ReferenceLine(label: "ANN 98.1%", y: 98.1)]).svg())
        XCTAssertEqual(svg.name, "svg")
        XCTAssertEqual(svg.elements(withClass: "series").map { $0.attributes["data-name"] ?? "" }, names)
        XCTAssertEqual(svg.labels(ofClass: "legend-entry"), names)
        XCTAssertEqual(svg.labels(ofClass: "reference"), ["ANN 98.1%"])
        XCTAssertEqual(svg.elements(named: "title").first?.allText, "Accuracy")
    }

    func testSeriesDifferInColourDashAndMarker() {
        let styles = (0..<6).map(SeriesStyle.at)
        XCTAssertEqual(Set(styles.map(\.color)).count, 6)
        XCTAssertEqual(Set(styles.map(\.dash)).count, 6)
        XCTAssertEqual(Set(styles.map(\.marker)).count, 6)
        XCTAssertEqual(styles[0].color, "#0072B2")  // Okabe–Ito blue first
    }

    func testLog2AxisTicksArePowersOfTwoPlacedEvenly() throws {
        let chart = accuracyChart(["a"])
        let svg = try parseXML(chart.svg())
        XCTAssertEqual(svg.labels(ofClass: "x-tick"), ["1", "2", "4", "8", "16", "32", "64"])
        // Powers of two are equally spaced on a log₂ axis: tick x positions have a constant difference.
        let xs = svg.elements(withClass: "x-tick").compactMap { $0.elements(named: "text").first?.attributes["x"] }
            .compactMap(Double.init)
        XCTAssertEqual(xs.count, 7)
        let gaps = zip(xs.dropFirst(), xs).map { $0 - $1 }
        for gap in gaps { XCTAssertEqual(gap, gaps[0], accuracy: 0.02) }
        XCTAssertEqual(chart.xScale().fraction(8), 0.5, accuracy: 1e-12)  // log₂ 8 = 3, half of log₂ 64 = 6
        XCTAssertEqual(chart.xScale().fraction(1), 0, accuracy: 1e-12)
    }

    func testLogAxisThinsTicksAndLog10UsesDecades() {
        let long = AxisScale(kind: .log2, lower: 1, upper: 4096).ticks().map(\.label)
        XCTAssertLessThanOrEqual(long.count, 10)
        XCTAssertEqual(long.first, "1")
        XCTAssertEqual(AxisScale(kind: .log10, lower: 1, upper: 1000).ticks().map(\.label), ["1", "10", "100", "1000"])
        XCTAssertEqual(AxisScale(kind: .log10, lower: 1, upper: 20).ticks().map(\.label), ["1", "2", "5", "10", "20"])
        XCTAssertEqual(AxisScale(kind: .log10, lower: 1, upper: 100).fraction(10), 0.5, accuracy: 1e-12)
    }

    func testPercentAxisHasNiceTicksInsideZeroToHundred() throws {
        let svg = try parseXML(accuracyChart(["a"], references: [ReferenceLine(label: "ANN", y: 99)]).svg())
        let labels = svg.labels(ofClass: "y-tick")
        XCTAssertEqual(labels.first, "40%")
        XCTAssertEqual(labels.last, "100%")
        XCTAssertTrue(labels.allSatisfy { $0.hasSuffix("%") })
        XCTAssertEqual(AxisScale.niceTicks(lower: 0, upper: 1, target: 5), [0, 0.2, 0.4, 0.6, 0.8, 1])
    }

    func testHostileNamesAreEscaped() throws {
        let hostile = "<script>alert(\"x\")</script> & 'q'"
        let chart = LineChart(title: hostile, xLabel: "a<b", yLabel: "c&d",
                              series: [LineSeries(name: hostile, x: [1, 2], y: [50, 60])],
                              references: [ReferenceLine(label: hostile, y: 55)])
        let text = chart.svg()
        XCTAssertFalse(text.contains("<script>"))
        let svg = try parseXML(text)
        XCTAssertEqual(svg.labels(ofClass: "legend-entry"), [hostile])
        XCTAssertEqual(svg.elements(withClass: "series").first?.attributes["data-name"], hostile)
        XCTAssertEqual(svg.elements(withClass: "x-label").first?.allText, "a<b")
        let bars = BarChart(title: hostile, yLabel: "n", categories: [hostile, "b"],
                            series: [BarSeries(name: hostile, values: [1, 2])], idPrefix: hostile).svg()
        XCTAssertEqual(try parseXML(bars).labels(ofClass: "x-tick").first, hostile)
        XCTAssertEqual(Markup.escape("\u{1}a"), "\u{FFFD}a")
    }

    func testOutputIsDeterministic() {
        XCTAssertEqual(accuracyChart(["a", "b"]).svg(), accuracyChart(["a", "b"]).svg())
        XCTAssertEqual(Markup.fixed(-0.0001, 2), "0.00")
        XCTAssertEqual(Markup.fixed(.nan), "0")
    }

    func testGroupedBarsHaveOneBarPerSeriesAndCategory() throws {
        let chart = BarChart(title: "Spikes", yLabel: "spikes", categories: ["patch_embed", "blocks.0.q", "blocks.0.k"],
                             series: [BarSeries(name: "L=16", values: [10, 20, nil]),
                                      BarSeries(name: "L=32", values: [5, 15, 25])], idPrefix: "t")
        let svg = try parseXML(chart.svg())
        XCTAssertEqual(svg.elements(withClass: "series").map { $0.elements(withClass: "bar").count }, [2, 3])
        XCTAssertEqual(svg.labels(ofClass: "x-tick"), ["patch_embed", "blocks.0.q", "blocks.0.k"])
        XCTAssertEqual(svg.labels(ofClass: "legend-entry"), ["L=16", "L=32"])
        XCTAssertEqual(svg.elements(named: "pattern").count, 1)  // series 1 is hatched, series 0 solid
        XCTAssertEqual(svg.labels(ofClass: "y-tick").last, "25")
    }

    func testSteppedChartHoldsValuesAndUsesWholeTicks() throws {
        var chart = LineChart(title: "Alphabet", xLabel: "t", yLabel: "|spike|", xAxis: .linear, yIsPercent: false,
                              series: [LineSeries(name: "a", x: [1, 2, 3], y: [3, 3, 1])])
        chart.stepped = true
        let svg = try parseXML(chart.svg())
        XCTAssertEqual(svg.labels(ofClass: "y-tick"), ["0", "1", "2", "3", "4"])
        let path = try XCTUnwrap(svg.elements(withClass: "series").first?.elements(named: "path").first?.attributes["d"])
        XCTAssertEqual(path.filter { $0 == "L" }.count, 4)  // two steps: along, then down (or up)
    }

    func testHistogramDrawsNonEmptyBins() throws {
        let svg = try parseXML(Histogram(title: "Settle", xLabel: "t", yLabel: "n", counts: [0, 3, 7, 0, 1]).svg())
        XCTAssertEqual(svg.elements(withClass: "bar").count, 3)
        XCTAssertEqual(svg.labels(ofClass: "x-tick"), ["0", "1", "2", "3", "4"])
    }
}
