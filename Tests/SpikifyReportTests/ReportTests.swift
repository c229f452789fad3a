import XCTest
@testable import SpikifyReport

/// Decoding old and new reports, and the HTML and Markdown pages read back against the input documents.
final class ReportTests: XCTestCase {
    func testOldReportWithoutNewKeysDecodes() throws {
        let r = try Fixtures.document(Fixtures.oldReport)
        XCTAssertEqual(r.title, "vit-mnist-relu-qann16.h5 · spikezip · L=16")
        XCTAssertEqual(r.timesteps, [1, 2, 3, 4])
        XCTAssertNil(r.reference)
        XCTAssertNil(r.config)
        XCTAssertEqual(r.referenceName, "QANN")
        XCTAssertEqual(r.agreementWithReference ?? [], [0.5, 0.91, 0.99, 1.0])
        XCTAssertEqual(r.snn?.settleSteps?.p99, 4)
        XCTAssertNil(r.spikeAlphabetPerStep)
        XCTAssertEqual(try Fixtures.document("{}").title, "report")
    }

    func testNewReportDecodesEveryAddedField() throws {
        let r = try Fixtures.document(Fixtures.newReport())
        XCTAssertEqual(r.reference?.description, "SpikeZIP-TF QANN, 16 levels")
        XCTAssertEqual(r.snn?.settleSteps?.histogram ?? [], [0, 0, 1, 0, 1])
        XCTAssertEqual(r.snn?.spikesPerStep ?? [], [40, 20, 8, 0])
        XCTAssertEqual(r.synapticEvents?.first?.fanOut, 4)
        XCTAssertEqual(r.config?.numHeads, 2)
        XCTAssertEqual(r.simulation?.quiescenceIsFinal, true)
        XCTAssertEqual(r.spikeAlphabetPerStep ?? [], [1, 2, 0, 0])
    }

    func testHTMLIsWellFormedAndHasOneCurvePerReport() throws {
        let reports = [try Fixtures.document(Fixtures.newReport()), try Fixtures.document(Fixtures.oldReport)]
        let names = ReportFacts.names(reports)
        let page = try parseXML(HTMLReport.render(reports))
        XCTAssertEqual(page.name, "html")
        XCTAssertTrue(page.elements(named: "script").isEmpty)
        let charts = page.elements(named: "svg")
        let accuracy = try XCTUnwrap(charts.first { $0.elements(named: "title").first?.allText == "SNN accuracy" })
        XCTAssertEqual(accuracy.elements(withClass: "series").map { $0.attributes["data-name"] ?? "" }, names)
        XCTAssertEqual(accuracy.labels(ofClass: "legend-entry"), names)
        // Both reports share the ANN's and the QANN's accuracy: one line each.
        XCTAssertEqual(accuracy.labels(ofClass: "reference"), ["ANN 98.1%", "QANN 97.9%"])
        XCTAssertEqual(accuracy.labels(ofClass: "x-tick"), ["1", "2", "4"])
        // Only the new report has per-step spikes and a histogram; the old one gets a note instead.
        func title(_ svg: XMLElementNode) -> String { svg.elements(named: "title").first?.allText ?? "" }
        let spikes = try XCTUnwrap(charts.first { title($0).hasPrefix("Spikes per step") })
        XCTAssertEqual(spikes.labels(ofClass: "legend-entry"), [names[0]])
        XCTAssertEqual(charts.filter { title($0).hasPrefix("Settle steps") }.count, 1)
        XCTAssertTrue(page.allText.contains("no settle-step histogram"))
        let sites = try XCTUnwrap(charts.first { title($0) == "Spikes per image by site" })
        XCTAssertEqual(sites.labels(ofClass: "x-tick"), ["blocks.0.q", "blocks.0.k", "patch_embed"])
        XCTAssertTrue(page.allText.contains("spikify eval --model m.h5 --report r.json"))
    }

    func testHostileModelNameIsEscapedInHTMLAndMarkdown() throws {
        let hostile = #"<img src=x onerror=alert(1)> & \"q\" | 'x'"#
        let report = try Fixtures.document(Fixtures.newReport(model: hostile))
        let html = HTMLReport.render([report, report])
        XCTAssertFalse(html.contains("<img"))
        let page = try parseXML(html)
        let accuracy = try XCTUnwrap(page.elements(named: "svg").first)
        XCTAssertEqual(accuracy.labels(ofClass: "legend-entry").count, 2)
        XCTAssertTrue(accuracy.labels(ofClass: "legend-entry")[0].hasPrefix(#"<img src=x onerror=alert(1)> & "q""#))
        XCTAssertNotEqual(accuracy.labels(ofClass: "legend-entry")[0], accuracy.labels(ofClass: "legend-entry")[1])
        let markdown = MarkdownReport.render([report])
        XCTAssertFalse(markdown.contains("<img"))
        XCTAssertTrue(markdown.contains(#"\|"#))
    }

    func testMarkdownHasSummaryTimestepAndEnergyTables() throws {
        let markdown = MarkdownReport.render([try Fixtures.document(Fixtures.newReport()),
                                              try Fixtures.document(Fixtures.oldReport)])
        XCTAssertTrue(markdown.contains("| vit-tiny.h5 · spikezip · L=16 | 2 | 4 | 98.10% | QANN | 97.90% | 99.00% | "
                                        + "97.90% | 99.00% | 100.00% |"))
        XCTAssertTrue(markdown.contains("| 4 | 97.90% | 99.00% | 100.00% |"))
        XCTAssertTrue(markdown.contains("| **total** |  | 2.06k | 27 | 2.66k | 9.458 |"))
        XCTAssertEqual(markdown.components(separatedBy: "### Model card").count, 3)
        XCTAssertEqual(MarkdownReport.render([]), MarkdownReport.render([]))
    }

    func testEmptyAndMinimalReportsStillRender() throws {
        let empty = try parseXML(HTMLReport.render([]))
        XCTAssertTrue(empty.elements(named: "svg").isEmpty)
        let minimal = try parseXML(HTMLReport.render([try Fixtures.document("{}")]))
        XCTAssertTrue(minimal.allText.contains("No report has SNN accuracies"))
        XCTAssertTrue(MarkdownReport.render([try Fixtures.document("{}")]).contains("_No per-step results"))
    }
}
