import Foundation
import XCTest
import Spikify
@testable import SpikifyConversion
@testable import SpikifyCore
@testable import SpikifyEvaluation
@testable import SpikifyExport
@testable import SpikifyModel
@testable import SpikifySpiking

/// Burst ST-BIF+ neurons (up to B spikes of one sign per step) and confidence-based early exit (docs/latency.md):
/// for every B the settled network is still the QANN bit for bit; B = 1 is the paper's neuron.
final class BurstTests: XCTestCase {
    private func converted(_ name: String, steps: StepSource = .checkpoint, levels: Int? = nil, burst: Int = 1) throws
        -> (ConvertedModel, ImageDataset)
    {
        let model = try ViTImporter.load(Fixtures.model(name))
        let data = try ImageDataset.load(Fixtures.data(name), for: model.config)
        let options = ConversionOptions(levels: levels, steps: steps, calibrationImages: data.images, burst: burst)
        return (try ConversionMethods.convert(model, method: "spikezip", options: options), data)
    }

    /// Feeds `inputs` one per step, then zeros until a silent step; returns (count, spikes emitted, steps, largest |k|).
    private func settle(_ neuron: inout STBIFNeuron, _ inputs: [Float]) -> (Int32, Int32, Int, Int32) {
        var emitted: Int32 = 0, steps = 0, largest: Int32 = 0
        for x in inputs {
            let k = neuron.step(x)
            emitted += k
            largest = max(largest, abs(k))
            steps += 1
        }
        for _ in 0..<400 {
            let k = neuron.step(0)
            steps += 1
            emitted += k
            largest = max(largest, abs(k))
            if k == 0 { break }
        }
        return (neuron.count, emitted, steps, largest)
    }

    func testBurstNeuronSettlesAtTheSingleSpikeCountForAnyInputOrder() {
        var rng = NeuronTests.SplitMix(state: 7)
        for trial in 0..<3000 {
            let signed = trial % 2 == 0
            let levels = [2, 4, 16, 32][trial % 4]
            let burst = [1, 2, 3, 4, 8, 16, 32][trial % 7]
            guard burst <= levels else { continue }
            let theta = Float.random(in: 0.05...2, using: &rng)
            let q = ActivationQuantizer(step: theta, levels: levels, signed: signed)
            let parts = (0..<Int.random(in: 1...12, using: &rng)).map { _ in Float.random(in: -6...6, using: &rng) * theta }
            let total = parts.reduce(0, +)
            let exact = Double(total) / Double(theta) + 0.5
            if abs(exact - exact.rounded()) < 1e-4 { continue }  // within float error of a tie
            for order in [parts, parts.shuffled(using: &rng), parts.reversed()] {
                var single = STBIFNeuron(threshold: theta, lower: q.lower, upper: q.upper)
                var multi = STBIFNeuron(threshold: theta, lower: q.lower, upper: q.upper, burst: burst)
                let (s1, e1, steps1, largest1) = settle(&single, order)
                let (sB, eB, stepsB, largestB) = settle(&multi, order)
                XCTAssertEqual(sB, s1, "trial \(trial), B \(burst): \(order)")
                XCTAssertEqual(Float(sB), q.level(total), "trial \(trial), B \(burst)")
                XCTAssertEqual(eB, sB)
                XCTAssertEqual(e1, s1)
                XCTAssertLessThanOrEqual(largest1, 1)
                XCTAssertLessThanOrEqual(largestB, Int32(burst))
                // Not asserted: fewer steps. A burst follows the partial sums faster and may have to take spikes
                // back when later inputs reverse them, so a single neuron can settle a step sooner (docs/latency.md).
                _ = (stepsB, steps1)
            }
        }
    }

