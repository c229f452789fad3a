import XCTest
@testable import SpikifyConversion
@testable import SpikifyCore
@testable import SpikifyModel
@testable import SpikifySpiking

/// Values whose totals are not kept between steps (``ValueSlot/totalIsTransient``, docs/architecture.md): which
/// ones, and what a slot of such a value does. That the settled SNN still equals the QANN bit for bit is asserted
/// by the exactness tests (`SpikeZIPTests`, `GatheredLinearTests.testBundledQANNSettlesBitForBit`), which run with
/// them.
final class TransientTotalsTests: XCTestCase {
    /// In a SpikeZIP-TF graph exactly the inputs of the ST-BIF+ layers, the attention scores (read only by the
    /// softmax after them) and the pooled token (read only by the final LayerNorm) keep no totals; in MST and STA
    /// graphs, whose operators read whole inputs, none.
    func testOnlyValuesReadOnceRightAfterTheirProducerKeepNoTotals() throws {
        let model = try ViTImporter.load(Fixtures.bundled("vit-mnist-relu-qann16.h5"))
        let c = try ConversionMethods.convert(model, method: "spikezip", options: ConversionOptions(steps: .checkpoint))
        let g = c.graph
        let transient = SpikingExecutor.valuesWithTransientTotals(g, specs: try g.validatedSpecs())
        func inputs(of kind: String) -> Set<Int> { Set(g.nodes.filter { $0.kind == kind }.flatMap(\.inputs)) }
        let pooled = try XCTUnwrap(g.values.firstIndex { $0.name == "pooled" })
        let expected = inputs(of: STBIFSpec.kind).union(inputs(of: SoftmaxDiffSpec.kind)).union([pooled])
        XCTAssertEqual(Set(g.values.indices.filter { transient[$0] }), expected)
        XCTAssertEqual(expected.count, 1 + 4 * 11 + 1 + 1)  // patch embedding; per block 10 neuron inputs and the scores; pooled; final norm
        // They are a large share of the state: the totals kept at a batch of 4 shrink by their size.
        let executor = try SpikingExecutor(graph: g, batchCapacity: 4, lanes: 1)
        XCTAssertEqual(executor.transientValues, expected.count)
        let all = g.values.reduce(0) { $0 + $1.perSample } * 4 * MemoryLayout<Float>.size
        let passing = expected.reduce(0) { $0 + g.values[$1].perSample } * 4 * MemoryLayout<Float>.size
        let largest = expected.map { g.values[$0].perSample }.max()! * 4 * MemoryLayout<Float>.size
        XCTAssertEqual(executor.valueStateBytes.totals, all - passing)
        XCTAssertEqual(executor.valueStateBytes.transientTotals, 2 * largest)

        let mst = try ConversionMethods.convert(try ViTImporter.load(Fixtures.bundled("vit-mnist-mst16.h5")),
                                                method: "mst", options: ConversionOptions())
        XCTAssertFalse(SpikingExecutor.valuesWithTransientTotals(mst.graph, specs: try mst.graph.validatedSpecs())
            .contains(true))
    }

    /// A transient slot flags every row its producer writes, also when the new total equals what the shared buffer
    /// held (a comparison would have called it unchanged), and writes in place; a kept slot compares.
    func testATransientSlotFlagsEveryWrittenRow() {
        let info = ValueInfo(name: "v", rows: 3, width: 4)
        let shared = FloatBuffer(count: 24), scratch = FloatBuffer(count: 24)
        let transient = ValueSlot(info, batch: 2, sharedIncrement: shared, transientTotal: scratch)
        let kept = ValueSlot(info, batch: 2, sharedIncrement: shared)
        XCTAssertTrue(transient.totalIsTransient)
        XCTAssertFalse(kept.totalIsTransient)
        XCTAssertTrue(transient.total === scratch)
        let zeros = [Float](repeating: 0, count: 4), ones = [Float](repeating: 1, count: 4)
        for slot in [transient, kept] {
            slot.reset()
            slot.beginStep(batch: 2)
            XCTAssertEqual(slot.updateRow(1, from: zeros), slot === transient ? 4 : 0)
            XCTAssertEqual(slot.updateRow(4, from: ones), 4)
            var events = [0, 0]
            slot.rewriteRows(2, count: 2, events: &events) { y in
                for i in 0..<8 { y[i] = 0 }
            }
            XCTAssertEqual(events, slot === transient ? [4, 4] : [0, 0])
            slot.finishStep(batch: 2)
            XCTAssertEqual((0..<6).map { slot.rowChanged($0) },
                           slot === transient ? [false, true, true, true, true, false]
                               : [false, false, false, false, true, false])
            XCTAssertEqual(Array(UnsafeBufferPointer(start: slot.total.pointer + 16, count: 4)), ones)
            // Samples rewritten whole: every row of a rewritten sample is flagged in the transient slot.
            slot.updateSamples(batch: 2, where: { $0 == 1 }) { s in
                (slot.total.pointer + s * 12).update(repeating: 1, count: 12)
            }
            XCTAssertEqual((0..<6).map { slot.rowChanged($0) },
                           slot === transient ? [false, false, false, true, true, true]
                               : [false, false, false, true, false, true])
        }
    }
}
