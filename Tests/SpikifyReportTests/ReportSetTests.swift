import XCTest
@testable import SpikifyReport

/// `compare.json` lists and the one-line energy summary of `spikify eval`.
final class ReportSetTests: XCTestCase {
    func testCompareListSplitsReportsAndUnavailableMethods() throws {
        let json = "[\(Fixtures.newReport()), {\"method\": \"mst\", \"status\": \"not available in this Spikify\"}]"
        let set = try ReportSet.decode(from: Data(json.utf8))
        XCTAssertEqual(set.documents.count, 1)
        XCTAssertEqual(set.unavailable, [UnavailableMethod(method: "mst", status: "not available in this Spikify")])
        let page = try parseXML(ReportFormat.html.render(set))
        XCTAssertTrue(page.allText.contains("Methods not run"))
        XCTAssertTrue(ReportFormat.md.render(set).contains("| mst | not available in this Spikify |"))
        // A single report is a set of one; a wrong type inside a list names the index.
        XCTAssertEqual(try ReportSet.decode(from: Data(Fixtures.oldReport.utf8)).documents.count, 1)
        XCTAssertThrowsError(try ReportSet.decode(from: Data(#"[{"snn": {"accuracy": 3}}]"#.utf8))) { error in
            XCTAssertTrue(ReportReadError.message(for: error).contains("[0].snn.accuracy"), "\(error)")
        }
        XCTAssertEqual(ReportFormat.implied(by: "x/report.MD"), .md)
        XCTAssertEqual(ReportFormat.implied(by: "report.html"), .html)
    }

    func testSummaryLineNamesNetworksAndConstants() throws {
        let e = EnergyEstimate.estimate(try Fixtures.document(Fixtures.newReport()))
        let line = e.summaryLine
        XCTAssertTrue(line.hasPrefix("energy per image: ANN "), line)
        // 2056 MACs · 4.6 pJ = 9457.6 pJ: one unit (nJ) for all three.
        XCTAssertTrue(line.hasPrefix("energy per image: ANN 9.46 nJ · SNN "), line)
        XCTAssertTrue(line.contains(" nJ · QANN (4-bit) "), line)
        for part in ["SNN ", "E_MAC 4.6 pJ", "E_AC 0.9 pJ", "Horowitz, ISSCC 2014"] {
            XCTAssertTrue(line.contains(part), "\(line) lacks \(part)")
        }
        XCTAssertFalse(line.contains("\n"))
    }
}
