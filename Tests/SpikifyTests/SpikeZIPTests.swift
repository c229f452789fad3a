import Foundation
import XCTest
import Spikify
@testable import SpikifyConversion
@testable import SpikifyCore
@testable import SpikifyEvaluation
@testable import SpikifyExport
@testable import SpikifyModel
@testable import SpikifySpiking

/// Verification ladder step 4: the SpikeZIP-TF SNN, once quiet, reproduces its QANN.
final class SpikeZIPTests: XCTestCase {
    private func converted(_ name: String, steps: StepSource = .checkpoint, levels: Int? = nil) throws
        -> (ConvertedModel, ImageDataset)
    {
        let model = try ViTImporter.load(Fixtures.model(name))
        let data = try ImageDataset.load(Fixtures.data(name), for: model.config)
        let options = ConversionOptions(levels: levels, steps: steps, calibrationImages: data.images)
        return (try ConversionMethods.convert(model, method: "spikezip", options: options), data)
    }

    func testSettledSNNEqualsQANNOnCheckpointSteps() throws {
        for name in Fixtures.qannNames {
            let (c, data) = try converted(name)
            let qann = QuantizedViT(forward: ViTForward(c.model), plan: c.plan!).logits(data.images)
            let run = try SpikingExecutor(graph: c.graph, batchCapacity: data.count)
                .run(data.images, timesteps: 256)
            XCTAssertTrue(run.settleSteps.allSatisfy { $0 != nil }, "\(name): every sample settles")
            // Bit-identical, not merely close: totals are computed with the QANN's arithmetic (ValueSlot).
            XCTAssertEqual(run.logits.scalars, qann.scalars, name)
            // The run ends at the step where the last sample fell silent.
            let settled = run.settleSteps.map { $0! }
            XCTAssertEqual(run.stepsRun, settled.max()! + 1)
        }
    }

    func testSettledSNNEqualsQANNWithCalibratedStepsAndGELU() throws {
        for levels in [4, 32] {
            let (c, data) = try converted("timm_gelu_token", steps: .calibrate(.mse), levels: levels)
            XCTAssertEqual(c.plan!.quantizers.count, Site.all(depth: c.model.config.depth).count)
            let qann = QuantizedViT(forward: ViTForward(c.model), plan: c.plan!).logits(data.images)
            let run = try SpikingExecutor(graph: c.graph, batchCapacity: 4).run(data.batch(0..<4), timesteps: 512)
            XCTAssertTrue(run.settleSteps.allSatisfy { $0 != nil })
            XCTAssertEqual(run.logits.scalars, qann.slice(rows: 0..<4).scalars, "levels \(levels)")
        }
    }

    /// Beyond 256 levels counts and levels no longer fit in a byte: the layers keep int32 levels and float output
    /// totals (counts recovered from them), and the settled SNN still equals the QANN bit for bit; at 32 levels the
    /// same model runs on one-byte levels and counts (above).
    func testSettledSNNEqualsQANNBeyondOneByteLevels() throws {
        let (c, data) = try converted("timm_gelu_token", steps: .calibrate(.mse), levels: 300)
        let specs = try c.graph.validatedSpecs()
        XCTAssertFalse(try SpikingExecutor.valuesWithCountedTotals(c.graph, specs: specs).contains { $0 != nil })
        XCTAssertTrue(SpikingExecutor.valuesWithTransientTotals(c.graph, specs: specs).contains(true))
        let qann = QuantizedViT(forward: ViTForward(c.model), plan: c.plan!).logits(data.images)
        let run = try SpikingExecutor(graph: c.graph, batchCapacity: 4).run(data.batch(0..<4), timesteps: 1024)
        XCTAssertTrue(run.settleSteps.allSatisfy { $0 != nil })
        XCTAssertEqual(run.logits.scalars, qann.slice(rows: 0..<4).scalars)
        let small = try converted("timm_gelu_token", steps: .calibrate(.mse), levels: 32).0
        XCTAssertTrue(try SpikingExecutor.valuesWithCountedTotals(small.graph, specs: try small.graph.validatedSpecs())
            .contains { $0 != nil })
    }

    func testCalibratedQANNApproachesTheANNAsLevelsGrow() throws {
        let model = try ViTImporter.load(Fixtures.model("timm_gelu_token"))
        let data = try ImageDataset.load(Fixtures.data("timm_gelu_token"), for: model.config)
        let forward = ViTForward(model)
        let ann = forward.logits(data.images)
        var errors: [Float] = []
        for levels in [8, 64, 512] {
            let steps = StepCalibration.calibrateStepSizes(forward, images: data.images, levels: levels, sampleBudget: 20_000)
            let plan = QuantizationPlan(levels: levels, steps: steps, activation: model.config.activation)
            errors.append(QuantizedViT(forward: forward, plan: plan).logits(data.images).maxAbsDifference(ann))
        }
        XCTAssertGreaterThan(errors[0], errors[1])
        XCTAssertGreaterThan(errors[1], errors[2])
    }

