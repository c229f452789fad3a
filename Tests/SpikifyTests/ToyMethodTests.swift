import Foundation
import HDF5
import XCTest
import Spikify
@testable import SpikifyConversion
@testable import SpikifyCore
@testable import SpikifyModel
@testable import SpikifySpiking

// A conversion method defined entirely in test code: rate-coded integrate-and-fire neurons with reset by
// subtraction, the analog image every step, a mean readout, and an optional random spike mask. It goes through the
// executor, the evaluation report and a save/load round trip without any change to Spiking/ or Evaluation/.

/// Integrate-and-fire on each step's increment: `u += x_t`; a spike of θ when `u ≥ θ` (then `u −= θ`); a kept
/// spike survives the mask with probability `keep` (counter-based bits, so batch-independent).
final class ToyIFOperator: SpikeEmitter {
    let site: String, input: ValueSlot, output: ValueSlot, threshold: Float, keep: Float, stream: UInt64
    let membrane: FloatBuffer, stepSpikes: ScalarBuffer<Int>
    var stepEvents: ScalarBuffer<Int> { stepSpikes }
    private(set) var stepLargestSpike = 0
    var neuronsPerSample: Int { input.info.perSample }

    init(site: String, input: ValueSlot, output: ValueSlot, threshold: Float, keep: Float, stream: UInt64, batch: Int) {
        (self.site, self.input, self.output, self.threshold, self.keep, self.stream) = (site, input, output, threshold, keep, stream)
        membrane = FloatBuffer(count: batch * input.info.perSample)
        stepSpikes = ScalarBuffer<Int>(count: batch)
    }

    func reset(batch: Int) { membrane.zero(); stepSpikes.zero(); stepLargestSpike = 0 }

    func moveSample(from: Int, to: Int) {
        membrane.moveBlock(from: from, to: to, size: neuronsPerSample)
        stepSpikes.moveBlock(from: from, to: to, size: 1)
    }

    func step(_ s: StepContext) {
        let n = neuronsPerSample
        for p in 0..<s.batch {
            var fired = 0
            for i in 0..<n {
                let j = p * n + i
                membrane[j] += input.increment[j]
                var spike: Float = 0
                if membrane[j] >= threshold {
                    membrane[j] -= threshold
                    if keep >= 1 || CounterRandom.unit(s.randomBits(stream: stream, position: p, element: i)) < keep {
                        spike = threshold
                        fired += 1
                    }
                }
                output.increment[j] = spike
            }
            stepSpikes[p] = fired
        }
        output.accumulate(batch: s.batch)
        stepLargestSpike = (0..<s.batch).contains { stepSpikes[$0] > 0 } ? 1 : 0
    }
}

enum ToyIFSpec: OperatorSpec {
    static let kind = "toy.if"
    struct Parameters { let threshold: Float, keep: Float }
    static func parameters(_ n: NodeContext) throws -> Parameters {
        try n.arity(inputs: 1)
        try n.expect(n.output(), rows: n.input(0).rows, width: n.input(0).width, "output")
        return Parameters(threshold: try n.float("threshold", positive: true), keep: try n.float("keep", positive: true))
    }
    static func instantiate(_ p: Parameters, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        ToyIFOperator(site: n.node.site ?? "toy", input: r.slot(n.node.inputs[0]), output: r.slot(n.node.outputs[0]),
                      threshold: p.threshold, keep: p.keep, stream: n.randomStream, batch: r.capacity)
    }
}

struct ToyState: MethodState, Equatable {
    static let method = "toy"
    var threshold: Float
    var levels: Int? { nil }
    var description: [String: String] { ["threshold": "\(threshold)"] }
    func referenceNetwork(for model: ViTModel) -> ReferenceNetwork {
        let ann = ViTForward(model)
        return ReferenceNetwork(name: "toy-ann", description: "the source ANN") { ann.logits($0) }
    }
    func write(to group: HDF5Group) throws { try group.setAttribute("threshold", .double(Double(threshold))) }
}

enum ToyMethod: SpikingMethod {
    static let name = "toy"
    static let summary = "rate-coded IF (test only)"
    static var operatorSpecs: [AnyOperatorSpec] { [AnyOperatorSpec(ToyIFSpec.self)] }