    func testBurstOneIsTheSingleSpikeRuleAndLargerBurstsNeverOvershoot() {
        for u: Float in [-1e30, -5.5, -1, -0.25, 0, 0.5, 0.999, 1, 1.5, 7.2, 1e30] {
            for (count, lower, upper): (Int32, Int32, Int32) in [(0, -8, 7), (7, -8, 7), (-8, -8, 7), (3, 0, 15)] {
                let old: Int32 = u >= 1 && count < upper ? 1 : (u < 0 && count > lower ? -1 : 0)
                XCTAssertEqual(STBIFNeuron.fire(u, count: count, lower: lower, upper: upper, burst: 1), old, "u \(u)")
                for b: Int32 in [2, 4, 16] {
                    let k = STBIFNeuron.fire(u, count: count, lower: lower, upper: upper, burst: b)
                    XCTAssertLessThanOrEqual(abs(k), b)
                    XCTAssertTrue((lower...upper).contains(count + k))
                    if k > 0 { XCTAssertGreaterThanOrEqual(u - Float(k), 0) }
                    if k < 0 { XCTAssertLessThan(u - Float(k), 1) }
                    XCTAssertEqual(k == 0, old == 0, "fires exactly when the single-spike neuron fires")
                }
            }
        }
        var neuron = STBIFNeuron(threshold: 0.5, lower: -8, upper: 7, burst: 4)
        XCTAssertEqual(neuron.step(100), 4)  // a huge input gives at most B spikes per step
        XCTAssertEqual(neuron.step(0), 3)  // and stops at the upper bound
        XCTAssertEqual(neuron.step(0), 0)
    }

    func testSettledBurstSNNEqualsQANNOnCheckpointAndCalibratedModels() throws {
        var cases: [(String, ConvertedModel, ImageDataset)] = []
        for name in ["spikezip_qann_relu", "spikezip_qann_gelu"] {
            let (c, data) = try converted(name)
            cases.append((name, c, data))
        }
        let (calibrated, data) = try converted("timm_gelu_token", steps: .calibrate(.mse), levels: 16)
        cases.append(("timm_gelu_token calibrated", calibrated, data.subset(0..<4)))
        for (name, base, data) in cases {
            let qann = QuantizedViT(forward: ViTForward(base.model), plan: base.plan!).logits(data.images)
            var settleMax: [Int] = []
            for burst in [1, 2, 4, 16] {
                let c = try base.withBurst(burst)
                XCTAssertEqual(c.burst, burst)
                let run = try SpikingExecutor(graph: c.graph, batchCapacity: data.count).run(data.images, timesteps: 512)
                XCTAssertTrue(run.settleSteps.allSatisfy { $0 != nil }, "\(name) B \(burst): every sample settles")
                XCTAssertEqual(run.logits.scalars, qann.scalars, "\(name) B \(burst): bit-identical to the QANN")
                XCTAssertLessThanOrEqual(run.stepSiteLargestSpike.max() ?? 0, burst)
                for (spikes, events) in zip(run.stepSiteSpikes, run.stepSiteEvents) {
                    XCTAssertLessThanOrEqual(events, spikes)
                    XCTAssertLessThanOrEqual(spikes, events * burst)
                }
                if burst == 1 { XCTAssertEqual(run.stepSiteSpikes, run.stepSiteEvents) }
                if burst > 1 { XCTAssertGreaterThan(run.stepSiteLargestSpike.max() ?? 0, 1, "\(name): bursts are used") }
                settleMax.append(run.settleSteps.compactMap { $0 }.max() ?? 0)
            }
            XCTAssertLessThan(settleMax.last!, settleMax.first!, "\(name): B = 16 settles sooner than B = 1 (\(settleMax))")
        }
    }

    func testBurstOneGraphRunsBitForBitAsBefore() throws {
        // B = 1 through the conversion option, the override and an absent attribute (older files) are one network.
        let (c, data) = try converted("spikezip_qann_relu_avg")
        var legacy = c.graph
        for i in legacy.nodes.indices { legacy.nodes[i].attributes["burst"] = nil }
        let a = try SpikingExecutor(graph: c.graph, batchCapacity: 4).run(data.batch(0..<4), timesteps: 64)
        let b = try SpikingExecutor(graph: legacy, batchCapacity: 4).run(data.batch(0..<4), timesteps: 64)
        let o = try SpikingExecutor(graph: try c.withBurst(1).graph, batchCapacity: 4).run(data.batch(0..<4), timesteps: 64)
        for other in [b, o] {
            XCTAssertEqual(a.logits.scalars, other.logits.scalars)
            XCTAssertEqual(a.predictions, other.predictions)
            XCTAssertEqual(a.stepSiteSpikes, other.stepSiteSpikes)
            XCTAssertEqual(a.settleSteps, other.settleSteps)
        }
    }

