import Foundation
import XCTest
import Spikify
@testable import SpikifyConversion
@testable import SpikifyCore
@testable import SpikifyEvaluation
@testable import SpikifyModel
@testable import SpikifySpiking

/// Mergeable evaluation and streamed datasets: shards merged give the report of one run, batch reads equal the
/// whole file's rows.
final class EvaluationMergeTests: XCTestCase {
    private func untimed(_ r: EvaluationReport) throws -> NSDictionary { try untimedJSON(try r.json()) }

    /// The bundled QAT QANN on the first 30 images of the bundled test set, as 3 shards, merged, equals one run
    /// (30 images and T = 24 keep the debug-build suite fast; the slicing is the same for the full set, which
    /// `make demo-shards` checks through the CLI).
    func testShardsMergeToTheReportOfOneRun() throws {
        let model = try ViTImporter.load(Fixtures.bundled("vit-mnist-relu-qann16.h5"))
        let c = try ConversionMethods.convert(model, method: "spikezip", options: ConversionOptions())
        let reader = try ImageDatasetReader(Fixtures.bundled("data/mnist-test.h5"), for: model.config)
        XCTAssertEqual(reader.count, 1000)
        let options = SpikingEvaluation.Options(timesteps: 24, batchSize: 8, keepAccumulator: true)
        let whole = try SpikingEvaluation.run(c, data: reader, range: 0..<30, options: options)
        var merged = EvaluationAccumulator(timesteps: 24)
        for shard in [19..<30, 0..<5, 5..<19] {  // uneven, out of order, batch boundaries differ from the whole run
            let part = try SpikingEvaluation.run(c, data: reader, range: shard, options: options)
            try merged.merge(part.accumulator!)
        }
        XCTAssertEqual(merged.slices, [[0, 30]])
        let report = SpikingEvaluation.report(merged, converted: c, options: options, dataset: reader.source)
        XCTAssertEqual(try untimed(report), try untimed(whole))
        XCTAssertEqual(report.snn.accuracy, whole.snn.accuracy)
        XCTAssertGreaterThan(whole.snn.agreementWithReference.last!, 0.8)
        // Merging a shard twice, or evaluations of another T, is refused.
        assertSpikifyError(["overlap"]) { try merged.merge(whole.accumulator!) }
        assertSpikifyError(["24", "16 timesteps"]) { try merged.merge(EvaluationAccumulator(timesteps: 16)) }
    }

    /// MST with random spike masking: masks are keyed by each image's data-set index, so shards merge to the
    /// report of one run here too.
    func testMaskedMSTShardsMergeToTheReportOfOneRun() throws {
        let model = try ViTImporter.load(Fixtures.bundled("vit-mnist-mst16-mask75.h5"))
        let c = try ConversionMethods.convert(model, method: "mst",
                                              options: ConversionOptions(seed: 7, methodOptions: ["mask_ratio": "0.75"]))
        let reader = try ImageDatasetReader(Fixtures.bundled("data/mnist-test.h5"), for: model.config)
        let options = SpikingEvaluation.Options(timesteps: 12, batchSize: 5, keepAccumulator: true)
        let whole = try SpikingEvaluation.run(c, data: reader, range: 0..<12, options: options)
        var merged = EvaluationAccumulator(timesteps: 12)
        for shard in [8..<12, 0..<3, 3..<8] {
            try merged.merge(try SpikingEvaluation.run(c, data: reader, range: shard, options: options).accumulator!)
        }
        let report = SpikingEvaluation.report(merged, converted: c, options: options, dataset: reader.source)
        XCTAssertEqual(try untimed(report), try untimed(whole))
        XCTAssertGreaterThan(whole.sites.reduce(0) { $0 + $1.spikes }, 0)
    }

    func testDatasetReaderReadsRangesOfTheFile() throws {
        let config = try ViTImporter.load(Fixtures.model("timm_gelu_token")).config
        let path = Fixtures.data("timm_gelu_token")
        let all = try ImageDataset.load(path, for: config)
        let reader = try ImageDatasetReader(path, for: config)
        XCTAssertEqual(reader.count, all.count)
        for range in [0..<1, 1..<3, 0..<all.count, (all.count - 1)..<all.count] {
            XCTAssertEqual(try reader.images(range), all.batch(range))
            XCTAssertEqual(try reader.labels(range), all.labels.map { Array($0[range]) })
        }
        assertSpikifyError(["outside its \(all.count) images"]) { _ = try reader.images(0..<(all.count + 1)) }
        // uint8 images are normalised alike whether read whole or in slices.
        let bundledConfig = try ViTImporter.load(Fixtures.bundled("vit-mnist-gelu.h5")).config
        let mnist = try ImageDatasetReader(Fixtures.bundled("data/mnist-test.h5"), for: bundledConfig)
        let head = try mnist.images(0..<8)
        XCTAssertEqual(try mnist.images(3..<5), head.slice(rows: 3..<5))
    }
}
