import XCTest
import Spikify
@testable import SpikifyConversion
@testable import SpikifyCore
@testable import SpikifyEvaluation
@testable import SpikifyExport
@testable import SpikifyModel
@testable import SpikifySpiking

/// Verification ladder steps 2 and 3: Spikify's ANN and QANN against PyTorch/timm logits (tools/make_fixtures.py).
final class ParityTests: XCTestCase {
    func testANNMatchesTimmOnEveryFixture() throws {
        for name in Fixtures.parityNames {
            let model = try ViTImporter.load(Fixtures.model(name))
            let data = try ImageDataset.load(Fixtures.data(name), for: model.config)
            let reference = try Fixtures.floats(Fixtures.data(name), "logits")
            let logits = ViTForward(model).logits(data.images)
            XCTAssertLessThanOrEqual(logits.maxAbsDifference(reference), 1e-4, name)
            XCTAssertEqual(logits.argmaxRows(), reference.argmaxRows(), name)
        }
    }

    func testBatchingDoesNotChangeLogits() throws {
        let model = try ViTImporter.load(Fixtures.model("vit_tiny_geom"))
        let data = try ImageDataset.load(Fixtures.data("vit_tiny_geom"), for: model.config)
        XCTAssertGreaterThanOrEqual(data.count, 2)
        // The float ANN with packed weights (on AVX-512 CPUs) and on OpenBLAS.
        for packed in [true, false] {
            let forward = ViTForward(model, packedWeights: packed)
            let whole = forward.logits(data.images)
            let single = Prediction.logits(of: data, batchSize: 1) { forward.logits($0) }
            XCTAssertLessThanOrEqual(whole.maxAbsDifference(single), 1e-5, "packed \(packed)")
            // A batch split into one part per core gives what one pass over the whole batch gives, bit for bit (one
            // BLAS thread in both: one image's linear layers and attention are split over the cores, and OpenBLAS's
            // threaded GEMMs round differently, hence the 1e-5 against batch 1).
            let onePass = BLAS.withSingleThread { Parallel.inline { forward.logits(data.images) } }
            XCTAssertEqual(whole.scalars.map(\.bitPattern), onePass.scalars.map(\.bitPattern), "packed \(packed)")
        }
    }

    func testQANNLogitsDoNotDependOnTheBatch() throws {
        // With a hook (the QANN the spiking executor reproduces) no image's result depends on the others, so any
        // batch, one image included, gives the same bits: with packed weights (rows summed alike in any call) and
        // on OpenBLAS (every image its own one-thread GEMMs).
        for name in Fixtures.qannNames {
            let model = try ViTImporter.load(Fixtures.model(name))
            let data = try ImageDataset.load(Fixtures.data(name), for: model.config)
            let plan = QuantizationPlan(levels: model.config.levels!, steps: model.weights.stepSizes,
                                        activation: model.config.activation)
            for packed in [true, false] {
                let qann = QuantizedViT(forward: ViTForward(model, packedWeights: packed), plan: plan)
                let whole = qann.logits(data.images)
                let single = Prediction.logits(of: data, batchSize: 1) { qann.logits($0) }
                let pairs = Prediction.logits(of: data, batchSize: 2) { qann.logits($0) }
                XCTAssertEqual(whole.scalars.map(\.bitPattern), single.scalars.map(\.bitPattern), "\(name) \(packed)")
                XCTAssertEqual(whole.scalars.map(\.bitPattern), pairs.scalars.map(\.bitPattern), "\(name) \(packed)")
            }
        }
    }

    func testQANNMatchesPyTorchQANN() throws {
        for name in Fixtures.qannNames {
            let model = try ViTImporter.load(Fixtures.model(name))
            XCTAssertEqual(model.weights.stepSizes.count, Site.all(depth: model.config.depth).count, name)
            let data = try ImageDataset.load(Fixtures.data(name), for: model.config)
            let reference = try Fixtures.floats(Fixtures.data(name), "qann_logits")
            let plan = QuantizationPlan(levels: model.config.levels!, steps: model.weights.stepSizes,
                                        activation: model.config.activation)
            let logits = QuantizedViT(forward: ViTForward(model), plan: plan).logits(data.images)
            XCTAssertLessThanOrEqual(logits.maxAbsDifference(reference), 1e-4, name)
            XCTAssertEqual(logits.argmaxRows(), reference.argmaxRows(), name)
        }
    }

    func testInferredConfigurations() throws {
        let tiny = try ViTImporter.load(Fixtures.model("vit_tiny_geom")).config
        XCTAssertEqual([tiny.imageSize, tiny.patchSize, tiny.tokenCount, tiny.channels], [224, 16, 197, 3])
        let nested = try ViTImporter.loadWithLayout(Fixtures.model("timm_relu_avg_nested"))
        XCTAssertEqual(nested.layout, .timm)
        XCTAssertEqual(nested.model.config.globalPool, .avg)
        XCTAssertEqual(nested.model.config.activation, .relu)
        XCTAssertTrue(nested.model.weights.blocks[0].qkvBias.isEmpty)
        XCTAssertEqual(try ViTImporter.loadWithLayout(Fixtures.model("hf_classic")).layout, .huggingFace)
        XCTAssertEqual(try ViTImporter.loadWithLayout(Fixtures.model("hf_v5")).layout, .huggingFaceV5)
        let qann = try ViTImporter.loadWithLayout(Fixtures.model("spikezip_qann_relu"))
        XCTAssertEqual(qann.layout, .spikeZIP)
        XCTAssertEqual(qann.model.config.levels, 16)
        let overridden = try ViTImporter.load(Fixtures.model("no_heads"), options: ImportOptions(numHeads: 3))
        XCTAssertEqual(overridden.config.numHeads, 3)
    }
}
