import XCTest
@testable import SpikifyReport

/// What the page looked like in `make report-preview` and was fixed (docs/report.md, "Preview"): reference labels
/// in a key instead of piled on the plot, category labels that do not overlap, axes that end where the data
/// ends, no empty histogram, long tables folded.
final class ReadabilityTests: XCTestCase {
    private func title(_ svg: XMLElementNode) -> String { svg.elements(named: "title").first?.allText ?? "" }
    private func number(_ text: String?) -> Double { Double(text ?? "") ?? .nan }

    func testReferenceLabelsAreInTheKeyBelowThePlot() throws {
        let chart = LineChart(title: "acc", xLabel: "T", yLabel: "accuracy",
                              series: [LineSeries(name: "a", x: [1, 2, 4], y: [10, 90, 97])],
                              references: [ReferenceLine(label: "ANN 98.0%", y: 98), ReferenceLine(label: "QANN 97.9%", y: 97.9),
                                           ReferenceLine(label: "ANN 0.0%", y: 0)])
        let svg = try parseXML(chart.svg())
        let axisY = number(svg.elements(withClass: "x-axis").first?.elements(named: "line").first?.attributes["y1"])
        XCTAssertEqual(svg.elements(withClass: "reference-line").count, 3)
        XCTAssertEqual(svg.labels(ofClass: "reference"), ["ANN 98.0%", "QANN 97.9%", "ANN 0.0%"])
        // Every label sits under the x axis (in the key), none on the plot where it would cover curves and the
        // other labels; entries of one row do not overlap.
        let texts = svg.elements(withClass: "reference").compactMap { $0.elements(named: "text").first }
        let ys = texts.map { number($0.attributes["y"]) }
        XCTAssertTrue(ys.allSatisfy { $0 > axisY }, "\(ys) vs axis \(axisY)")
        for (a, b) in zip(texts, texts.dropFirst()) where a.attributes["y"] == b.attributes["y"] {
            XCTAssertGreaterThan(number(b.attributes["x"]) - number(a.attributes["x"]),
                                 Double(a.allText.count) * 5.5, "\(a.allText) overlaps \(b.allText)")
        }
        // The series' legend comes first, on its own row.
        let legendY = number(svg.elements(withClass: "legend-entry").first?.elements(named: "text").first?.attributes["y"])
        XCTAssertTrue(ys.allSatisfy { $0 > legendY })
    }

    func testManyCategoryLabelsDoNotOverlap() throws {
        let sites = (0..<4).flatMap { b in ["norm1", "q", "k", "v", "attn", "attn_v", "proj", "norm2", "fc1", "fc2"]
            .map { "blocks.\(b).\($0)" } } + ["patch_embed", "final_norm"]
        let series = (0..<3).map { BarSeries(name: "r\($0)", values: sites.map { _ in 1 }) }
        let svg = try parseXML(BarChart(title: "sites", yLabel: "spikes", categories: sites, series: series,
                                        idPrefix: "t").svg())
        let ticks = svg.elements(withClass: "x-tick").compactMap { $0.elements(named: "text").first }
        XCTAssertEqual(ticks.count, 42)
        let xs = ticks.map { number($0.attributes["x"]) }
        // Neighbouring labels at least one 11 px text line apart, written vertically.
        XCTAssertGreaterThanOrEqual(zip(xs, xs.dropFirst()).map { $1 - $0 }.min() ?? 0, 12)
        XCTAssertTrue(ticks.allSatisfy { ($0.attributes["transform"] ?? "").hasPrefix("rotate(-90") })
        // Few short categories stay horizontal.
        let few = try parseXML(BarChart(title: "e", yLabel: "nJ", categories: ["block 0", "head"],
                                        series: [BarSeries(name: "a", values: [1, 2])], idPrefix: "e").svg())
        XCTAssertTrue(few.elements(withClass: "x-tick").allSatisfy { $0.elements(named: "text").first?.attributes["transform"] == nil })
    }

