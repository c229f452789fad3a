import Foundation
import HDF5
import XCTest
import Spikify
@testable import SpikifyConversion
@testable import SpikifyCore
@testable import SpikifyEvaluation
@testable import SpikifyExport
@testable import SpikifyModel
@testable import SpikifySpiking

/// STA conversion (docs/methods/sta.md): TCSA identities, UGO fits, the MMSE threshold search, the neuron, the
/// float stages against the ANN, the converted-file round trip and batch independence.
final class STATests: XCTestCase {
    /// A deterministic pseudo-random sequence in [−1, 1).
    private func noise(_ count: Int, seed: UInt64) -> [Float] {
        (0..<count).map { CounterRandom.unit(CounterRandom.bits(seed: seed, sample: 0, step: 0, stream: 7, element: $0)) * 2 - 1 }
    }

    private func step(_ op: any SpikingOperator, _ t: Int) {
        let positions = ScalarBuffer<Int>(count: 1)
        op.step(StepContext(t: t, batch: 1, samples: UnsafePointer(positions.pointer), seed: 0))
    }

    /// Feeds per-step increments into slots (total += increment), as upstream operators do.
    private func feed(_ slot: ValueSlot, _ values: [Float]) {
        for (i, v) in values.enumerated() { slot.increment[i] = v }
        slot.accumulate(batch: 1)
    }

    /// Σ_{j≤k} d_j = A_k·B_k (product increments) and the emitted total k·E_k = A_k·B_k / k (running-mean
    /// correction), for rows scaled by a per-row signal and for per-head Q·Kᵀ.
    func testTCSAIdentities() {
        let rows = 3, width = 4
        let a = ValueSlot(ValueInfo(name: "a", rows: rows, width: width), batch: 1)
        let b = ValueSlot(ValueInfo(name: "b", rows: rows, width: 1), batch: 1)
        let y = ValueSlot(ValueInfo(name: "y", rows: rows, width: width), batch: 1)
        let layer = TCSAProductLayer(a: a, b: b, output: y, form: .scaleRows, batch: 1)
        for s in [a, b, y] { s.reset() }
        layer.reset(batch: 1)
        for t in 0..<12 {
            feed(a, noise(rows * width, seed: UInt64(t)))
            feed(b, noise(rows, seed: UInt64(100 + t)))
            step(layer, t)
            let k = Float(t + 1)
            for r in 0..<rows {
                for j in 0..<width {
                    let i = r * width + j, product = a.total[i] * b.total[r]
                    XCTAssertEqual(layer.products[i], product, accuracy: 1e-4 * max(1, abs(product)))
                    XCTAssertEqual(y.total[i], product / k, accuracy: 1e-4 * max(1, abs(product)))
                }
            }
        }
        // Per-head scores: running mean of the output = scale · mean(Q) · mean(K)ᵀ.
        let n = 5, d = 4, heads = 2, hd = 2, scale: Float = 0.5
        let q = ValueSlot(ValueInfo(name: "q", rows: n, width: d), batch: 1)
        let kk = ValueSlot(ValueInfo(name: "k", rows: n, width: d), batch: 1)
        let sc = ValueSlot(ValueInfo(name: "s", rows: heads * n, width: n), batch: 1)
        let scores = TCSAProductLayer(a: q, b: kk, output: sc, form: .scores(heads: heads, scale: scale), batch: 1)
        for s in [q, kk, sc] { s.reset() }
        scores.reset(batch: 1)
        let steps = 9
        for t in 0..<steps {
            feed(q, noise(n * d, seed: UInt64(200 + t)))
            feed(kk, noise(n * d, seed: UInt64(300 + t)))
            step(scores, t)
        }
        let k = Float(steps)
        for h in 0..<heads {
            for i in 0..<n {
                for j in 0..<n {
                    var dot: Float = 0
                    for c in 0..<hd { dot += (q.total[i * d + h * hd + c] / k) * (kk.total[j * d + h * hd + c] / k) }
                    XCTAssertEqual(sc.total[(h * n + i) * n + j] / k, scale * dot, accuracy: 1e-5)
                }
            }
        }
    }

