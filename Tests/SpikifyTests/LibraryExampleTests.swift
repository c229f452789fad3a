import Foundation
import XCTest
import Spikify

/// The example of docs/library.md, compiled and run: the text between the markers below must appear verbatim (less
/// its indentation) in the page, so the documentation cannot drift from code that builds and works.
final class LibraryExampleTests: XCTestCase {
    private func example() throws -> (EvaluationReport, ConvertedModel) {
        // BEGIN docs/library.md
        // Import a SpikeZIP-TF QANN checkpoint and convert it (step sizes from the checkpoint).
        let model = try ViTImporter.load("models/vit-mnist-relu-qann16.h5")
        let converted = try ConversionMethods.convert(model, method: "spikezip", options: ConversionOptions())

        // Evaluate the first 8 test images for up to 24 timesteps, reading one batch at a time.
        let data = try ImageDatasetReader("models/data/mnist-test.h5", for: model.config)
        let report = try SpikingEvaluation.run(converted, data: data, range: 0..<8,
                                               options: .init(timesteps: 24, batchSize: 8))
        print(report.table())
        print("agreement with the \(report.reference.name) after 24 steps:", report.snn.agreementWithReference[23])

        // Save the spiking network and load it back: the same graph, bit for bit.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("relu-qann16-snn.h5").path
        try ConvertedModelFile.write(converted, to: path)
        let reloaded = try ConvertedModelFile.read(path)
        // END docs/library.md
        try? FileManager.default.removeItem(atPath: path)
        XCTAssertEqual(reloaded.graph.nodes, converted.graph.nodes)
        return (report, converted)
    }

    func testLibraryExampleRunsAndMatchesTheDocs() throws {
        let previous = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(Fixtures.repository.path))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        let (report, converted) = try example()
        XCTAssertEqual(report.samples, 8)
        XCTAssertEqual(report.reference.name, "qann")
        XCTAssertEqual(converted.method, "spikezip")
        XCTAssertGreaterThan(report.snn.agreementWithReference[23], 0.8)

        let source = try String(contentsOfFile: #filePath, encoding: .utf8)
        guard let begin = source.range(of: "// BEGIN docs/library.md\n"), let end = source.range(of: "        // END docs/library.md")
        else { return XCTFail("markers missing") }
        let snippet = source[begin.upperBound..<end.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.count >= 8 ? String($0.dropFirst(8)) : String($0) }.joined(separator: "\n")
        let page = try String(contentsOfFile: Fixtures.repository.appendingPathComponent("docs/library.md").path, encoding: .utf8)
        XCTAssertTrue(page.contains(snippet), "docs/library.md must contain the example verbatim:\n\(snippet)")
    }
}
