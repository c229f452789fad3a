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
        // Patch embedding 1·2·2·4 + 4, class token 4, positions 5·4, 2 blocks of 4·(16 + 4) + 2·4·8 + 8 + 4 + 4·4,
        // final norm 2·4, head 4·3 + 3.
        XCTAssertEqual(r.config.flatMap(ReportFacts.parameters), 411)
        XCTAssertTrue(ReportFacts.modelCard(r).contains { $0 == ("Parameters (weights + biases)", "411") })
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
        // Sites grouped by block: blocks.0.q and blocks.0.k are one curve, per image (2 samples).
        let byBlock = try XCTUnwrap(charts.first { title($0) == "Spikes per step by block: \(names[0])" })
        XCTAssertEqual(byBlock.labels(ofClass: "legend-entry"), ["block 0"])
        XCTAssertEqual(ReportFacts.spikesPerStepByBlock(reports[0]).map(\.perStep), [[1.5, 1, 0, 0]])
        XCTAssertEqual(ReportFacts.blockName("blocks.11.attn_v"), "block 11")
        XCTAssertEqual(ReportFacts.blockName("blocks.x"), "blocks.x")
        // A report keeps its style in every chart: the second report alone is still drawn as the second series.
        let swapped = try parseXML(HTMLReport.render(reports.reversed()))
        let lonely = try XCTUnwrap(swapped.elements(named: "svg").first { title($0).hasPrefix("Spikes per step") })
        XCTAssertEqual(lonely.elements(withClass: "series").first?.elements(named: "path").first?.attributes["stroke"],
                       SeriesStyle.at(1).color)
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

    func testExtremeSizesDoNotTrap() throws {
        XCTAssertEqual(ReportFacts.selectedSteps([1, Int.max]), [1, Int.max].sorted())
        XCTAssertEqual(EnergyConstants.bits(levels: Int.max), 62)
        let huge = #"{"levels": 9223372036854775807, "samples": 1, "config": {"image_size": 9223372036854775807, "#
            + #""patch_size": 1, "channels": 9223372036854775807, "embed_dim": 3037000500, "depth": 2, "num_heads": 1, "#
            + #""mlp_dim": 9223372036854775807, "num_classes": 9223372036854775807}}"#
        let page = HTMLReport.render([try Fixtures.document(huge)])
        XCTAssertNoThrow(try parseXML(page))
    }

    func testEmptyAndMinimalReportsStillRender() throws {
        let empty = try parseXML(HTMLReport.render([]))
        XCTAssertTrue(empty.elements(named: "svg").isEmpty)
        let minimal = try parseXML(HTMLReport.render([try Fixtures.document("{}")]))
        XCTAssertTrue(minimal.allText.contains("No report has SNN accuracies"))
        XCTAssertTrue(MarkdownReport.render([try Fixtures.document("{}")]).contains("_No per-step results"))
    }
}

/// Errors name the file and the key in the report's own spelling.
final class ReportReadErrorTests: XCTestCase {
    private func loadError(_ json: String) throws -> String {
        let path = NSTemporaryDirectory() + "spikify-report-\(UUID().uuidString).json"
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try ReportDocument.load(path: path)
            return "no error"
        } catch {
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix(path + ": "), text)
            return String(text.dropFirst(path.count + 2))
        }
    }

    func testWrongTypeNamesTheKey() throws {
        XCTAssertEqual(try loadError(#"{"snn": {"agreement_with_ann": [0.5, "x"]}}"#),
                       "key `snn.agreement_with_ann[1]`: expected a number")
        XCTAssertEqual(try loadError(#"{"sites": [{"neurons": 3}]}"#), "key `sites[0].site` is missing")
        XCTAssertTrue(try loadError("{not json").hasPrefix("not a JSON report"))
        XCTAssertTrue(try loadError("{}") == "no error")
    }
}