    /// Fitted UGOs stay within their error bounds on their domains, and the fit is deterministic.
    func testUGOFitErrorBounds() {
        // Bounds about 1.5× the errors measured (absolute for GELU and eˣ, relative for 1/x and 1/√x).
        let cases: [(UGOFunction, Float, Float, Int, Double, Bool)] = [
            (.gelu, -6, 6, 8, 0.04, false), (.gelu, -6, 6, 16, 0.01, false), (.exp, -12, 0, 8, 0.025, false),
            (.exp, -12, 3, 8, 0.5, false), (.reciprocal, 1, 50, 8, 0.11, true), (.rsqrt, 0.01, 4, 8, 0.12, true),
        ]
        for (f, lo, hi, n, bound, relative) in cases {
            let u = UGO.fit(f, lower: lo, upper: hi, neurons: n)
            let error = u.maxError(relative: relative)
            XCTAssertLessThan(error, bound, "\(f) on [\(lo), \(hi)] with \(n) units")
            XCTAssertEqual(u, UGO.fit(f, lower: lo, upper: hi, neurons: n))
        }
        // Outside the domain: 1/x constant above, GELU linear above.
        let inv = UGO.fit(.reciprocal, lower: 1, upper: 10, neurons: 16)
        XCTAssertEqual(inv(100), inv(10), accuracy: 1e-6)
        let gelu = UGO.fit(.gelu, lower: -4, upper: 4, neurons: 16)
        XCTAssertEqual(gelu(8), 8, accuracy: 0.05)
    }

    /// A sample on the level grid of θ* = 0.9·M (so θ_20 = θ*) plus one value M: the MMSE search returns θ*; the EMA
    /// weights a second batch by 0.1.
    func testThresholdSearchKnownOptimum() {
        let T = 4, thetaStar: Float = 1.8, top = thetaStar / 0.9
        var values: [Float] = [top]
        for _ in 0..<50 { for j in 0...T { values.append(thetaStar * Float(j) / Float(T)) } }
        let found = values.withUnsafeBufferPointer { ThresholdSearch.threshold($0, timesteps: T) }
        XCTAssertEqual(found, top * (1 - 0.005 * 20), accuracy: 1e-6)
        var search = ThresholdSearch(timesteps: T)
        search.observe(values, width: 1)
        search.observe(values.map { $0 * 2 }, width: 1)
        XCTAssertEqual(search.thresholds?[0] ?? 0, 0.9 * found + 0.1 * 2 * found, accuracy: 1e-5)
    }

    /// The neuron: bursts up to 2θ, the running mean of a constant input is passed (signed) or rectified (unsigned,
    /// with memory: negative spikes only undo earlier positive ones).
    func testNeuronRatesAndBursts() {
        let inputs: [Float] = [3.5, 0.7, -0.4, 0.05, -2]
        let x = ValueSlot(ValueInfo(name: "x", rows: 1, width: inputs.count), batch: 1)
        for signed in [false, true] {
            let y = ValueSlot(ValueInfo(name: "y", rows: 1, width: inputs.count), batch: 1)
            let n = STANeuronLayer(site: "n", input: x, output: y, thresholds: Array(repeating: 1, count: inputs.count),
                                   signed: signed, batch: 1)
            x.reset(); y.reset(); n.reset(batch: 1)
            let steps = 64
            for t in 0..<steps {
                feed(x, inputs)
                step(n, t)
                XCTAssertLessThanOrEqual(n.stepLargestSpike, 4)
            }
            for (i, v) in inputs.enumerated() {
                let expected = signed ? max(-2, min(2, v)) : max(0, min(2, v))
                XCTAssertEqual(y.total[i] / Float(steps), expected, accuracy: 0.02, "input \(v), signed \(signed)")
            }
        }
    }

    /// The exact stage of the STA graph (no UGOs, float neurons, one step) is the ANN.
    func testExactStageIsTheANN() throws {
        let model = try ViTImporter.load(Fixtures.bundled("vit-mnist-gelu.h5"))
        let images = try ImageDatasetReader(Fixtures.bundled("data/mnist-calib.h5"), for: model.config).read(0..<4).images
        let ann = ViTForward(model).logits(images)
        let exact = STAGraph.build(model, stage: .exact(.max), ugos: [:], thresholds: [:], metadata: [:]).graph
        let r = try SpikingExecutor(graph: exact, batchCapacity: 4).run(images, timesteps: 1)
        XCTAssertLessThan(r.logits.maxAbsDifference(ann), 1e-3)
    }

