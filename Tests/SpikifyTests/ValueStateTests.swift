import XCTest
@testable import SpikifyConversion
@testable import SpikifyCore
@testable import SpikifyModel
@testable import SpikifySpiking
import SpikifyEvaluation

/// How values keep their state (docs/architecture.md): totals not kept between steps (``ValueSlot/totalIsTransient``)
/// and totals kept as int8 counts (``ValueSlot/counts``): which values, and what their slots do. That the settled SNN
/// still equals the QANN bit for bit is asserted by the exactness tests (`SpikeZIPTests`, `BurstTests`,
/// `GatheredLinearTests.testBundledQANNSettlesBitForBit`), which run with both.
final class ValueStateTests: XCTestCase {
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
        // Every ST-BIF+ output keeps its totals as int8 counts of its threshold (16 levels fit), nothing else does.
        let units = try SpikingExecutor.valuesWithCountedTotals(g, specs: try g.validatedSpecs())
        let neurons = g.nodes.filter { $0.kind == STBIFSpec.kind }
        XCTAssertEqual(Set(g.values.indices.filter { units[$0] != nil }), Set(neurons.flatMap(\.outputs)))
        for node in neurons {
            guard case .number(let theta)? = node.attributes["threshold"],
                  case .number(let lower)? = node.attributes["lower"] else { return XCTFail("no threshold or bounds") }
            XCTAssertEqual(units[node.outputs[0]]?.unit, Float(theta))
            // At 16 levels each count shares its byte with the neuron's level: codes from the lower bound.
            XCTAssertEqual(units[node.outputs[0]]?.nibbleBase, Int(lower))
        }
        // Together a large share of the state: the float totals kept at a batch of 4 shrink by their size.
        let executor = try SpikingExecutor(graph: g, batchCapacity: 4, lanes: 1)
        XCTAssertEqual(executor.transientValues, expected.count)
        XCTAssertEqual(executor.countedValues, neurons.count)
        let elements = { (values: [Int]) in values.reduce(0) { $0 + g.values[$1].perSample } * 4 }
        let counted = elements(g.values.indices.filter { units[$0] != nil })
        let float = MemoryLayout<Float>.size
        XCTAssertEqual(executor.valueStateBytes.totals,
                       (elements(Array(g.values.indices)) - elements(Array(expected)) - counted) * float)
        XCTAssertEqual(executor.valueStateBytes.countedTotals, counted)
        let largest = expected.map { g.values[$0].perSample }.max()! * 4 * float
        XCTAssertEqual(executor.valueStateBytes.transientTotals, 2 * largest)

