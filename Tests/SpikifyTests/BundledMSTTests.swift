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
            XCTAssertGreaterThanOrEqual(correct, 970, "\(file): the issue asks for 97% (models/README.md)")
        }
    }

    /// 16 test images of every class (every 63rd), masking 0: with MST's per-step semantics (standard) the SNN agrees
    /// with its QCFS network on a quarter of them at least by 64 steps, and on more than at 8; in the improved mode
    /// it agrees on 15 of them by T = 16 and stays there (measured: 15 from T = 15 on; whole test set:
    /// docs/methods/mst.md).
    func testSNNApproachesItsQCFSNetwork() throws {
        let model = try ViTImporter.load(Fixtures.bundled("vit-mnist-mst16.h5"))
        let data = try ImageDataset.load(Fixtures.bundled("data/mnist-test.h5"), for: model.config)
        let picks = (0..<16).map { $0 * 63 }
        let images = Tensor(shape: [16] + Array(data.images.shape.dropFirst()),
                            scalars: picks.flatMap { data.images.slice(rows: $0..<($0 + 1)).scalars })
        XCTAssertEqual(Set(picks.map { data.labels![$0] }).count, 10)
        func agreements(_ mode: String, steps: Int) throws -> [Int] {
            let c = try ConversionMethods.convert(model, method: "mst", options: ConversionOptions(methodOptions: ["mode": mode]))
            let reference = c.reference.logits(images).argmaxRows()
            let run = try SpikingExecutor(graph: c.graph, batchCapacity: 16).run(images, timesteps: steps)
            return (1...steps).map { t in zip(run.predictions(afterSteps: t), reference).filter { $0 == $1 }.count }
        }
        let standard = try agreements("standard", steps: 64), improved = try agreements("improved", steps: 32)
        XCTAssertGreaterThanOrEqual(standard[63], 4, "standard mode, T = 1 … 64: \(standard)")
        XCTAssertGreaterThan(standard[63], standard[7])
        XCTAssertGreaterThan(improved[31], standard[31])
        XCTAssertTrue(improved[15...].allSatisfy { $0 >= 15 }, "improved mode, T = 1 … 32: \(improved)")
        XCTAssertLessThan(improved[3], 10, "at T = 4 the rates are too coarse to agree on most images")
    }
}