    /// STA needs calibration images and rejects unknown options, with typed errors.
    func testOptionErrors() throws {
        let model = try ViTImporter.load(Fixtures.bundled("vit-mnist-gelu.h5"))
        XCTAssertThrowsError(try ConversionMethods.convert(model, method: "sta", options: ConversionOptions())) {
            XCTAssertTrue("\($0)".contains("--calib"), "\($0)")
        }
        let images = try ImageDatasetReader(Fixtures.bundled("data/mnist-calib.h5"), for: model.config).read(0..<1).images
        for bad in [["ugo_neurons": "1"], ["softmax_reference": "first"], ["timesteps": "0"], ["levels": "3"]] {
            let options = ConversionOptions(steps: .calibrate(.mse), calibrationImages: images, methodOptions: bad)
            XCTAssertThrowsError(try ConversionMethods.convert(model, method: "sta", options: options)) {
                XCTAssertTrue($0 is SpikifyError, "\($0)")
            }
        }
    }

    /// Save and reload give the same graph, UGOs and state; the SNN gives the same logits in any batch size.
    func testRoundTripAndBatchIndependence() throws {
        let model = try ViTImporter.load(Fixtures.bundled("vit-mnist-gelu.h5"))
        let reader = try ImageDatasetReader(Fixtures.bundled("data/mnist-calib.h5"), for: model.config)
        let options = ConversionOptions(steps: .calibrate(.mse), calibrationImages: try reader.read(0..<1).images,
                                        methodOptions: ["timesteps": "4", "ugo_neurons": "4", "softmax_reference": "max"])
        let converted = try ConversionMethods.convert(model, method: "sta", options: options)
        XCTAssertEqual(converted.universalGroupOperators?.count, 5 * model.config.depth)
        XCTAssertFalse(converted.warnings(timesteps: 8).isEmpty)
        XCTAssertTrue(converted.warnings(timesteps: 4).isEmpty)
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("sta.h5").path
        try ConvertedModelFile.write(converted, to: path)
        let loaded = try ConvertedModelFile.read(path)
        XCTAssertTrue(loaded.state.isEqual(to: converted.state))
        XCTAssertEqual(loaded.graph.tensors, converted.graph.tensors)
        XCTAssertEqual(loaded.graph.nodes, converted.graph.nodes)
        let images = try reader.read(6..<9).images
        // The stage ladder reaches the report through the method-neutral hooks: GNN stage, FNN reference.
        let report = try SpikingEvaluation.run(loaded, data: reader, range: 6..<8,
                                               options: .init(timesteps: 2, batchSize: 2))
        XCTAssertEqual(report.stages?.map(\.name), ["gnn"])
        XCTAssertEqual(report.reference.name, "fnn")
        XCTAssertEqual(report.stages?.first?.agreementWithANN, 1)
        XCTAssertTrue(report.table().contains("   GNN"), report.table())
        // A tampered threshold fails validation with an error naming the operator, before anything runs.
        var tampered = converted.graph
        let site = try XCTUnwrap(tampered.nodes.first { $0.kind == STANeuronSpec.kind }?.site)
        tampered.tensors[site + ".threshold"]?.scalars[0] = 0
        XCTAssertThrowsError(try SpikingExecutor(graph: tampered, batchCapacity: 1)) {
            XCTAssertTrue("\($0)".contains("threshold"), "\($0)")
        }
        let whole = try SpikingExecutor(graph: loaded.graph, batchCapacity: 3).run(images, timesteps: 3)
        let single = try SpikingExecutor(graph: converted.graph, batchCapacity: 1)
        for i in 0..<3 {
            let one = try single.run(images.slice(rows: i..<(i + 1)), samples: [i], timesteps: 3)
            XCTAssertEqual(one.logits.scalars, Array(whole.logits.scalars[(i * 10)..<((i + 1) * 10)]))
        }
    }
}

