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

/// Reports of one model and method that differ in a method setting (an MST mode, a masking ratio) are named by
/// the settings that differ; reports that differ in nothing are numbered.
final class MethodSettingNameTests: XCTestCase {
    func testRepeatedTitlesAreToldApartByTheSettingsThatDiffer() throws {
        func report(_ mode: String, _ ratio: String) -> String {
            #"{"model": "m/mst16.h5", "method": "mst", "levels": 16, "method_settings": ["#
                + #"{"name": "levels", "value": "16"}, {"name": "mode", "value": "\#(mode)"}, "#
                + #"{"name": "masking_ratio", "value": "\#(ratio)"}, {"name": "seed", "value": "0"}]}"#
        }
        let docs = try [report("standard", "0.0"), report("improved", "0.0"), report("improved", "0.75"),
                        #"{"model": "m/qann.h5", "method": "spikezip", "levels": 16}"#].map(Fixtures.document)
        XCTAssertEqual(ReportFacts.names(docs), [
            "mst16.h5 · mst · L=16 · masking_ratio=0.0 · mode=standard",
            "mst16.h5 · mst · L=16 · masking_ratio=0.0 · mode=improved",
            "mst16.h5 · mst · L=16 · masking_ratio=0.75 · mode=improved",
            "qann.h5 · spikezip · L=16"])
        let twice = try [report("improved", "0.0"), report("improved", "0.0")].map(Fixtures.document)
        XCTAssertEqual(ReportFacts.names(twice), ["mst16.h5 · mst · L=16 #1", "mst16.h5 · mst · L=16 #2"])
    }
}