    /// patches → patch embedding → IF → mean over patches → head; analog image every step, mean readout.
    static func convert(_ model: ViTModel, options: ConversionOptions, progress: ((Int, Int) -> Void)?) throws
        -> ConvertedModel
    {
        let c = model.config, tensors = model.weights.canonicalTensors(config: c)
        let threshold: Float = 0.5, keep = Float(options.levels.map { 1 / Double($0) } ?? 1)
        var g = SpikingGraphBuilder()
        let image = g.value("image", rows: c.channels, width: c.imageSize * c.imageSize)
        let patches = g.add(PatchifySpec.kind, [image], output: "patches", rows: c.patchCount, width: c.patchFeatures,
                            attributes: ["channels": .int(c.channels), "image_size": .int(c.imageSize), "patch": .int(c.patchSize)])
        let w = g.tensor("patch_embed.proj.weight", tensors["patch_embed.proj.weight"]!)
        let embedded = g.add(LinearSpec.kind, [patches], output: "embedded", rows: c.patchCount, width: c.embedDim,
                             tensors: ["weight": w])
        let spikes = g.add(ToyIFSpec.kind, [embedded], output: "spikes", rows: c.patchCount, width: c.embedDim,
                           attributes: ["threshold": .float(threshold), "keep": .float(keep)], site: "toy.if")
        let pooled = g.add(MeanTokensSpec.kind, [spikes], output: "pooled", rows: 1, width: c.embedDim,
                           attributes: ["from": .int(0)])
        let head = g.tensor("head.weight", tensors["head.weight"]!)
        let logits = g.add(LinearSpec.kind, [pooled], output: "logits", rows: 1, width: c.numClasses, tensors: ["weight": head])
        let semantics = SimulationSemantics(inputCoding: .analogEveryStep, readout: .mean, quiescenceIsFinal: false,
                                            seed: options.seed)
        let graph = g.graph(input: image, output: logits, semantics: semantics, metadata: ["method": name], config: c)
        return ConvertedModel(model: model, graph: graph, state: ToyState(threshold: threshold))
    }

    static func readState(from group: HDF5Group, file: String, graph: SpikingGraph, model: ViTModel) throws -> any MethodState {
        guard case .double(let t)? = try group.attribute("threshold") else {
            throw SpikifyError.invalidData(file: file, message: "/toy: no threshold")
        }
        return ToyState(threshold: Float(t))
    }
}

final class ToyMethodTests: XCTestCase {
    override func setUp() { XCTAssertNoThrow(try ConversionMethods.register(ToyMethod.self)) }

    private func toy(keep levels: Int? = nil, seed: UInt64 = 0) throws -> (ConvertedModel, ImageDataset) {
        let model = try ViTImporter.load(Fixtures.model("timm_relu_avg_nested"))
        let data = try ImageDataset.load(Fixtures.data("timm_relu_avg_nested"), for: model.config)
        return (try ConversionMethods.convert(model, method: "toy", options: ConversionOptions(levels: levels, seed: seed)), data)
    }

    func testToyMethodRunsThroughExecutorReportAndFile() throws {
        let (c, data) = try toy()
        XCTAssertTrue(ConversionMethods.names.contains("toy"))
        let run = try SpikingExecutor(graph: c.graph, batchCapacity: data.count).run(data.images, timesteps: 20)
        XCTAssertEqual(run.stepsRun, 20, "no quiescence: every step runs")
        XCTAssertTrue(run.settleSteps.allSatisfy { $0 == nil })
        XCTAssertGreaterThan(run.siteSpikes[0], 0)
        // Mean readout: the logits are the accumulated output divided by the steps run.
        XCTAssertEqual(run.readout, .mean)
        let summed = try SpikingExecutor(graph: { var g = c.graph; g.semantics.readout = .sum; return g }(),
                                         batchCapacity: data.count).run(data.images, timesteps: 20)
        for (m, s) in zip(run.logits.scalars, summed.logits.scalars) { XCTAssertEqual(m, s / 20, accuracy: 1e-6) }
        XCTAssertEqual(run.stepSiteSpikes.count, 20)
        XCTAssertEqual(run.stepSiteSpikes.reduce(0, +), run.siteSpikes[0])
        let report = try SpikingEvaluation.run(c, data: data, options: .init(timesteps: 20, batchSize: 3))
        XCTAssertEqual(report.method, "toy")
        XCTAssertEqual(report.reference.name, "toy-ann")
        XCTAssertNil(report.qann, "qann keys only for a QANN reference")
        XCTAssertEqual(report.simulation?.inputCoding, "analog-every-step")
        XCTAssertEqual(report.sites.map(\.site), ["toy.if"])
        XCTAssertEqual(report.sites[0].spikes, run.siteSpikes[0], "batches of 3 count what one batch counts")
        XCTAssertEqual(report.snn.settleSteps.unsettled, data.count)
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("toy.h5").path
        try ConvertedModelFile.write(c, to: path)
        let loaded = try ConvertedModelFile.read(path)
        XCTAssertEqual(loaded.method, "toy")
        XCTAssertTrue(loaded.state.isEqual(to: c.state))
        XCTAssertEqual(loaded.graph.nodes, c.graph.nodes)
        XCTAssertEqual(loaded.graph.semantics, c.graph.semantics)
        let again = try SpikingExecutor(graph: loaded.graph, batchCapacity: data.count).run(data.images, timesteps: 20)
        XCTAssertEqual(again.logits.scalars, run.logits.scalars)
    }

