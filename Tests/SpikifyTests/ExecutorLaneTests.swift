import XCTest
import Spikify
@testable import SpikifyConversion
@testable import SpikifyCore
@testable import SpikifyModel
@testable import SpikifySpiking

/// The spiking executor's lanes (parts of the batch simulated in parallel, docs/architecture.md) give exactly the
/// result of one run over the whole batch: predictions at every step, logits bit for bit, settle steps, spikes,
/// events and largest spikes per step and site, synaptic events, exit steps; and totals for calibration.
final class ExecutorLaneTests: XCTestCase {
    private func assertSameResult(_ a: SpikingBatchResult, _ b: SpikingBatchResult, _ what: String) {
        XCTAssertEqual(a.stepsRun, b.stepsRun, what)
        XCTAssertEqual(a.predictions, b.predictions, what)
        XCTAssertEqual(a.logits.shape, b.logits.shape, what)
        XCTAssertEqual(a.logits.scalars.map(\.bitPattern), b.logits.scalars.map(\.bitPattern), what)
        XCTAssertEqual(a.settleSteps, b.settleSteps, what)
        XCTAssertEqual(a.siteSpikes, b.siteSpikes, what)
        XCTAssertEqual(a.sampleSpikes, b.sampleSpikes, what)
        XCTAssertEqual(a.stepsActive, b.stepsActive, what)
        XCTAssertEqual(a.stepSiteSpikes, b.stepSiteSpikes, what)
        XCTAssertEqual(a.stepSiteEvents, b.stepSiteEvents, what)
        XCTAssertEqual(a.stepSiteLargestSpike, b.stepSiteLargestSpike, what)
        XCTAssertEqual(a.stepLayerEvents, b.stepLayerEvents, what)
        XCTAssertEqual(a.layerEvents, b.layerEvents, what)
        XCTAssertEqual(a.exitSteps, b.exitSteps, what)
        XCTAssertEqual(a.exitPredictions, b.exitPredictions, what)
    }

    /// SpikeZIP-TF (bundled QANN, single and burst spikes, with an exit policy, compacted or not) and MST (random
    /// masks keyed by the sample indices given), 7 images over 1, 2 and 3 lanes.
    func testLanesGiveTheResultOfOneRun() throws {
        let qann = try ViTImporter.load(Fixtures.bundled("vit-mnist-relu-qann16.h5"))
        let data = try ImageDataset.load(Fixtures.bundled("data/mnist-test.h5"), for: qann.config)
        let x = data.batch(3..<10)
        let spikezip = try ConversionMethods.convert(qann, method: "spikezip",
                                                     options: ConversionOptions(steps: .checkpoint))
        let policy = try ExitPolicy(stableSteps: 3, margin: 0.5)
        // (graph, compaction settings, lane counts): single spikes in full, burst spikes briefly.
        let cases = [(spikezip.graph, [true, false], [2, 3]), (try spikezip.withBurst(4).graph, [true], [2])]
        for (graph, compacts, laneCounts) in cases {
            let one = try SpikingExecutor(graph: graph, batchCapacity: 8, lanes: 1)
            XCTAssertEqual(one.laneCount, 1)
            for compact in compacts {
                let reference = try one.run(x, timesteps: 40, compact: compact, exitPolicy: policy)
                XCTAssertGreaterThan(Set(reference.settleSteps.compactMap { $0 }).count, 1)  // parts end apart
                for lanes in laneCounts {
                    let split = try SpikingExecutor(graph: graph, batchCapacity: 8, lanes: lanes)
                    XCTAssertEqual(split.laneCount, lanes)
                    assertSameResult(try split.run(x, timesteps: 40, compact: compact, exitPolicy: policy), reference,
                                     "spikezip, \(lanes) lanes, compact \(compact)")
                }
            }
        }
        let mstModel = try ViTImporter.load(Fixtures.bundled("vit-mnist-mst16.h5"))
        let mst = try ConversionMethods.convert(mstModel, method: "mst",
                                                options: ConversionOptions(methodOptions: ["mask_ratio": "0.5"]))
        let ids = [40, 2, 17, 5, 99, 3, 8]
        let reference = try SpikingExecutor(graph: mst.graph, batchCapacity: 7, lanes: 1)
            .run(x, samples: ids, timesteps: 12)
        let split = try SpikingExecutor(graph: mst.graph, batchCapacity: 7, lanes: 2).run(x, samples: ids, timesteps: 12)
        assertSameResult(split, reference, "mst, 2 lanes")
    }

    /// One step's totals (what calibration reads) in batch order, however the batch was split; a batch smaller
    /// than the lanes leaves lanes idle.
    func testTotalsAfterARunAreInBatchOrder() throws {
        let qann = try ViTImporter.load(Fixtures.bundled("vit-mnist-relu-qann16.h5"))
        let data = try ImageDataset.load(Fixtures.bundled("data/mnist-test.h5"), for: qann.config)
        let c = try ConversionMethods.convert(qann, method: "spikezip", options: ConversionOptions(steps: .checkpoint))
        let one = try SpikingExecutor(graph: c.graph, batchCapacity: 5, lanes: 1)
        let split = try SpikingExecutor(graph: c.graph, batchCapacity: 5, lanes: 4)
        // A value in the middle whose totals are kept, and one that keeps none (the input of a neuron layer).
        let transient = SpikingExecutor.valuesWithTransientTotals(c.graph, specs: try c.graph.validatedSpecs())
        let kept = c.graph.values.indices.filter { !transient[$0] }, passing = try XCTUnwrap(transient.firstIndex(of: true))
        for n in [1, 2, 5] {
            let x = data.batch(0..<n)
            _ = try one.run(x, timesteps: 1)
            _ = try split.run(x, timesteps: 1)
            XCTAssertNil(one.totals(of: passing, batch: n))
            XCTAssertNil(split.totals(of: passing, batch: n))
            for v in [c.graph.output, kept[kept.count / 2]] {
                XCTAssertEqual(try XCTUnwrap(split.totals(of: v, batch: n)), try XCTUnwrap(one.totals(of: v, batch: n)),
                               "\(n) images, value \(v)")
            }
            XCTAssertNil(split.totals(of: c.graph.output, batch: n + 1))
            XCTAssertEqual(split.totals(of: c.graph.output, batch: 1), one.totals(of: c.graph.output, batch: 1))
        }
        XCTAssertThrowsError(try split.run(data.batch(0..<6), timesteps: 1))
    }
}