        let mst = try ConversionMethods.convert(try ViTImporter.load(Fixtures.bundled("vit-mnist-mst16.h5")),
                                                method: "mst", options: ConversionOptions())
        XCTAssertFalse(SpikingExecutor.valuesWithTransientTotals(mst.graph, specs: try mst.graph.validatedSpecs())
            .contains(true))
        XCTAssertFalse(try SpikingExecutor.valuesWithCountedTotals(mst.graph, specs: try mst.graph.validatedSpecs())
            .contains { $0 != nil })
    }

    /// Over fc1's counts the differential GELU is a table (``ValueSlot/countTable``): the MLPs' hidden values keep
    /// nothing, their operator computes nothing, and a run equals, in logits, predictions and every statistic per
    /// step, the run that computes them and keeps their float totals. Where the function repeats a value on the
    /// counts' range (ReLU over a signed quantizer's counts), nothing is tabulated.
    func testTheGELUOverCountsIsATableAndChangesNothing() throws {
        let model = try ViTImporter.load(Fixtures.model("timm_gelu_token"))
        let data = try ImageDataset.load(Fixtures.data("timm_gelu_token"), for: model.config)
        let options = ConversionOptions(levels: 16, steps: .calibrate(.mse), calibrationImages: data.images)
        let g = try ConversionMethods.convert(model, method: "spikezip", options: options).graph
        let tables = try SpikingExecutor.valuesWithTabulatedTotals(g, specs: try g.validatedSpecs())
        let gelus = g.nodes.filter { $0.kind == ActivationDiffSpec.kind }
        XCTAssertEqual(gelus.count, model.config.depth)
        XCTAssertEqual(Set(g.values.indices.filter { tables[$0] != nil }), Set(gelus.flatMap(\.outputs)))
        for node in gelus {
            let entry = try XCTUnwrap(tables[node.outputs[0]])
            XCTAssertEqual(entry.source, node.inputs[0])
            let fc1 = try XCTUnwrap(g.nodes.first { $0.outputs == node.inputs })
            guard case .number(let theta)? = fc1.attributes["threshold"] else { return XCTFail("no threshold") }
            for count in [-8, -1, 0, 1, 7] {  // one at a time: the same float as in a long row
                var x = [Float(count) * Float(theta)]
                Kernels.gelu(&x, count: 1)
                XCTAssertEqual(entry.table[count + 128].bitPattern, x[0].bitPattern)
            }
        }

        // The same graph on a registry whose activation declares no elementwise function: computed and kept.
        let plain = OperatorRegistry()
        for kind in OperatorRegistry.shared.kinds where kind != ActivationDiffSpec.kind {
            try plain.register(try XCTUnwrap(OperatorRegistry.shared.spec(kind)))
        }
        try plain.register(ComputedActivationSpec.self)
        let tabulated = try SpikingExecutor(graph: g, batchCapacity: 4, lanes: 1)
        let computed = try SpikingExecutor(graph: g, batchCapacity: 4, registry: plain, lanes: 1)
        XCTAssertEqual(tabulated.tabulatedValues, gelus.count)
        XCTAssertEqual(computed.tabulatedValues, 0)
        let hidden = gelus.reduce(0) { $0 + g.values[$1.outputs[0]].perSample } * 4 * MemoryLayout<Float>.size
        XCTAssertEqual(tabulated.valueStateBytes.totals, computed.valueStateBytes.totals - hidden)
        XCTAssertEqual(tabulated.valueStateBytes.countedTotals, computed.valueStateBytes.countedTotals)
        let b = try computed.run(data.batch(0..<4), timesteps: 64)
        XCTAssertTrue(b.settleSteps.allSatisfy { $0 != nil })
        XCTAssertGreaterThan(Set(b.settleSteps).count, 1)  // samples leave at different steps (compaction moves)
        // Tabulated in one lane, and in a lane per core with quiet samples compacted out.
        let lanes = try SpikingExecutor(graph: g, batchCapacity: 4)
        for a in [try tabulated.run(data.batch(0..<4), timesteps: 64), try lanes.run(data.batch(0..<4), timesteps: 64)] {
            XCTAssertEqual(a.logits.scalars.map(\.bitPattern), b.logits.scalars.map(\.bitPattern))
            XCTAssertEqual(a.predictions, b.predictions)
            XCTAssertEqual(a.settleSteps, b.settleSteps)
            XCTAssertEqual(a.stepSiteSpikes, b.stepSiteSpikes)
            XCTAssertEqual(a.stepSiteEvents, b.stepSiteEvents)
            XCTAssertEqual(a.stepLayerEvents, b.stepLayerEvents)
            let fc2 = try XCTUnwrap(a.synapticEvents.first { $0.name.contains("mlp.fc2") })
            XCTAssertGreaterThan(fc2.events, 0)
        }

        var relu = g
        for i in relu.nodes.indices where relu.nodes[i].kind == ActivationDiffSpec.kind {
            relu.nodes[i].attributes["activation"] = .string(Activation.relu.rawValue)
        }
        XCTAssertFalse(try SpikingExecutor.valuesWithTabulatedTotals(relu, specs: try relu.validatedSpecs())
            .contains { $0 != nil })
    }

    /// A counted slot reads back `Float(S)·θ`, the float its producer would have stored, in place of a copy or
    /// into the scratch it is given; its counts move with their sample and reset to zero.
    func testACountedSlotReadsCountsTimesTheUnit() {
        let info = ValueInfo(name: "s", rows: 2, width: 3), theta: Float = 0.3
        let slot = ValueSlot(info, batch: 2, countUnit: theta)
        let plain = ValueSlot(info, batch: 2)
        XCTAssertEqual(slot.total.count, 0)
        let counts: [Int8] = [-128, -3, 0, 1, 7, 127, 2, -1, 5, 0, 9, -9]
        for (i, c) in counts.enumerated() {
            slot.counts![i] = c
            plain.total[i] = Float(c) * theta
        }
        var out = [Float](repeating: .nan, count: 12), scratch = [Float](repeating: .nan, count: 6)
        slot.loadRows(0, count: 4, into: &out)
        XCTAssertEqual(out.map(\.bitPattern), plain.total.array.map(\.bitPattern))
        for slot in [slot, plain] {  // added to floats: the same sums from counts as from the floats they stand for
            var sum = (0..<12).map { Float($0) * 0.7 }
            slot.addRows(0, count: 4, to: &sum)
            XCTAssertEqual(sum.map(\.bitPattern), (0..<12).map { (plain.total[$0] + Float($0) * 0.7).bitPattern })
        }
        let loaded = scratch.withUnsafeMutableBufferPointer { slot.rows(1, count: 2, scratch: $0.baseAddress!) }
        XCTAssertEqual(Array(UnsafeBufferPointer(start: loaded, count: 6)).map(\.bitPattern),
                       Array(plain.total.array[3..<9]).map(\.bitPattern))
        XCTAssertTrue(plain.rows(1, count: 2, scratch: &scratch) == plain.total.pointer + 3)  // floats: in place
        slot.moveSample(from: 1, to: 0)
        XCTAssertEqual(Array(slot.counts!.array[0..<6]), Array(counts[6..<12]))
        slot.reset()
        XCTAssertEqual(slot.counts!.array, [Int8](repeating: 0, count: 12))
    }

    /// Counts sharing their bytes with the producer (``ValueSlot/nibbleBase``) are read from the high halves, whatever
    /// the low halves hold, as `Float(S)·θ` or through a table of them; they move with their sample, and reset to
    /// the code of 0 in both halves.
    func testCountsSharingBytesWithTheirProducerReadTheHighHalves() {
        XCTAssertEqual(CountedOutput(unit: 1, levels: -8...7, sharesBytesWithProducer: true).nibbleBase, -8)
        XCTAssertEqual(CountedOutput(unit: 1, levels: 0...15, sharesBytesWithProducer: true).nibbleBase, 0)
        XCTAssertNil(CountedOutput(unit: 1, levels: 0...16, sharesBytesWithProducer: true).nibbleBase)
        XCTAssertNil(CountedOutput(unit: 1, levels: 1...15, sharesBytesWithProducer: true).nibbleBase)  // no 0
        XCTAssertNil(CountedOutput(unit: 1, levels: -8...7).nibbleBase)
        let info = ValueInfo(name: "s", rows: 2, width: 3), theta: Float = 0.3
        let slot = ValueSlot(info, batch: 2, countUnit: theta, nibbleBase: -8, countsEvents: true)
        let plain = ValueSlot(info, batch: 2)
        let counts = [-8, -3, 0, 1, 7, 5, 2, -1, 5, 0, 6, -7]
        var rng = NeuronTests.SplitMix(state: 5)
        for (i, c) in counts.enumerated() {
            slot.counts![i] = Int8(bitPattern: UInt8(c + 8) << 4 | UInt8.random(in: 0...15, using: &rng))
            plain.total[i] = Float(c) * theta
        }
        var out = [Float](repeating: .nan, count: 12)
        slot.loadRows(0, count: 4, into: &out)
        XCTAssertEqual(out.map(\.bitPattern), plain.total.array.map(\.bitPattern))
        var sum = (0..<12).map { Float($0) * 0.7 }
        slot.addRows(0, count: 4, to: &sum)
        XCTAssertEqual(sum.map(\.bitPattern), (0..<12).map { (plain.total[$0] + Float($0) * 0.7).bitPattern })
        let table = (-128...127).map { Float($0 * $0) + 0.25 }
        let view = ValueSlot(info, batch: 2, countsEvents: true, tabulating: slot, table: table)
        XCTAssertEqual(view.nibbleBase, -8)
        view.loadRows(0, count: 4, into: &out)
        XCTAssertEqual(out, counts.map { table[$0 + 128] })
        let bytes = slot.counts!.array
        slot.moveSample(from: 1, to: 0)
        XCTAssertEqual(Array(slot.counts!.array[0..<6]), Array(bytes[6..<12]))
        slot.reset()
        XCTAssertEqual(slot.counts!.array, [Int8](repeating: Int8(bitPattern: 0x88), count: 12))
        slot.loadRows(0, count: 4, into: &out)
        XCTAssertEqual(out, [Float](repeating: 0, count: 12))
    }

    /// A tabulated slot reads its source's counts through its table, leaves resetting and moving them to the
    /// source's slot, and takes the source's row flags and event count as its own.
    func testATabulatedSlotReadsItsSourcesCountsThroughItsTable() {
        let info = ValueInfo(name: "s", rows: 2, width: 3)
        let source = ValueSlot(info, batch: 2, countUnit: 0.5, countsEvents: true)
        let table = (-128...127).map { Float($0 * $0) + 0.25 }  // any floats: the slot only looks them up
        let view = ValueSlot(info, batch: 2, countsEvents: true, tabulating: source, table: table)
        XCTAssertTrue(view.counts === source.counts)
        XCTAssertTrue(view.sharesCounts)
        XCTAssertEqual(view.total.count, 0)
        let counts: [Int8] = [-128, -3, 0, 1, 7, 127, 2, -1, 5, 0, 9, -9]
        for (i, c) in counts.enumerated() { source.counts![i] = c }
        var out = [Float](repeating: .nan, count: 12)
        view.loadRows(0, count: 4, into: &out)
        XCTAssertEqual(out, counts.map { table[Int($0) + 128] })
        var sum = [Float](repeating: 1, count: 12)
        view.addRows(0, count: 4, to: &sum)
        XCTAssertEqual(sum, out.map { $0 + 1 })
        // Moves and resets are the source's: the view's own leave the shared counts alone.
        view.moveSample(from: 1, to: 0)
        view.reset()
        XCTAssertEqual(source.counts!.array, counts)
        source.moveSample(from: 1, to: 0)
        XCTAssertEqual(Array(source.counts!.array[0..<6]), Array(counts[6..<12]))
        // The source's step: row 1 and row 3 fired, 4 events; the view mirrors it.
        source.beginStep(batch: 2)
        source.setRow(1, changed: true)
        source.setRow(3, changed: true)
        source.stepEvents = 4
        source.finishStep(batch: 2)
        view.mirror(source, batch: 2)
        XCTAssertEqual((0..<4).map { view.rowChanged($0) }, [false, true, false, true])
        XCTAssertEqual(view.nonZeroIncrements(batch: 2), 4)
        source.keep(batch: 2)
        view.mirror(source, batch: 2)
        XCTAssertFalse(view.changed)
        XCTAssertEqual(view.nonZeroIncrements(batch: 2), 0)
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

/// `spikezip.activation` without an elementwise function: the differential activation computed on float totals
/// (what the executor did before tabulating it), for comparison.
private enum ComputedActivationSpec: TotalOperatorSpec {
    static let kind = ActivationDiffSpec.kind
    static var readsCountedInputs: Bool { true }
    static var countsOutputEvents: Bool { true }
    static var readsChangedInputRowsOnly: Bool { true }
    static func parameters(_ n: NodeContext) throws -> Activation { try ActivationDiffSpec.parameters(n) }
    static func instantiate(_ a: Activation, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        ActivationDiffSpec.instantiate(a, n, r)
    }
}
