import Foundation
import Spikify

/// ANN throughput of the ViT-Tiny and ViT-Small geometries (random weights), per batch size; tools/bench.sh puts
/// PyTorch's next to it.
func annSection(batches: [Int], seconds: Double) {
    for (name, config) in [("vit_tiny", Geometry.tiny), ("vit_small", Geometry.small)] {
        let forward = ViTForward(randomViT(config))
        for b in batches {
            let x = randomImages(config, batch: b)
            let t = medianSeconds(seconds: seconds) { _ = forward.logits(x) }
            print(String(format: "ann %@ batch %d images_per_s %.2f ms_per_image %.3f", name, b, Double(b) / t,
                         1000 * t / Double(b)))
        }
    }
}

/// The bundled QAT QANN: the SNN until quiet (and capped at T = 32, the SpikingJelly comparison) against the ANN on
/// the same images in the same run, the exactness of the settled logits, and where the SNN's time goes.
func bundledSection(model path: String, data: String, batch: Int, images count: Int, seconds: Double) throws {
    let model = try ViTImporter.load(path)
    let dataset = try ImageDataset.load(data, for: model.config)
    let c = try ConversionMethods.convert(model, method: "spikezip", options: ConversionOptions(steps: .checkpoint))
    let n = min(count, dataset.count)
    let batches = stride(from: 0, to: n, by: batch).map { dataset.batch($0..<min(n, $0 + batch)) }
    let ann = ViTForward(model)
    let annTime = medianSeconds(seconds: seconds) { for x in batches { _ = ann.logits(x) } } / Double(n)
    // The default single-spike neurons, then burst spikes (an explicit option, exact at quiescence too).
    let reference = c.reference  // (one QANN for all modes: each `reference` is a new network)
    for b in [1, 4, 8, c.levels ?? 16] {
        try bundledRuns(b == 1 ? c.graph : try c.withBurst(b).graph, reference: reference, burst: b,
                        batches: batches, images: n, batch: batch, annTime: annTime, seconds: seconds)
    }
}

/// The bundled QANN's SNN with burst spikes of up to `burst` per step (1: SpikeZIP-TF's neurons, the default; more:
/// `--burst B`, docs/latency.md): until quiet and at T = 32 against the ANN, agreement and max |Δlogit| against the
/// QANN (0 in every mode), time by operator.
private func bundledRuns(_ graph: SpikingGraph, reference: ReferenceNetwork, burst: Int, batches: [Tensor],
                         images n: Int, batch: Int, annTime: Double, seconds: Double) throws {
    let executor = try SpikingExecutor(graph: graph, batchCapacity: batch)
    // Single spikes where the packed kernel runs: also with the linear layers on OpenBLAS, measured in turn.
    let openBLAS = burst == 1 && PackedLinear.available
        ? try SpikingExecutor(graph: graph, batchCapacity: batch, packedWeights: false) : nil
    let untilQuiet = alternatingMedianSeconds(seconds: seconds, [executor, openBLAS].compactMap { $0 }.map { e in
        { for x in batches { _ = try? e.run(x, timesteps: 256) } }
    }).map { $0 / Double(n) }
    let quiet = untilQuiet[0]
    let capped = medianSeconds(seconds: seconds) { for x in batches { _ = try? executor.run(x, timesteps: 32) } }
        / Double(n)
    // Settled logits against the reference (QANN) logits, and the steps run.
    var agree = 0, maxDelta: Float = 0, steps = 0
    for x in batches {
        let run = try executor.run(x, timesteps: 256)
        let logits = reference.logits(x)
        agree += zip(run.logits.argmaxRows(), logits.argmaxRows()).filter { $0 == $1 }.count
        maxDelta = max(maxDelta, run.logits.maxAbsDifference(logits))
        steps = max(steps, run.stepsRun)
    }
    let tag = burst == 1 ? "snn bundled_qann" : "snn bundled_qann burst \(burst)"
    print(String(format: "%@ batch %d images %d until_quiet ms_per_image %.3f ann_ms_per_image %.4f "
                 + "ratio %.1f steps %d", tag, batch, n, 1000 * quiet, 1000 * annTime, quiet / annTime, steps))
    if untilQuiet.count > 1 {
        print(String(format: "%@ linear_on_openblas until_quiet ms_per_image %.3f packed_speedup %.2f", tag,
                     1000 * untilQuiet[1], untilQuiet[1] / quiet))
    }
    print(String(format: "%@ batch %d T 32 ms_per_image %.3f", tag, batch, 1000 * capped))
    print(String(format: "%@ exact agreement_with_qann %.1f%% max_abs_dlogit %g", tag, 100 * Double(agree) / Double(n),
                 maxDelta))
    executor.timesOperators = true
    for x in batches { _ = try executor.run(x, timesteps: 256) }
    print("\(tag) time_by_operator " + timeByOperator(executor))
}

/// The executor's time by operator kind (``SpikingExecutor/operatorSeconds``) as shares, largest first.
private func timeByOperator(_ executor: SpikingExecutor) -> String {
    let all = executor.operatorSeconds.values.reduce(0, +)
    return executor.operatorSeconds.sorted { $0.value > $1.value }
        .map { String(format: "%@ %.0f%%", $0.key, 100 * $0.value / all) }.joined(separator: ", ")
}