    func testBurstIsValidatedSavedAndRead() throws {
        let (c, data) = try converted("spikezip_qann_gelu", burst: 4)
        XCTAssertEqual(c.burst, 4)
        XCTAssertEqual(c.graph.metadata["burst"], "4")
        XCTAssertEqual(c.methodDescription["burst"], "4")
        XCTAssertTrue(c.graph.nodes.filter { $0.kind == STBIFSpec.kind }.allSatisfy { $0.attributes["burst"] == .int(4) })
        assertSpikifyError(["--burst", "17", "1 … 16"]) { _ = try c.withBurst(17) }
        assertSpikifyError(["--burst", "0"]) { _ = try c.withBurst(0) }
        var broken = c.graph
        if let i = broken.nodes.firstIndex(where: { $0.kind == STBIFSpec.kind }) { broken.nodes[i].attributes["burst"] = .int(99) }
        assertSpikifyError(["spikezip.stbif", "burst", "1…16"]) { try broken.validate() }

        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("snn.h5").path
        try ConvertedModelFile.write(c, to: path)
        let loaded = try ConvertedModelFile.read(path)
        XCTAssertEqual(loaded.burst, 4)
        XCTAssertEqual(loaded.graph.nodes, c.graph.nodes)
        let a = try SpikingExecutor(graph: c.graph, batchCapacity: 3).run(data.batch(0..<3), timesteps: 30)
        let b = try SpikingExecutor(graph: loaded.graph, batchCapacity: 3).run(data.batch(0..<3), timesteps: 30)
        XCTAssertEqual(a.logits.scalars, b.logits.scalars)
        XCTAssertEqual(a.stepSiteLargestSpike, b.stepSiteLargestSpike)
        // A file whose /spikezip burst disagrees with its neurons, or exceeds the levels, is refused by name.
        for (stateBurst, fragments) in [(2, ["spikezip.stbif", "burst differs", "(2)"]), (99, ["/spikezip", "'burst'", "1 … 16"])] {
            let bad = ConvertedModel(model: c.model, graph: c.graph,
                                     state: SpikeZIPState(plan: c.plan!, stepSource: "checkpoint", burst: stateBurst))
            let badPath = dir.appendingPathComponent("bad-\(stateBurst).h5").path
            try ConvertedModelFile.write(bad, to: badPath)
            assertSpikifyError([badPath] + fragments) { _ = try ConvertedModelFile.read(badPath) }
        }
    }

