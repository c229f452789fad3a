import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
import Spikify

/// `spikify report`, `spikify eval --plot` and `spikify compare` through the command line (docs/report.md): pages
/// parse as XML and show what the JSON says; errors name the file and exit non-zero.
final class ReportCLITests: XCTestCase {
    private let model = Fixtures.model("spikezip_qann_relu"), data = Fixtures.data("spikezip_qann_relu")

    /// Per `<svg>` chart title: the `data-name`s of its series, its legend labels and the point count of each
    /// series' path (one `M`/`L` command per point).
    private struct Chart { var series: [String] = [], legend: [String] = [], points: [Int] = [] }

    /// Parses `path` as XML (failing when it is not well-formed) and collects its charts by title.
    private func charts(_ path: String) throws -> [String: Chart] {
        final class Collector: NSObject, XMLParserDelegate {
            var charts: [String: Chart] = [:], title: String?, text = ""
            var stack: [String] = [], classes: [String] = [], inLegendEntry = false, legendText: String?
            var inChartTitle = false
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
                        qualifiedName: String?, attributes: [String: String] = [:]) {
                stack.append(name)
                let cls = attributes["class"] ?? ""
                classes.append(cls)
                if name == "svg" { title = nil }
                if name == "title", stack.dropLast().last == "svg" { inChartTitle = true; text = "" }
                if cls == "series", let t = title { charts[t, default: Chart()].series.append(attributes["data-name"] ?? "") }
                if name == "path", classes.dropLast().last == "series", let t = title, let d = attributes["d"] {
                    charts[t, default: Chart()].points.append(d.filter { $0 == "M" || $0 == "L" }.count)
                }
                if cls == "legend-entry" { inLegendEntry = true; legendText = nil }
                if name == "text", inLegendEntry, legendText == nil { legendText = ""; text = "" }
            }
            func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
            func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
                if name == "title", inChartTitle { title = text; inChartTitle = false }
                if name == "text", inLegendEntry, legendText == "" { legendText = text }
                if classes.last == "legend-entry" {
                    inLegendEntry = false
                    if let t = title { charts[t, default: Chart()].legend.append(legendText ?? "") }
                }
                _ = stack.popLast(); _ = classes.popLast()
            }
        }
        let parser = XMLParser(data: try Data(contentsOf: URL(fileURLWithPath: path)))
        let collector = Collector()
        parser.delegate = collector
        guard parser.parse() else {
            XCTFail("\(path) is not well-formed XML at line \(parser.lineNumber): \(String(describing: parser.parserError))")
            return [:]
        }
        return collector.charts
    }

    private func json(_ path: String) throws -> Any {
        try JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// The legend name the page gives a report: model file name · method · L=levels.
    private func name(_ report: [String: Any]) -> String {
        let model = (report["model"] as? String).map { URL(fileURLWithPath: $0).lastPathComponent } ?? "report"
        return [model, report["method"] as? String, (report["levels"] as? Int).map { "L=\($0)" }]
            .compactMap { $0 }.joined(separator: " · ")
    }

    func testReportPutsSeveralEvalReportsOnOnePage() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        let snn = path("snn.h5")
        XCTAssertEqual(try runSpikify(["convert", "--model", model, "--out", snn]).status, 0)
        for (file, steps) in [("a.json", "6"), ("b.json", "3")] {
            let r = try runSpikify(["eval", "--model", snn, "--data", data, "--timesteps", steps, "--report", path(file)])
            XCTAssertEqual(r.status, 0, r.err)
        }
        let run = try runSpikify(["report", path("a.json"), path("b.json"), "--out", path("page.html")])
        XCTAssertEqual(run.status, 0, run.err)
        XCTAssertTrue(run.out.contains(path("page.html")), run.out)
        let reports = try [path("a.json"), path("b.json")].map { try XCTUnwrap(try json($0) as? [String: Any]) }
        let base = name(reports[0])
        XCTAssertEqual(base, name(reports[1]))
        let names = ["\(base) #1", "\(base) #2"]  // the same model twice: numbered in order
        let page = try charts(path("page.html"))
        for title in ["SNN accuracy", "Top-1 agreement with the ANN"] {
            let chart = try XCTUnwrap(page[title], "no chart '\(title)' in \(page.keys.sorted())")
            XCTAssertEqual(chart.series, names, title)
            XCTAssertEqual(chart.legend, names, title)
            // One point per timestep of each report's JSON.
            XCTAssertEqual(chart.points, reports.map { (($0["snn"] as? [String: Any])?["timesteps"] as? [Int])?.count ?? -1 })
        }
        XCTAssertEqual(page["SNN accuracy"]?.points, [6, 3])
        let html = try String(contentsOfFile: path("page.html"), encoding: .utf8)
        XCTAssertFalse(html.contains("<script"))
        // The summary shows each report's SNN accuracy at T as the JSON has it.
        for r in reports {
            let accuracy = try XCTUnwrap((r["snn"] as? [String: Any])?["accuracy"] as? [Double])
            XCTAssertTrue(html.contains(String(format: "%.2f%%", 100 * accuracy.last!)), "\(accuracy)")
        }
        XCTAssertTrue(html.contains("Energy estimate (per image)"))

        // Markdown: the same summary as tables, no plots; the format also follows from the file name.
        let md = try runSpikify(["report", path("a.json"), path("b.json"), "--out", path("page.txt"), "--format", "md"])
        XCTAssertEqual(md.status, 0, md.err)
        let text = try String(contentsOfFile: path("page.txt"), encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("# Spikify evaluation report\n"), text)
        XCTAssertTrue(text.contains("## Summary") && text.contains("| \(names[0]) |") && text.contains("| \(names[1]) |"))
        XCTAssertTrue(text.contains("### Energy estimate (per image)"))
        XCTAssertFalse(text.contains("<svg"))
        XCTAssertEqual(try runSpikify(["report", path("a.json"), "--out", path("one.md")]).status, 0)
        XCTAssertTrue(try String(contentsOfFile: path("one.md"), encoding: .utf8).hasPrefix("# "))
    }

    func testReportErrorsNameTheFileAndWriteNothing() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        let missing = try runSpikify(["report", path("nope.json"), "--out", path("page.html")])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.err.contains(path("nope.json")) && missing.err.contains("cannot read"), missing.err)
        try Data(#"{"snn": {"accuracy": "high"}}"#.utf8).write(to: URL(fileURLWithPath: path("bad.json")))
        let bad = try runSpikify(["report", path("bad.json"), "--out", path("page.html")])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.err.contains(path("bad.json")) && bad.err.contains("snn.accuracy") && bad.err.contains("a list"),
                      bad.err)
        let format = try runSpikify(["report", path("bad.json"), "--out", path("page.html"), "--format", "pdf"])
        XCTAssertNotEqual(format.status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("page.html")))
    }

    func testEvalPlotWritesTheHTMLNextToTheReport() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        let common = ["eval", "--model", model, "--method", "spikezip", "--data", data, "--timesteps", "4"]
        let noReport = try runSpikify(common + ["--plot"])
        XCTAssertNotEqual(noReport.status, 0)
        XCTAssertTrue(noReport.err.contains("--plot needs --report"), noReport.err)
        let run = try runSpikify(common + ["--report", path("r.json"), "--plot"])
        XCTAssertEqual(run.status, 0, run.err)
        XCTAssertTrue(run.out.contains("html report: \(path("r.html"))"), run.out)
        // The energy line names the networks and the constants.
        let energy = try XCTUnwrap(run.out.split(separator: "\n").first { $0.hasPrefix("energy per image:") }, run.out)
        for part in ["ANN ", "SNN ", "QANN (", "J ·", "E_MAC 4.6 pJ", "E_AC 0.9 pJ", "Horowitz"] {
            XCTAssertTrue(energy.contains(part), "\(energy) lacks \(part)")
        }
        let report = try XCTUnwrap(try json(path("r.json")) as? [String: Any])
        let chart = try XCTUnwrap(try charts(path("r.html"))["Top-1 agreement with the ANN"])
        XCTAssertEqual(chart.series, [name(report)])
        XCTAssertEqual(chart.points, [4])
    }

    func testCompareListsMethodsThatAreNotAvailable() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        let out = path("cmp")
        let run = try runSpikify(["compare", "--model", model, "--data", data, "--methods", "spikezip, sdt", "--timesteps", "3",
                                  "--out", out, "--limit", "3", "--batch-size", "2"])
        XCTAssertEqual(run.status, 0, run.err)
        XCTAssertTrue(run.out.contains("sdt: not available in this Spikify (known: mst, spikezip, sta)"), run.out)
        XCTAssertTrue(run.out.contains("html report: \(out)/report.html"), run.out)
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(out)/spikezip.json"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(out)/sdt.json"))
        let list = try XCTUnwrap(try json("\(out)/compare.json") as? [[String: Any]])
        XCTAssertEqual(list.count, 2)
        XCTAssertEqual(list[0]["method"] as? String, "spikezip")
        XCTAssertEqual(list[0]["samples"] as? Int, 3)
        XCTAssertEqual(list[1] as NSDictionary,
                       ["method": "sdt", "status": "not available in this Spikify (known: mst, spikezip, sta)"] as NSDictionary)
        // The per-method file and the list hold the same report.
        XCTAssertEqual(try json("\(out)/spikezip.json") as? NSDictionary, list[0] as NSDictionary)
        let html = try String(contentsOfFile: "\(out)/report.html", encoding: .utf8)
        XCTAssertTrue(html.contains("Methods not run") && html.contains("<td>sdt</td>"), html)
        XCTAssertEqual(try charts("\(out)/report.html")["Top-1 agreement with the ANN"]?.series, [name(list[0])])
        // compare.json renders again with `spikify report`, the unavailable method still listed.
        let again = try runSpikify(["report", "\(out)/compare.json", "--out", path("again.md")])
        XCTAssertEqual(again.status, 0, again.err)
        XCTAssertTrue(try String(contentsOfFile: path("again.md"), encoding: .utf8).contains("| sdt | not available"))

        let none = try runSpikify(["compare", "--model", model, "--data", data, "--methods", "sdt", "--timesteps", "2",
                                   "--out", path("none")])
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.err.contains("none of the methods sdt is available"), none.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("none/compare.json")))
        let empty = try runSpikify(["compare", "--model", model, "--data", data, "--methods", "spikezip,", "--out", path("x")])
        XCTAssertNotEqual(empty.status, 0)
        XCTAssertTrue(empty.err.contains("--methods"), empty.err)
    }
}