/// ViT-Tiny geometry (random weights, 16 calibrated levels): one simulated step against one ANN forward at the same
/// batch, and the peak RSS of each (separate processes, ``rssProbe(_:batch:steps:)``).
func tinyStepSection(batch: Int, steps: Int, seconds: Double) throws {
    let model = randomViT(Geometry.tiny)
    let x = randomImages(Geometry.tiny, batch: batch)
    let c = try calibratedSNN(model, images: x)
    let ann = ViTForward(model)
    let annTime = medianSeconds(seconds: seconds) { _ = ann.logits(x) }
    let executor = try SpikingExecutor(graph: c.graph, batchCapacity: batch)
    // Where the packed kernel runs, the same step with the linear layers on OpenBLAS, measured in turn with it.
    let openBLAS = PackedLinear.available
        ? try SpikingExecutor(graph: c.graph, batchCapacity: batch, packedWeights: false) : nil
    let times = alternatingMedianSeconds(seconds: seconds, runs: 2, [executor, openBLAS].compactMap { $0 }.map { e in
        { _ = try? e.run(x, timesteps: steps) }
    }).map { $0 / Double(steps) }
    let snnTime = times[0]
    print(String(format: "tiny_step batch %d steps %d ms_per_step %.1f ann_ms_per_forward %.1f step_per_ann %.2f",
                 batch, steps, 1000 * snnTime, 1000 * annTime, snnTime / annTime))
    if times.count > 1 {
        print(String(format: "tiny_step linear_on_openblas ms_per_step %.1f packed_speedup %.2f",
                     1000 * times[1], times[1] / snnTime))
    }
    executor.timesOperators = true
    _ = try executor.run(x, timesteps: steps)
    print("tiny_step time_by_operator " + timeByOperator(executor))
    executor.timesOperators = false
    // Whole runs, with single spikes and with burst spikes (an explicit option, exact at quiescence too: the same
    // images settle in fewer steps).
    let reference = c.reference  // (one QANN for all modes: each `reference` is a new network)
    for b in [1, 4, 8, c.levels ?? 16] {
        try tinyRuns(b == 1 ? executor : SpikingExecutor(graph: try c.withBurst(b).graph, batchCapacity: batch),
                     burst: b, x: x, reference: reference, steps: steps, annTime: annTime, seconds: seconds)
    }
    let state = executor.valueStateBytes, mb = { (bytes: Int) in Double(bytes) / 1_048_576 }
    print(String(format: "tiny_state batch %d totals_mb %.0f counted_totals_mb %.0f counted_values %d "
                 + "tabulated_values %d kept_increments_mb %.0f shared_increments_mb %.0f transient_totals_mb %.0f "
                 + "transient_values %d",
                 batch, mb(state.totals), mb(state.countedTotals), executor.countedValues, executor.tabulatedValues,
                 mb(state.keptIncrements), mb(state.sharedIncrements), mb(state.transientTotals),
                 executor.transientValues))
    let annRSS = try runSelf(["--rss-probe", "ann", "--batch", String(batch)]).trimmingCharacters(in: .whitespacesAndNewlines)
    let snnRSS = try runSelf(["--rss-probe", "snn", "--batch", String(batch)]).trimmingCharacters(in: .whitespacesAndNewlines)
    if let a = Double(annRSS), let s = Double(snnRSS) {
        print(String(format: "tiny_rss batch %d predict_peak_mb %.0f snn_peak_mb %.0f ratio %.2f", batch, a, s, s / a))
    }
}

/// One ViT-Tiny run mode (single spikes, or burst spikes of up to `burst`): the first `steps` steps, a run until
/// every sample is quiet (quiet samples leave the batch, so later steps cost less) and a run of T = 32, in ANN
/// forwards overall and per step, measured in turn; and max |Δlogit| of the settled logits against the QANN's.
private func tinyRuns(_ executor: SpikingExecutor, burst: Int, x: Tensor, reference: ReferenceNetwork, steps: Int,
                      annTime: Double, seconds: Double) throws {
    var quietSteps = 0
    let times = alternatingMedianSeconds(seconds: seconds, runs: 2, [
        { _ = try? executor.run(x, timesteps: steps) },
        { quietSteps = (try? executor.run(x, timesteps: 1024))?.stepsRun ?? 0 },
        { _ = try? executor.run(x, timesteps: 32) },
    ])
    let maxDelta = try executor.run(x, timesteps: 1024).logits.maxAbsDifference(reference.logits(x))
    print(String(format: "tiny_burst %d batch %d first_%d_steps_step_per_ann %.2f until_quiet_steps %d "
                 + "until_quiet_ann_forwards %.1f until_quiet_step_per_ann %.2f T32_ann_forwards %.1f "
                 + "T32_step_per_ann %.2f max_abs_dlogit %g", burst, x.shape[0], steps,
                 times[0] / Double(steps) / annTime, quietSteps, times[1] / annTime,
                 times[1] / Double(Swift.max(quietSteps, 1)) / annTime, times[2] / annTime,
                 times[2] / 32 / annTime, maxDelta))
}

/// Peak RSS (MB) of one ViT-Tiny ANN forward or SNN run of `steps` steps at `batch`, with the model (and, for the
/// SNN, its calibration) made first: the peak is reset (`/proc/self/clear_refs`) before the measured phase.
func rssProbe(_ kind: String, batch: Int, steps: Int) throws -> Double {
    let model = randomViT(Geometry.tiny)
    let x = randomImages(Geometry.tiny, batch: batch)
    let c = kind == "snn" ? try calibratedSNN(model, images: x) : nil
    try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    if let c {
        let executor = try SpikingExecutor(graph: c.graph, batchCapacity: batch)
        _ = try executor.run(x, timesteps: steps)
    } else {
        _ = ViTForward(model).logits(x)
    }
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    if let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
       let kb = Double(line.split(separator: " ").dropFirst().first ?? "") {
        return kb / 1024
    }
    return peakRSSMegabytes()
}