    func testEarlyExitPolicyOnASmallCase() throws {
        XCTAssertEqual(try ExitPolicy(parsing: "stable:2,margin:1").description, "stable:2,margin:1")
        XCTAssertEqual(try ExitPolicy(parsing: "margin:0.5,stable:3"), try ExitPolicy(stableSteps: 3, margin: 0.5))
        XCTAssertNil(try ExitPolicy(parsing: "stable:3").margin)
        for bad in ["", "stable", "stable:0", "stable:x", "margin:1", "stable:2,margin:nan", "stable:2,stable:3", "fast:2"] {
            assertSpikifyError(["--exit-when"]) { _ = try ExitPolicy(parsing: bad) }
        }
        let (c, data) = try converted("spikezip_qann_relu")
        let images = data.batch(0..<6)
        let executor = try SpikingExecutor(graph: c.graph, batchCapacity: 6)
        let plain = try executor.run(images, timesteps: 256)
        let policy = try ExitPolicy(stableSteps: 2)
        let run = try executor.run(images, timesteps: 256, exitPolicy: policy)
        // The policy only records: every other result is unchanged.
        XCTAssertEqual(run.logits.scalars, plain.logits.scalars)
        XCTAssertEqual(run.predictions, plain.predictions)
        XCTAssertEqual(run.settleSteps, plain.settleSteps)
        XCTAssertTrue(plain.exitSteps.isEmpty)
        // The exit is the first step n with the same prediction after n, n − 1 and n − 2 steps, or quiescence.
        for s in 0..<6 {
            let quiet = run.settleSteps[s]! + 1
            var expected = quiet
            func prediction(_ n: Int) -> Int { Array(run.predictions(afterSteps: n))[s] }
            for n in stride(from: 3, to: quiet, by: 1) {
                let p = prediction(n)
                if prediction(n - 1) == p && prediction(n - 2) == p { expected = n; break }
            }
            XCTAssertEqual(run.exitSteps[s], expected, "sample \(s)")
            XCTAssertEqual(run.exitPredictions[s], prediction(expected))
        }
        XCTAssertTrue(zip(run.exitSteps, run.stepsActive).contains { ($0 ?? $1) < $1 }, "someone leaves early")
        // An unreachable margin: every sample leaves when it goes quiet, with its exact prediction.
        let strict = try executor.run(images, timesteps: 256, exitPolicy: try ExitPolicy(stableSteps: 1, margin: 1e9))
        XCTAssertEqual(strict.exitSteps, strict.stepsActive.map { Optional($0) })
        XCTAssertEqual(strict.exitPredictions, Array(strict.predictions(afterSteps: strict.stepsRun)))
        // Independent of batch composition: one by one gives the same exits.
        let single = try SpikingExecutor(graph: c.graph, batchCapacity: 1)
        for s in 0..<6 {
            let alone = try single.run(data.batch(s..<(s + 1)), samples: [s], timesteps: 256, exitPolicy: policy)
            XCTAssertEqual(alone.exitSteps[0], run.exitSteps[s])
            XCTAssertEqual(alone.exitPredictions[0], run.exitPredictions[s])
        }
    }

    func testReportCountsSpikesEventsAndEarlyExit() throws {
        let (base, data) = try converted("spikezip_qann_relu")
        var reports: [Int: EvaluationReport] = [:]
        for burst in [1, 4] {
            let options = SpikingEvaluation.Options(timesteps: 64, untilQuiet: true, batchSize: 3,
                                                    exitPolicy: try ExitPolicy(stableSteps: 2, margin: 0.5))
            reports[burst] = try SpikingEvaluation.run(try base.withBurst(burst), data: data, options: options)
        }
        let r1 = reports[1]!, r4 = reports[4]!
        XCTAssertEqual(r1.burst, 1)
        XCTAssertEqual(r4.burst, 4)
        XCTAssertEqual(r1.snn.spikesPerImage, r1.snn.spikeEventsPerImage)
        XCTAssertLessThan(r4.snn.spikeEventsPerImage!, r4.snn.spikesPerImage!)
        XCTAssertEqual(r4.snn.spikesPerImage!, Double(r4.sites.reduce(0) { $0 + $1.spikes }) / Double(r4.samples), accuracy: 1e-9)
        XCTAssertEqual(r4.snn.agreementWithQANN?.last, 1.0)
        XCTAssertGreaterThan(r4.sites.flatMap(\.maxSpikePerStep).max() ?? 0, 1)
        let e = try XCTUnwrap(r4.snn.earlyExit)
        XCTAssertEqual(e.policy, "stable:2,margin:0.5")
        XCTAssertEqual(e.meanSteps + e.meanStepsSaved, e.meanStepsUntilQuiet, accuracy: 1e-9)
        XCTAssertEqual(e.agreementWithReferenceUntilQuiet, 1.0)
        let json = try JSONSerialization.jsonObject(with: try r4.json()) as! [String: Any]
        let snn = json["snn"] as! [String: Any]
        for key in ["spikes_per_image", "spike_events_per_image", "early_exit"] { XCTAssertNotNil(snn[key], key) }
        XCTAssertEqual(json["burst"] as? Int, 4)
        let site = (json["sites"] as! [[String: Any]])[0]
        for key in ["spikes_per_step", "events_per_step", "max_spike_per_step"] { XCTAssertNotNil(site[key], key) }
        // Shard accumulators with an exit policy merge exactly.
        let options = SpikingEvaluation.Options(timesteps: 64, batchSize: 3, keepAccumulator: true,
                                                exitPolicy: try ExitPolicy(stableSteps: 2, margin: 0.5))
        let c4 = try base.withBurst(4)
        var merged = try SpikingEvaluation.accumulate(c4, range: 0..<4, options: options) { data.subset($0) }
        try merged.merge(try SpikingEvaluation.accumulate(c4, range: 4..<data.count, options: options) { data.subset($0) })
        let whole = try SpikingEvaluation.accumulate(c4, range: 0..<data.count, options: options) { data.subset($0) }
        XCTAssertEqual(merged.earlyExit, whole.earlyExit)
        var other = whole
        other.earlyExit?.policy = "stable:3"
        var target = try SpikingEvaluation.accumulate(c4, range: 0..<4, options: options) { data.subset($0) }
        other.slices = [[4, data.count]]
        assertSpikifyError(["exit policies"]) { try target.merge(other) }
    }

