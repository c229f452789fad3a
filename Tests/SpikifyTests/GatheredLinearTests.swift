import XCTest
import Spikify
@testable import SpikifyConversion
@testable import SpikifyCore
@testable import SpikifyModel
@testable import SpikifySpiking

/// The spiking linear layer gathers changed rows of many samples into one GEMM only where that reproduces the
/// reference network's one-call-per-sample results bit for bit (``GatheredLinear``). These tests check the measured
/// row count against every row count, for the layer shapes of the bundled models and the test fixtures, on this
/// machine's BLAS kernel as it is configured.
final class GatheredLinearTests: XCTestCase {
    private func random(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000 * scale
        }
    }

    /// At every accepted call size, every row of three samples at every position of a call equals its per-sample
    /// result.
    func testGatheredCallsReproducePerSampleCallsAtEveryPosition() {
        // (in, out, rows per sample): the bundled MNIST ViTs (patch 16 → 64, 64 → 64/128, 128 → 64, the head) and a
        // ViT-Tiny block (192 → 192/768, 768 → 192).
        let shapes = [(16, 64, 49), (64, 64, 50), (64, 128, 50), (128, 64, 50), (64, 10, 1), (192, 192, 197),
                      (192, 768, 197), (768, 192, 197)]
        for (k, n, rows) in shapes {
            let samples = rows == 1 ? 64 : 3
            let x = random(samples * rows * k, seed: 1), w = random(n * k, seed: 2, scale: 0.05)
            let b = random(n, seed: 3)
            let sizes = GatheredLinear.callSizes(weight: w, bias: b, inFeatures: k, outFeatures: n,
                                                 rowsPerSample: rows, maximumRows: samples * rows)
            var reference = [Float](repeating: 0, count: samples * rows * n)
            Kernels.linear(x, samples: samples, rowsPerSample: rows, inFeatures: k, weight: w, bias: b,
                           outFeatures: n, into: &reference)
            let step = rows > 100 ? 5 : 1  // every shift for the small shapes, every 5th for ViT-Tiny
            for m in sizes {  // none: one call per sample, nothing to check
                for shift in stride(from: 0, to: m, by: step) {
                    // Row r at position (r + shift) mod m of some call.
                    let source = (0..<(samples * rows + m)).map { ($0 + samples * rows - shift) % (samples * rows) }
                    for call in stride(from: 0, to: source.count - m + 1, by: m) {
                        let rowsInCall = Array(source[call..<(call + m)])
                        var gathered = [Float](), out = [Float](repeating: 0, count: m * n)
                        for r in rowsInCall { gathered += x[(r * k)..<((r + 1) * k)] }
                        Kernels.linear(gathered, rows: m, inFeatures: k, weight: w, bias: b, outFeatures: n,
                                       into: &out)
                        for (i, r) in rowsInCall.enumerated()
                        where Array(out[(i * n)..<((i + 1) * n)]) != Array(reference[(r * n)..<((r + 1) * n)]) {
                            XCTFail("\(k)→\(n), \(rows) rows/sample: row \(r) differs at position \(i), call of \(m)")
                            return
                        }
                    }
                }
                // A run of consecutive rows read in place (the operator does so), from every start row.
                for first in stride(from: 0, through: samples * rows - m, by: step) {
                    var out = [Float](repeating: 0, count: m * n)
                    x.withUnsafeBufferPointer {
                        Kernels.linear($0.baseAddress! + first * k, rows: m, inFeatures: k, weight: w, bias: b,
                                       outFeatures: n, into: &out)
                    }
                    XCTAssertEqual(out, Array(reference[(first * n)..<((first + m) * n)]),
                                   "\(k)→\(n), \(m) rows from row \(first)")
                }
            }
        }
    }

    /// The cover plan is a cheapest cover (rows computed, padding included, plus 16 per call) of every row count,
    /// checked against every multiset of calls, and pads only its last call.
    func testCoverPlanIsACheapestCover() {
        func follow(_ count: Int, _ plan: [Int]) -> [Int] {
            var calls: [Int] = [], left = count
            while left > 0 { calls.append(plan[left]); left -= plan[left] }
            return calls
        }
        let tiny = GatheredLinear.coverPlan(sizes: Array(stride(from: 64, through: 256, by: 32)), maximumRows: 800)
        XCTAssertEqual(follow(394, tiny), [256, 160])
        XCTAssertEqual(follow(64, tiny), [64])
        XCTAssertEqual(follow(1, tiny), [64])
        for sizes in [[64, 128, 256], [64, 96, 160], [128]] {
            let plan = GatheredLinear.coverPlan(sizes: sizes, maximumRows: 600)
            // Cheapest cost of covering each row count, over every multiset of calls (any whose rows add up to at
            // least the count covers it).
            var cheapest = [Int](repeating: Int.max, count: 601)
            func enumerate(_ i: Int, rows: Int, calls: Int) {
                guard i < sizes.count else {
                    for count in stride(from: 1, through: Swift.min(rows, 600), by: 1) {
                        cheapest[count] = Swift.min(cheapest[count], rows + 16 * calls)
                    }
                    return
                }
                for n in 0...(600 / sizes[i] + 1) { enumerate(i + 1, rows: rows + n * sizes[i], calls: calls + n) }
            }
            enumerate(0, rows: 0, calls: 0)
            for count in 1...600 {
                let calls = follow(count, plan)
                XCTAssertEqual(calls.reduce(0) { $0 + $1 + 16 }, cheapest[count], "\(sizes), \(count) rows")
                XCTAssertLessThan(calls.dropLast().reduce(0, +), count, "only the last call is padded")
                XCTAssertLessThan(calls.reduce(0, +) - count, sizes.max()!, "\(sizes), \(count) rows")
            }
        }
    }

    /// The bundled QAT QANN's SNN (batch 16) settles on the QANN's logits bit for bit with both kernels of its linear
    /// layers: packed weights (on AVX-512 CPUs; the QANN runs the same kernel) and OpenBLAS (gathered calls wherever
    /// the measurement allows them). The converted model's own reference is the packed one.
    func testBundledQANNSettlesBitForBit() throws {
        let model = try ViTImporter.load(Fixtures.bundled("vit-mnist-relu-qann16.h5"))
        let data = try ImageDataset.load(Fixtures.bundled("data/mnist-test.h5"), for: model.config)
        let c = try ConversionMethods.convert(model, method: "spikezip", options: ConversionOptions(steps: .checkpoint))
        for packed in [true, false] {
            let executor = try SpikingExecutor(graph: c.graph, batchCapacity: 16, packedWeights: packed)
            let qann = QuantizedViT(forward: ViTForward(model, packedWeights: packed), plan: c.plan!)
            for start in stride(from: 0, to: 32, by: 16) {
                let x = data.batch(start..<(start + 16))
                let run = try executor.run(x, timesteps: 256)
                XCTAssertTrue(run.settleSteps.allSatisfy { $0 != nil })
                let reference = qann.logits(x)
                XCTAssertEqual(run.logits.scalars, reference.scalars, "packed \(packed), images \(start)..<\(start + 16)")
                if packed { XCTAssertEqual(reference.scalars, c.reference.logits(x).scalars) }
            }
        }
    }

    /// Which values keep increments of their own (docs/performance.md, "Memory"): in the bundled QANN's graph only
    /// the logits and values a linear layer reads from a producer that does not count its events (none: the
    /// patches' producer counts them too); the others, the image (analog-once coding), the ST-BIF+ (or GELU)
    /// outputs and the patches that feed linear layers included, share one buffer. An MST graph, whose operators read increments, shares nothing. The settled SNN above, and every
    /// SpikeZIP-TF exactness and compaction test, run with this sharing.
    func testOnlyValuesNobodyReadsIncrementsOfShareTheirIncrementBuffer() throws {
        let model = try ViTImporter.load(Fixtures.bundled("vit-mnist-relu-qann16.h5"))
        let c = try ConversionMethods.convert(model, method: "spikezip", options: ConversionOptions(steps: .checkpoint))
        let g = c.graph
        let shared = SpikingExecutor.valuesSharingIncrements(g, specs: try g.validatedSpecs())
        let readByLinear = Set(g.nodes.filter { $0.kind == LinearSpec.kind }.flatMap(\.inputs))
        let counting: Set = [STBIFSpec.kind, LayerNormDiffSpec.kind, SoftmaxDiffSpec.kind, ActivationDiffSpec.kind,
                             PatchifySpec.kind]
        let countedOutputs = Set(g.nodes.filter { counting.contains($0.kind) }.flatMap(\.outputs))
        XCTAssertFalse(readByLinear.isDisjoint(with: countedOutputs))
        for v in g.values.indices {
            let keeps = v == g.output || (readByLinear.contains(v) && !countedOutputs.contains(v))
            XCTAssertEqual(shared[v], !keeps, "value \(g.values[v].name)")
        }
        XCTAssertGreaterThan(shared.filter { $0 }.count, g.values.count / 2)
        let executor = try SpikingExecutor(graph: g, batchCapacity: 4)
        XCTAssertEqual(executor.sharedIncrementValues, shared.filter { $0 }.count)

        // A linear layer fed by ST-BIF+ neurons takes their event count (its statistics, step by step), which the
        // neurons' kernel computes as the non-zero increments (NeuronTests).
        let images = try ImageDataset.load(Fixtures.bundled("data/mnist-test.h5"), for: model.config)
        let run = try executor.run(images.batch(0..<4), timesteps: 40)
        let producer = Dictionary(g.nodes.flatMap { n in n.outputs.map { ($0, n) } }, uniquingKeysWith: { a, _ in a })
        var checked = 0
        for node in g.nodes where node.kind == LinearSpec.kind {
            guard let feeding = producer[node.inputs[0]], feeding.kind == STBIFSpec.kind,
                  let l = run.layers.firstIndex(where: { $0.name == node.tensors["weight"] }),
                  let s = run.sites.firstIndex(where: { $0.name == feeding.site }) else { continue }
            for t in 0..<run.stepsRun {
                XCTAssertEqual(run.stepLayerEvents[t * run.layers.count + l],
                               run.stepSiteEvents[t * run.sites.count + s], "\(run.layers[l].name), step \(t)")
            }
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 4 * 4)  // qkv, proj, fc1, fc2 of 4 blocks
        // The patch embedding's events, counted by patchify: at t = 0 the non-zero pixels (the patches tile the
        // image), none after.
        let embedding = try XCTUnwrap(run.layers.firstIndex { $0.name.hasPrefix("patch_embed") })
        let pixels = images.batch(0..<4).scalars.filter { $0 != 0 }.count
        XCTAssertGreaterThan(pixels, 0)
        XCTAssertEqual((0..<run.stepsRun).map { run.stepLayerEvents[$0 * run.layers.count + embedding] },
                       [pixels] + [Int](repeating: 0, count: run.stepsRun - 1))
        XCTAssertGreaterThan(run.layerEvents.reduce(0, +), 0)

        let mst = try ConversionMethods.convert(try ViTImporter.load(Fixtures.bundled("vit-mnist-mst16.h5")),
                                                method: "mst", options: ConversionOptions())
        XCTAssertFalse(SpikingExecutor.valuesSharingIncrements(mst.graph, specs: try mst.graph.validatedSpecs())
            .contains(true))
    }
}
