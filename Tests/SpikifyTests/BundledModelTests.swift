import Foundation
import XCTest
import Spikify
@testable import SpikifyConversion
@testable import SpikifyCore
@testable import SpikifyEvaluation
@testable import SpikifyExport
@testable import SpikifyModel
@testable import SpikifySpiking

/// The bundled MNIST models (models/, made by tools/train_mnist.py): Spikify reproduces the PyTorch test accuracy
/// recorded at export, prediction for prediction count, and the files are the ones the manifest describes.
final class BundledModelTests: XCTestCase {
    struct Manifest: Decodable {
        struct Model: Decodable {
            let file: String
            let testCorrect: Int
            let testTotal: Int
            let sha256: String
            let levels: Int?
        }
        struct DataFile: Decodable {
            let file: String
            let count: Int
            let sha256: String
        }
        let models: [Model]
        let data: [DataFile]
    }

    private func manifest() throws -> Manifest {
        let url = URL(fileURLWithPath: Fixtures.bundled("manifest.json"))
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Manifest.self, from: Data(contentsOf: url))
    }

    func testFilesMatchTheManifest() throws {
        let m = try manifest()
        XCTAssertGreaterThanOrEqual(m.models.count, 3)
        for entry in m.models {
            XCTAssertEqual(try SHA256.hex(ofFile: Fixtures.bundled(entry.file)), entry.sha256, entry.file)
        }
        for entry in m.data {
            XCTAssertEqual(try SHA256.hex(ofFile: Fixtures.bundled(entry.file)), entry.sha256, entry.file)
        }
    }

    func testSpikifyReproducesThePyTorchTestAccuracy() throws {
        for entry in try manifest().models {
            let model = try ViTImporter.load(Fixtures.bundled(entry.file))
            let data = try ImageDataset.load(Fixtures.bundled("data/mnist-test.h5"), for: model.config)
            XCTAssertEqual(data.count, entry.testTotal)
            let forward = ViTForward(model)
            let logits: Tensor
            if model.weights.stepSizes.isEmpty {
                logits = Prediction.logits(of: data, batchSize: 100) { forward.logits($0) }
            } else {  // the QANN checkpoint: its own quantizers
                let levels = try XCTUnwrap(model.config.levels ?? entry.levels)
                let plan = QuantizationPlan(levels: levels, steps: model.weights.stepSizes, activation: model.config.activation)
                let qann = QuantizedViT(forward: forward, plan: plan)
                logits = Prediction.logits(of: data, batchSize: 100) { qann.logits($0) }
            }
            let correct = zip(logits.argmaxRows(), data.labels!).filter { $0 == $1 }.count
            XCTAssertEqual(correct, entry.testCorrect, entry.file)
        }
    }
}