    func testCLIBurstAndExitFlags() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        let model = Fixtures.model("spikezip_qann_relu"), data = Fixtures.data("spikezip_qann_relu")
        let convert = try runSpikify(["convert", "--model", model, "--out", path("b4.h5"), "--burst", "4"])
        XCTAssertEqual(convert.status, 0, convert.err)
        XCTAssertTrue(convert.out.contains("burst 4"), convert.out)
        XCTAssertEqual(try ConvertedModelFile.read(path("b4.h5")).burst, 4)
        // A sweep over a converted file: one block and one report per B.
        let sweep = try runSpikify(["eval", "--model", path("b4.h5"), "--data", data, "--burst", "1,2,16", "--until-quiet",
                                    "--timesteps", "128", "--exit-when", "stable:2,margin:1", "--report", path("r.json")])
        XCTAssertEqual(sweep.status, 0, sweep.err)
        for b in [1, 2, 16] {
            XCTAssertTrue(sweep.out.contains("== burst \(b)"), sweep.out)
            let r = try EvaluationReport.read(path("r-burst\(b).json"))
            XCTAssertEqual(r.burst, b)
            XCTAssertEqual(r.snn.agreementWithQANN?.last, 1.0)
            XCTAssertEqual(r.snn.earlyExit?.policy, "stable:2,margin:1")
            XCTAssertEqual(r.provenance?.conversion["burst"], String(b))
        }
        XCTAssertTrue(sweep.out.contains("early exit stable:2,margin:1"), sweep.out)
        XCTAssertTrue(sweep.out.contains("spike events per image"), sweep.out)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("r.json")))
        // In-memory conversion with one B: the report keeps its name.
        let single = try runSpikify(["eval", "--model", model, "--method", "spikezip", "--data", data, "--burst", "8",
                                     "--timesteps", "16", "--limit", "4", "--report", path("one.json")])
        XCTAssertEqual(single.status, 0, single.err)
        XCTAssertEqual(try EvaluationReport.read(path("one.json")).burst, 8)
        // Errors name the flag and what was expected.
        for (arguments, fragment) in [
            (["eval", "--model", path("b4.h5"), "--data", data, "--burst", "0"], "--burst"),
            (["eval", "--model", path("b4.h5"), "--data", data, "--burst", "2,x"], "--burst"),
            (["eval", "--model", path("b4.h5"), "--data", data, "--burst", "4,32"], "1 … 16"),
            (["eval", "--model", path("b4.h5"), "--data", data, "--exit-when", "stable:0"], "--exit-when"),
            (["convert", "--model", model, "--out", path("x.h5"), "--burst", "1,2"], "one value"),
        ] {
            let r = try runSpikify(arguments)
            XCTAssertNotEqual(r.status, 0, arguments.joined(separator: " "))
            XCTAssertTrue(r.err.contains(fragment), "\(arguments): \(r.err)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.h5")))
    }
}