    func testCompactingQuietSamplesChangesNothing() throws {
        let (c, data) = try converted("spikezip_qann_relu_avg")
        let executor = try SpikingExecutor(graph: c.graph, batchCapacity: data.count)
        let compacted = try executor.run(data.images, timesteps: 200)
        let full = try executor.run(data.images, timesteps: 200, compact: false)
        XCTAssertGreaterThan(Set(compacted.settleSteps).count, 1, "samples settle at different steps")
        XCTAssertEqual(compacted.logits.scalars, full.logits.scalars)
        XCTAssertEqual(compacted.settleSteps, full.settleSteps)
        XCTAssertEqual(compacted.siteSpikes, full.siteSpikes)
        XCTAssertEqual(compacted.sampleSpikes, full.sampleSpikes)
        for t in 1...compacted.stepsRun { XCTAssertEqual(compacted.predictions(afterSteps: t), full.predictions(afterSteps: t)) }
        // A shorter cap: identical to the first steps of the long run.
        let short = try executor.run(data.images, timesteps: 10)
        XCTAssertEqual(short.stepsRun, 10)
        XCTAssertEqual(short.predictions(afterSteps: 10), full.predictions(afterSteps: 10))
        XCTAssertTrue(short.settleSteps.allSatisfy { $0 == nil })
    }

    func testExportRoundTripIsBitIdentical() throws {
        let (c, data) = try converted("spikezip_qann_gelu")
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("snn.h5").path
        var tagged = c
        tagged.graph.metadata["source_sha256"] = try SHA256.hex(ofFile: Fixtures.model("spikezip_qann_gelu"))
        try ConvertedModelFile.write(tagged, to: path)
        XCTAssertTrue(ConvertedModelFile.isConverted(path))
        XCTAssertFalse(ConvertedModelFile.isConverted(Fixtures.model("spikezip_qann_gelu")))
        let loaded = try ConvertedModelFile.read(path)
        XCTAssertEqual(loaded.plan, c.plan!)
        XCTAssertEqual(loaded.graph.nodes, c.graph.nodes)
        XCTAssertEqual(loaded.graph.tensors, c.graph.tensors)
        XCTAssertEqual(loaded.model.weights.blocks, c.model.weights.blocks)
        XCTAssertEqual(loaded.graph.metadata["method"], "spikezip")
        XCTAssertEqual(loaded.graph.metadata["source_sha256"]?.count, 64)
        let a = try SpikingExecutor(graph: c.graph, batchCapacity: 3).run(data.batch(0..<3), timesteps: 40)
        let b = try SpikingExecutor(graph: loaded.graph, batchCapacity: 3).run(data.batch(0..<3), timesteps: 40)
        XCTAssertEqual(a.logits.scalars, b.logits.scalars)
        XCTAssertEqual(a.predictions, b.predictions)
        XCTAssertEqual(a.siteSpikes, b.siteSpikes)
    }

    func testDamagedConvertedFileIsAClearError() throws {
        let (c, _) = try converted("spikezip_qann_relu")
        var broken = c
        broken.graph.tensors["head.weight"] = nil
        assertSpikifyError(["spiking graph", "head.weight"]) { _ = try SpikingExecutor(graph: broken.graph, batchCapacity: 1) }
    }

    func testEvaluationReportsAlignedCurves() throws {
        let (c, data) = try converted("spikezip_qann_relu")
        let r = try SpikingEvaluation.run(c, data: data, options: .init(timesteps: 48, untilQuiet: true, batchSize: 4))
        XCTAssertEqual(r.snn.timesteps, Array(1...48))
        XCTAssertEqual(r.snn.agreementWithQANN?.count, 48)
        XCTAssertEqual(r.snn.accuracy?.count, 48)
        XCTAssertEqual(r.snn.agreementWithQANN?.last, 1.0)
        XCTAssertEqual(r.snn.settleSteps.unsettled, 0)
        XCTAssertEqual(r.sites.count, Site.all(depth: c.model.config.depth).count)
        XCTAssertTrue(r.sites.allSatisfy { $0.firingRate >= 0 && $0.firingRate <= 1 })
        let json = try JSONSerialization.jsonObject(with: try r.json()) as! [String: Any]
        let snn = json["snn"] as! [String: Any]
        for key in ["timesteps", "accuracy", "agreement_with_ann", "agreement_with_qann", "settle_steps"] {
            XCTAssertNotNil(snn[key], key)
        }
        XCTAssertNotNil((json["qann"] as! [String: Any])["accuracy"])
        XCTAssertEqual(json["method"] as? String, "spikezip")
    }

    func testCheckpointWithoutStepsNeedsCalibration() throws {
        let model = try ViTImporter.load(Fixtures.model("timm_gelu_token"))
        assertSpikifyError(["no quantizer step sizes", "--calib"]) {
            _ = try ConversionMethods.convert(model, method: "spikezip", options: ConversionOptions())
        }
        assertSpikifyError(["unknown conversion method", "spikezip"]) {
            _ = try ConversionMethods.convert(model, method: "magic", options: ConversionOptions())
        }
    }
}