    func testSpikeChartsEndAfterTheLastSpike() throws {
        // Run to T = 8, every sample quiet after step 3.
        var json = Fixtures.newReport()
        json = json.replacingOccurrences(of: #""timesteps": [1, 2, 3, 4]"#, with: #""timesteps": [1, 2, 3, 4, 5, 6, 7, 8]"#)
            .replacingOccurrences(of: #""spikes_per_step": [40, 20, 8, 0]"#, with: #""spikes_per_step": [40, 20, 8, 0, 0, 0, 0, 0]"#)
            .replacingOccurrences(of: #""spikes_per_step": [3, 0, 0, 0]"#, with: #""spikes_per_step": [3, 0, 0, 0, 0, 0, 0, 0]"#)
            .replacingOccurrences(of: #""spikes_per_step": [0, 2, 0, 0]"#, with: #""spikes_per_step": [0, 2, 0, 0, 0, 0, 0, 0]"#)
        let report = try Fixtures.document(json)
        XCTAssertEqual(ReportFacts.spikingSteps([report]), 4)
        let page = try parseXML(HTMLReport.render([report]))
        let perStep = try XCTUnwrap(page.elements(named: "svg").first { title($0).hasPrefix("Spikes per step (all") })
        let path = try XCTUnwrap(perStep.elements(withClass: "series").first?.elements(named: "path").first)
        XCTAssertEqual(path.attributes["d"]?.filter { $0 == "M" || $0 == "L" }.count, 4)
        XCTAssertEqual(perStep.labels(ofClass: "x-tick").last, "4")
        XCTAssertTrue(page.allText.contains("end at step 4 of 8"), page.allText)
        // The per-site table is folded and ends at step 4 too.
        let details = page.elements(named: "details")
        XCTAssertTrue(details.contains { $0.allText.contains("per site") && $0.allText.contains("t = 4") && !$0.allText.contains("t = 8") })
    }

    func testSettleHistogramEndsAtTheLastSettleStepAndIsNeverEmpty() throws {
        let capped = Fixtures.newReport().replacingOccurrences(
            of: #""histogram": [0, 0, 1, 0, 1]"#, with: #""histogram": [0, 0, 1, 0, 1"# + String(repeating: ", 0", count: 252) + "]")
        let page = try parseXML(HTMLReport.render([try Fixtures.document(capped)]))
        let histogram = try XCTUnwrap(page.elements(named: "svg").first { title($0).hasPrefix("Settle steps") })
        XCTAssertLessThanOrEqual(number(histogram.labels(ofClass: "x-tick").last), 5)
        XCTAssertTrue(page.allText.contains("no sample settled after step 4 (of at most 256)"))

        let unsettled = Fixtures.newReport().replacingOccurrences(
            of: #""histogram": [0, 0, 1, 0, 1]"#, with: #""histogram": [0, 0, 0, 0, 0]"#)
        let empty = try parseXML(HTMLReport.render([try Fixtures.document(unsettled)]))
        XCTAssertFalse(empty.elements(named: "svg").contains { title($0).hasPrefix("Settle steps") })
        XCTAssertTrue(empty.allText.contains("no sample settled within the 4 steps run"), empty.allText)
    }

    func testEnergyChartAxisUsesOneReadableUnitAndTheLayerTableIsFolded() throws {
        let page = try parseXML(HTMLReport.render([try Fixtures.document(Fixtures.newReport())]))
        let energy = try XCTUnwrap(page.elements(named: "svg").first { title($0).hasPrefix("Energy by block") })
        // The tiny ViT needs a few nJ per image: the axis is in nJ, its ticks plain numbers.
        XCTAssertEqual(energy.elements(withClass: "y-label").first?.allText, "energy per image (nJ)")
        XCTAssertTrue(page.elements(named: "details").contains { $0.allText.contains("Operations and energy per layer") })
        XCTAssertTrue(page.allText.contains("Per image: ANN 9.46 nJ"))
    }
}

extension ReadabilityTests {
    func testEqualReferenceValuesShareOneKeyEntry() throws {
        // A QAT QANN as accurate as its ANN: one line "ANN = QANN 97.0%", not two identical lines.
        let same = Fixtures.newReport().replacingOccurrences(of: #""accuracy": 0.979,"#, with: #""accuracy": 0.981,"#)
        let other = Fixtures.newReport(model: "models/other.h5")
        let reports = [try Fixtures.document(same), try Fixtures.document(other)]
        let names = ReportFacts.names(reports)
        let page = try parseXML(HTMLReport.render(reports))
        let accuracy = try XCTUnwrap(page.elements(named: "svg").first { $0.elements(named: "title").first?.allText == "SNN accuracy" })
        XCTAssertEqual(accuracy.labels(ofClass: "reference"),
                       ["ANN 98.1%", "QANN 98.1% (\(names[0]))", "QANN 97.9% (\(names[1]))"])
        let alone = try parseXML(HTMLReport.render([reports[0]]))
        let chart = try XCTUnwrap(alone.elements(named: "svg").first { $0.elements(named: "title").first?.allText == "SNN accuracy" })
        XCTAssertEqual(chart.labels(ofClass: "reference"), ["ANN = QANN 98.1%"])
    }
}