    /// The same seed gives the same spikes and logits for every sample whatever the batch size and batch order.
    func testRandomMasksDoNotDependOnBatching() throws {
        let model = try ViTImporter.load(Fixtures.model("timm_relu_avg_nested"))
        let base = try ImageDataset.load(Fixtures.data("timm_relu_avg_nested"), for: model.config)
        // 16 images: the fixture's, repeated with a different sign pattern.
        var scalars: [Float] = []
        for i in 0..<16 { scalars += base.images.slice(rows: (i % base.count)..<(i % base.count + 1)).scalars.map { $0 * (i < base.count ? 1 : -0.7) } }
        let images = Tensor(shape: [16] + Array(base.images.shape.dropFirst()), scalars: scalars)
        let c = try ConversionMethods.convert(model, method: "toy", options: ConversionOptions(levels: 2, seed: 42))
        func run(batch: Int, order: [Int]) throws -> (logits: [[Float]], spikes: [Int]) {
            let executor = try SpikingExecutor(graph: c.graph, batchCapacity: batch)
            var logits = [[Float]](repeating: [], count: 16), spikes = [Int](repeating: 0, count: 16)
            for start in stride(from: 0, to: 16, by: batch) {
                let ids = Array(order[start..<min(16, start + batch)])
                let x = Tensor(shape: [ids.count] + Array(images.shape.dropFirst()),
                               scalars: ids.flatMap { images.slice(rows: $0..<($0 + 1)).scalars })
                let r = try executor.run(x, samples: ids, timesteps: 12)
                for (p, id) in ids.enumerated() {
                    logits[id] = Array(r.logits.slice(rows: p..<(p + 1)).scalars)
                    spikes[id] = r.sampleSpikes[p]
                }
            }
            return (logits, spikes)
        }
        let one = try run(batch: 1, order: Array(0..<16))
        for (batch, order) in [(7, Array(0..<16)), (16, Array(0..<16)), (7, Array((0..<16).reversed()))] {
            let other = try run(batch: batch, order: order)
            XCTAssertEqual(other.logits, one.logits, "batch \(batch)")
            XCTAssertEqual(other.spikes, one.spikes, "batch \(batch)")
        }
        // The mask really drops spikes (keep = 1/2), and another seed draws other masks.
        let unmasked = try ConversionMethods.convert(model, method: "toy", options: ConversionOptions(seed: 42))
        let full = try SpikingExecutor(graph: unmasked.graph, batchCapacity: 16).run(images, timesteps: 12)
        let kept = Double(one.spikes.reduce(0, +)) / Double(full.sampleSpikes.reduce(0, +))
        XCTAssertEqual(kept, 0.5, accuracy: 0.05)
        var reseeded = c.graph
        reseeded.semantics.seed = 43
        let other = try SpikingExecutor(graph: reseeded, batchCapacity: 16).run(images, timesteps: 12)
        XCTAssertNotEqual(other.sampleSpikes, one.spikes)
    }

    /// Philox4x32-10 known-answer vectors (Salmon et al., SC 2011; Random123's published test vectors).
    func testPhiloxKnownAnswers() {
        let zero = CounterRandom.philox((0, 0, 0, 0), key: (0, 0))
        XCTAssertEqual([zero.0, zero.1, zero.2, zero.3], [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8])
        let ones = CounterRandom.philox((.max, .max, .max, .max), key: (.max, .max))
        XCTAssertEqual([ones.0, ones.1, ones.2, ones.3], [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd])
        let pi = CounterRandom.philox((0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344), key: (0xa409_3822, 0x299f_31d0))
        XCTAssertEqual([pi.0, pi.1, pi.2, pi.3], [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1])
    }
}
