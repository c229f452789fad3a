import XCTest
@testable import SpikifyReport

/// Reports of a `--burst` sweep: each report names its B, so the curves of one sweep tell apart (docs/latency.md).
final class BurstReportTests: XCTestCase {
    func testBurstNamesTheCurveAndTheModelCard() throws {
        let json = #"{"model": "out/qann16.h5", "method": "spikezip", "levels": 16, "burst": 4, "samples": 2}"#
        let r = try Fixtures.document(json)
        XCTAssertEqual(r.burst, 4)
        XCTAssertEqual(r.title, "qann16.h5 · spikezip · L=16 · B=4")
        XCTAssertTrue(ReportFacts.modelCard(r).contains { $0 == ("Burst (largest spike per step)", "4") })
        let single = try Fixtures.document(#"{"model": "m.h5", "method": "spikezip", "levels": 16, "burst": 1}"#)
        XCTAssertEqual(single.title, "m.h5 · spikezip · L=16")
    }
}
