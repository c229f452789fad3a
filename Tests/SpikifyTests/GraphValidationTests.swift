import Foundation
import HDF5
import XCTest
import Spikify
@testable import SpikifyConversion
@testable import SpikifyCore
@testable import SpikifyExport
@testable import SpikifyModel
@testable import SpikifySpiking

/// A tampered spiking graph or converted file is a clear error naming the operator, found before any unsafe code
/// runs (every check of the specs and of the graph's structure has a case here).
final class GraphValidationTests: XCTestCase {
    private func converted() throws -> ConvertedModel {
        let model = try ViTImporter.load(Fixtures.model("spikezip_qann_relu"))
        return try ConversionMethods.convert(model, method: "spikezip", options: ConversionOptions())
    }

    private func index(_ g: SpikingGraph, kind: String, _ nth: Int = 0) -> Int {
        g.nodes.indices.filter { g.nodes[$0].kind == kind }[nth]
    }

    func testTamperedGraphsAreClearErrors() throws {
        let c = try converted()
        XCTAssertNoThrow(try c.graph.validate())
        func expect(_ fragments: [String], _ edit: (inout SpikingGraph) -> Void, line: UInt = #line) {
            var g = c.graph
            edit(&g)
            assertSpikifyError(fragments, line: line) { try g.validate() }
            assertSpikifyError(fragments, line: line) { _ = try SpikingExecutor(graph: g, batchCapacity: 2) }
        }
        let linear = index(c.graph, kind: "linear", 1), scores = index(c.graph, kind: "spikezip.attention_scores")
        let av = index(c.graph, kind: "spikezip.attention_values"), neuron = index(c.graph, kind: "spikezip.stbif", 2)
        // Widths: a linear layer's output one wider than its weight.
        expect(["operator \(linear) (linear)", "has shape", "expected"]) { g in g.values[g.nodes[linear].outputs[0]].width += 1 }
        // Heads that do not divide the width, and more heads than the scores hold.
        expect(["operator \(scores)", "heads 3 does not divide"]) { g in g.nodes[scores].attributes["heads"] = .int(3) }
        expect(["operator \(av)", "attention"]) { g in g.nodes[av].attributes["heads"] = .int(1) }
        // Token counts: scores for one token fewer.
        expect(["operator \(scores)", "output"]) { g in g.values[g.nodes[scores].outputs[0]].width -= 1 }
        // A missing tensor, and a node that names none.
        expect(["spiking graph", "head.weight"]) { g in g.tensors["head.weight"] = nil }
        expect(["operator \(linear)", "no 'weight' tensor"]) { g in g.nodes[linear].tensors["weight"] = nil }
        // Unknown kinds, bad attributes.
        expect(["unknown operator kind", "spikezip.stbif"]) { g in g.nodes[neuron].kind = "spikezip.stbif2" }
        expect(["operator \(neuron)", "threshold", "positive"]) { g in g.nodes[neuron].attributes["threshold"] = .float(-1) }
        expect(["operator \(neuron)", "threshold"]) { g in g.nodes[neuron].attributes["threshold"] = .number(.nan) }
        expect(["operator \(neuron)", "lower"]) { g in g.nodes[neuron].attributes["lower"] = .int(5) }
        expect(["operator \(neuron)", "upper"]) { g in g.nodes[neuron].attributes["upper"] = .number(1e300) }
        // Structure: operators deleted, duplicated, reordered; values out of range; absurd sizes.
        expect(["before any operator writes it"]) { g in g.nodes.remove(at: neuron) }
        expect(["already written"]) { g in g.nodes.insert(g.nodes[linear], at: linear + 1) }
        expect(["before any operator writes it"]) { g in g.nodes.swapAt(neuron - 1, neuron) }
        expect(["refers to value 9999"]) { g in g.nodes[linear].inputs[0] = 9999 }
        expect(["has 2 inputs"]) { g in g.nodes[linear].inputs.append(0) }
        expect(["repeats neuron site"]) { g in g.nodes[neuron].site = g.nodes[neuron - 2].site }
        expect(["per sample", "at most"]) { g in g.values[3].rows = 1 << 40 }
        expect(["output", "[1, 10]"]) { g in g.output = g.input }
        expect(["non-finite", "head.weight"]) { g in g.tensors["head.weight"]!.scalars[3] = .infinity }
        expect(["input coding", "encoder 'poisson'"]) { g in g.semantics.inputCoding = .encoder(kind: "poisson") }
        // A batch too large to allocate is refused before any allocation.
        assertSpikifyError(["batch of", "smaller batch"]) { _ = try SpikingExecutor(graph: c.graph, batchCapacity: 1 << 40) }
    }

    func testTamperedConvertedFilesAreClearErrors() throws {
        let c = try converted()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func roundTrip(_ name: String, _ edit: (inout ConvertedModel) -> Void) -> String {
            var t = c
            edit(&t)
            let path = dir.appendingPathComponent(name).path
            XCTAssertNoThrow(try ConvertedModelFile.write(t, to: path))
            return path
        }
        let ok = roundTrip("ok.h5") { _ in }
        XCTAssertNoThrow(try ConvertedModelFile.read(ok))
        let neuron = index(c.graph, kind: "spikezip.stbif", 4)
        let wide = roundTrip("wide.h5") { t in t.graph.values[t.graph.nodes[neuron].outputs[0]].width = 7 }
        assertSpikifyError(["wide.h5", "operator \(neuron)"]) { _ = try ConvertedModelFile.read(wide) }
        let kind = roundTrip("kind.h5") { t in t.graph.nodes[0].kind = "mystery" }
        assertSpikifyError(["kind.h5", "unknown operator kind"]) { _ = try ConvertedModelFile.read(kind) }
        // The neuron's threshold disagrees with its site's quantizer in /spikezip.
        let threshold = roundTrip("threshold.h5") { t in t.graph.nodes[neuron].attributes["threshold"] = .float(0.123) }
        assertSpikifyError(["threshold.h5", "operator \(neuron)", "differ"]) { _ = try ConvertedModelFile.read(threshold) }
        // Bounds that contradict levels, a missing site, a step of zero.
        let site = Site(.q, block: 0)
        let bounds = roundTrip("bounds.h5") { t in
            var s = t.state as! SpikeZIPState
            s.plan.quantizers[site]!.upper = 40
            t.state = s
        }
        assertSpikifyError(["bounds.h5", "blocks.0.q", "[-8, 7]"]) { _ = try ConvertedModelFile.read(bounds) }
        let missing = roundTrip("missing.h5") { t in
            var s = t.state as! SpikeZIPState
            s.plan.quantizers[site] = nil
            t.state = s
        }
        assertSpikifyError(["missing.h5", "missing 1 site", "blocks.0.q"]) { _ = try ConvertedModelFile.read(missing) }
        let zero = roundTrip("zero.h5") { t in
            var s = t.state as! SpikeZIPState
            s.plan.quantizers[site]!.step = 0
            t.state = s
        }
        assertSpikifyError(["zero.h5", "step 0"]) { _ = try ConvertedModelFile.read(zero) }
        // A file of another format version says which and what to do.
        let old = dir.appendingPathComponent("v1.h5").path
        let file = try HDF5File.create(old)
        try file.root.setAttribute("format", .string(ConvertedModelFile.format))
        try file.root.setAttribute("format_version", .int(1))
        try file.close()
        assertSpikifyError(["v1.h5", "format_version 1", "convert the source model again"]) { _ = try ConvertedModelFile.read(old) }
    }
}
