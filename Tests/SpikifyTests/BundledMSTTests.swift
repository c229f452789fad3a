import Foundation
import XCTest
import Spikify
@testable import SpikifyConversion
@testable import SpikifyCore
@testable import SpikifyEvaluation
@testable import SpikifyModel
@testable import SpikifySpiking

/// The bundled MST-trained ViTs (models/README.md, "MST models"; tools/train_mst.py).
final class BundledMSTTests: XCTestCase {
    private func manifestEntry(_ file: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.bundled("manifest.json")))
        let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let mst = try XCTUnwrap(root["mst_models"] as? [String: Any])
        let models = try XCTUnwrap(mst["models"] as? [[String: Any]])
        return try XCTUnwrap(models.first { $0["file"] as? String == file })
    }

    /// Import (MST layout, BatchNorm, 41 thresholds) and the QCFS network's test accuracy against PyTorch's: the
    /// floor is discontinuous, so float differences may move a few images; at most 3 of 1000.
    func testQCFSNetworkMatchesPyTorchAccuracy() throws {
        for (file, ratio) in [("vit-mnist-mst16.h5", "0"), ("vit-mnist-mst16-mask75.h5", "0.75")] {
            let (model, layout) = try ViTImporter.loadWithLayout(Fixtures.bundled(file))
            XCTAssertEqual(layout, .mst)
            XCTAssertNotNil(model.config.blockBatchNorm)
            XCTAssertEqual(model.weights.qcfsThresholds.count, 41)
            XCTAssertEqual(model.config.levels, 16)
            let data = try ImageDataset.load(Fixtures.bundled("data/mnist-test.h5"), for: model.config)
            let c = try ConversionMethods.convert(model, method: "mst",
                                                  options: ConversionOptions(methodOptions: ["mask_ratio": ratio]))
            let logits = c.reference.logits(data.images)
            let labels = try XCTUnwrap(data.labels)
            var correct = 0
            for i in 0..<data.count {
                let row = logits.slice(rows: i..<(i + 1)).scalars
                if row.indices.max(by: { row[$0] < row[$1] }) == labels[i] { correct += 1 }
            }
            let expected = try XCTUnwrap(try manifestEntry(file)["test_correct"] as? Int)
            XCTAssertEqual(Double(correct), Double(expected), accuracy: 3, file)
            XCTAssertGreaterThanOrEqual(correct, 920, "\(file): the bundled models reach 96.7% and 92.9% (the issue asks 97%; models/README.md)")
        }
    }

    /// 16 test images, 64 steps, masking 0 (standard MST semantics): the SNN agrees with its QCFS network on a
    /// quarter of them at least (47% of the first 100 in release runs, docs/methods/mst.md), and more at 64 steps
    /// than at 8.
    func testSNNApproachesItsQCFSNetwork() throws {
        let model = try ViTImporter.load(Fixtures.bundled("vit-mnist-mst16.h5"))
        let data = try ImageDataset.load(Fixtures.bundled("data/mnist-test.h5"), for: model.config)
        let images = data.images.slice(rows: 0..<16)
        let c = try ConversionMethods.convert(model, method: "mst", options: ConversionOptions())
        let reference = c.reference.logits(images)
        let run = try SpikingExecutor(graph: c.graph, batchCapacity: 16).run(images, timesteps: 64)
        func agreement(_ t: Int) -> Int {
            let p = Array(run.predictions(afterSteps: t))
            return (0..<16).filter { i in
                let row = reference.slice(rows: i..<(i + 1)).scalars
                return row.indices.max(by: { row[$0] < row[$1] }) == p[i]
            }.count
        }
        XCTAssertGreaterThanOrEqual(agreement(64), 4)
        XCTAssertGreaterThan(agreement(64), agreement(8))
    }
}
