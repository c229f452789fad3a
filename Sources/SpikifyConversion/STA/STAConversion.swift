import HDF5
import SpikifyCore
import SpikifyModel
import SpikifySpiking

/// Spatio-Temporal Approximation (Jiang et al., "Spatio-Temporal Approximation: A Training-Free SNN Conversion for
/// Transformers", ICLR 2024; docs/methods/sta.md), training-free, for any pretrained ViT:
/// - spatial (§4): GELU, eˣ, 1/x and 1/√x become universal group operators, one-hidden-layer ReLU networks fitted
///   here to each site's input range measured on calibration images; softmax = exp UGO · reciprocal UGO of the
///   row sum (class-token or row-maximum reference), LayerNorm = centred input · 1/√(variance + ε) UGO;
/// - temporal (§5): temporal-corrective products for Q·Kᵀ and A·V (and the other products of running signals);
/// - neurons (§6.1): signed neurons with memory and bursts up to 2θ per step, per-channel MMSE thresholds for T.
/// The analog image and every bias enter on every step and the logits are read as the mean over the steps.
///
/// Method options (``ConversionOptions/methodOptions``): `timesteps` T the thresholds are calibrated for (default
/// 32, the released code's), `softmax_reference` (`cls` or `max`; default cls when the model has a class token),
/// `ugo_neurons` N hidden units per UGO (default 8).
package enum STAMethod: SpikingMethod {
    package static let name = "sta"
    package static let summary = "Spatio-Temporal Approximation: fitted UGOs (GELU, exp, 1/x, 1/√x), temporal-corrective attention, burst neurons; training-free"
    package static var operatorSpecs: [AnyOperatorSpec] { STAOperators.specs }

    /// Calibration images used at most, in batches of 50 (the released code: 6 batches of 50).
    static let calibrationLimit = 300, calibrationBatch = 50
    /// Values sampled per UGO for its fit.
    static let sampleBudget = 20_000

    /// `reference` nil: chosen per model on the calibration images (``chooseReference``).
    struct Settings { var timesteps: Int, reference: SoftmaxReference?, neurons: Int }

    static func settings(_ options: ConversionOptions, config: ViTConfig) throws -> Settings {
        let known: Set<String> = ["timesteps", "softmax_reference", "ugo_neurons"]
        if let unknown = options.methodOptions.keys.sorted().first(where: { !known.contains($0) }) {
            throw SpikifyError.invalidArgument("sta: unknown option '\(unknown)'; known: timesteps, softmax_reference, ugo_neurons")
        }
        let tText = options.methodOptions["timesteps"] ?? "32"
        guard let t = Int(tText), (1...(1 << 20)).contains(t) else {
            throw SpikifyError.invalidArgument("sta: timesteps '\(tText)' is not an integer in 1 … \(1 << 20)")
        }
        let nText = options.methodOptions["ugo_neurons"] ?? "8"
        guard let neurons = Int(nText), (2...4096).contains(neurons) else {
            throw SpikifyError.invalidArgument("sta: ugo_neurons '\(nText)' is not an integer in 2 … 4096")
        }
        let rText = options.methodOptions["softmax_reference"] ?? (config.classToken ? "auto" : "max")
        let reference = SoftmaxReference(rawValue: rText)
        guard reference != nil || rText == "auto" else {
            throw SpikifyError.invalidArgument("sta: softmax reference '\(rText)' is not cls, max or auto")
        }
        if reference == .cls && !config.classToken {
            throw SpikifyError.invalidArgument("sta: the cls softmax reference needs a class token; use max")
        }
        return Settings(timesteps: t, reference: reference, neurons: neurons)
    }

    package static func convert(
        _ model: ViTModel, options: ConversionOptions, progress: ((Int, Int) -> Void)? = nil
    ) throws -> ConvertedModel {
        ConversionMethods.prepare()
        let s = try settings(options, config: model.config)
        guard case .calibrate = options.steps, let all = options.calibrationImages, all.rank == 4, all.shape[0] > 0 else {
            throw SpikifyError.invalidArgument("sta is training-free: it measures UGO ranges and calibrates thresholds "
                + "on images; give calibration images (--calib DATA.h5)")
        }
        let images = all.slice(rows: 0..<min(all.shape[0], calibrationLimit))
        let batches = stride(from: 0, to: images.shape[0], by: calibrationBatch).map {
            images.slice(rows: $0..<min(images.shape[0], $0 + calibrationBatch))
        }
        let candidates = s.reference.map { [$0] } ?? [.cls, .max]
        let total = (candidates.count + 1) * batches.count
        var fitted: [(SoftmaxReference, [String: UGO])] = []
        for (i, r) in candidates.enumerated() {
            fitted.append((r, try fitUGOs(model, reference: r, neurons: s.neurons, batches: batches) {
                progress?(i * batches.count + $0, total)
            }))
        }
        let (choice, note) = chooseReference(model, fitted: fitted, neurons: s.neurons, batches: batches)
        let (reference, ugos) = fitted[choice]
        let thresholds = try calibrateThresholds(model, reference: reference, timesteps: s.timesteps, ugos: ugos,
                                                 batches: batches) {
            progress?(candidates.count * batches.count + $0, total)
        }
        var metadata = options.metadata
        metadata["method"] = name
        metadata["source_file"] = model.source
        metadata["sta_timesteps"] = String(s.timesteps)
        metadata["softmax_reference"] = reference.rawValue
        metadata["ugo_neurons"] = String(s.neurons)
        let graph = STAGraph.build(model, stage: .spiking(reference), ugos: ugos, thresholds: thresholds,
                                   metadata: metadata).graph
        let state = STAState(timesteps: s.timesteps, reference: reference, ugoNeurons: s.neurons, ugos: ugos,
                             calibrationImages: images.shape[0], referenceChoice: note)
        return ConvertedModel(model: model, graph: graph, state: state)
    }

    /// Runs a float stage's graph for one step on each batch and hands each observed value's totals to `observe`.
    /// A batch runs in chunks when the graph's values for a whole batch would not fit the executor (large ViTs);
    /// `observe` still sees the whole batch, so the per-batch statistics do not depend on the chunking.
    static func observe(_ built: STAGraph, values: [String: Int], batches: [Tensor], progress: (Int) -> Void,
                        _ observe: (String, [Float]) -> Void) throws {
        let perSample = built.graph.values.reduce(0) { $0 + $1.perSample }
        let fitting = SpikingGraph.maximumValueElements / max(perSample, 1)
        let chunk = max(1, min(calibrationBatch, fitting))
        let executor = try SpikingExecutor(graph: built.graph, batchCapacity: chunk)
        let names = values.sorted(by: { $0.key < $1.key })
        for (i, batch) in batches.enumerated() {
            var collected: [String: [Float]] = [:]
            for start in stride(from: 0, to: batch.shape[0], by: chunk) {
                let rows = start..<min(batch.shape[0], start + chunk)
                _ = try executor.run(rows.count == batch.shape[0] ? batch : batch.slice(rows: rows), timesteps: 1)
                for (name, value) in names {
                    guard let totals = executor.totals(of: value, batch: rows.count) else { continue }
                    collected[name, default: []] += totals
                }
            }
            for (name, _) in names { if let totals = collected[name] { observe(name, totals) } }
            progress(i + 1)
        }
    }

    /// Measures each UGO's input range on the exact network in the SNN's layout, widens it by 10% on each side
    /// (positive domains for 1/x and 1/√x; eˣ at most the softmax clip), and fits the UGO (``UGO/fit``).
    static func fitUGOs(_ model: ViTModel, reference: SoftmaxReference, neurons: Int, batches: [Tensor],
                        progress: (Int) -> Void) throws -> [String: UGO] {
        let exact = STAGraph.build(model, stage: .exact(reference), ugos: [:], thresholds: [:], metadata: [:])
        var low: [String: Float] = [:], high: [String: Float] = [:], samples: [String: [Float]] = [:]
        let perBatch = max(1, sampleBudget / batches.count)
        try observe(exact, values: exact.ugoInputs, batches: batches, progress: progress) { name, values in
            var lo = low[name] ?? .infinity, hi = high[name] ?? -.infinity
            for v in values { lo = min(lo, v); hi = max(hi, v) }
            (low[name], high[name]) = (lo, hi)
            let stride = max(1, values.count / perBatch)
            samples[name, default: []] += Swift.stride(from: 0, to: values.count, by: stride).map { values[$0] }
        }
        var ugos: [String: UGO] = [:]
        for name in exact.ugoInputs.keys.sorted() {
            guard let lo = low[name], let hi = high[name], lo.isFinite, hi.isFinite else {
                throw SpikifyError.invalidData(file: model.source, message: "sta: the input of \(name) is not finite "
                    + "on the calibration images")
            }
            let f = function(of: name)
            let (a, b) = domain(f, lower: lo, upper: hi, clip: STAGraph.softmaxUpper(reference))
            ugos[name] = UGO.fit(f, lower: a, upper: b, neurons: neurons, samples: samples[name] ?? [])
        }
        return ugos
    }

    /// The function a UGO name stands for (`….gelu`, `….exp`, `….reciprocal`, `….rsqrt`).
    static func function(of name: String) -> UGOFunction {
        UGOFunction(rawValue: String(name.split(separator: ".").last ?? "")) ?? .gelu
    }

    /// A UGO's domain from the measured range [lo, hi]: 10% of the span added on each side; positive for 1/x and
    /// 1/√x (at least half the smallest input); eˣ up to the softmax clip and down to at most −20.
    static func domain(_ f: UGOFunction, lower lo: Float, upper hi: Float, clip: Float) -> (Float, Float) {
        let margin = max(hi - lo, 1e-3) * 0.1
        var a = lo - margin, b = hi + margin
        switch f {
        case .reciprocal, .rsqrt:
            a = max(a, lo * 0.5, 1e-6)
        case .exp:
            b = min(b, clip)
            a = max(a, -20)
            if b - a < 1e-3 { a = b - 1 }
        case .gelu:
            break
        }
        return (a, max(b, a + 1e-3))
    }

    /// Per-channel thresholds of every neuron site from the FNN's activations at the neurons' inputs (rectified
    /// for unsigned neurons, magnitudes for signed ones), MMSE for T with an EMA over batches (``ThresholdSearch``).
    static func calibrateThresholds(_ model: ViTModel, reference: SoftmaxReference, timesteps: Int,
                                    ugos: [String: UGO], batches: [Tensor], progress: (Int) -> Void) throws
        -> [String: [Float]] {
        let float = STAGraph.build(model, stage: .float(reference), ugos: ugos, thresholds: [:], metadata: [:])
        var searches: [String: ThresholdSearch] = [:]
        let inputs = float.neuronInputs.mapValues(\.value)
        try observe(float, values: inputs, batches: batches, progress: progress) { site, values in
            guard let (value, signed) = float.neuronInputs[site] else { return }
            let rectified = signed ? values.map(abs) : values.map { max($0, 0) }
            searches[site, default: ThresholdSearch(timesteps: timesteps)]
                .observe(rectified, width: float.graph.values[value].width)
        }
        return searches.compactMapValues(\.thresholds)
    }

    /// With one candidate, that one; otherwise the softmax reference whose FNN agrees best with the ANN's top-1 on
    /// the calibration images (ties: the first, STA's class-token reference). Returns its index and a note of the
    /// agreements.
    static func chooseReference(_ model: ViTModel, fitted: [(SoftmaxReference, [String: UGO])], neurons: Int,
                                batches: [Tensor]) -> (Int, String) {
        guard fitted.count > 1 else { return (0, "given") }
        let forward = ViTForward(model)
        let ann = batches.map { forward.logits($0).argmaxRows() }
        var agreements: [Double] = []
        for (reference, ugos) in fitted {
            let fnn = STAState.floatNetwork(model, stage: .float(reference), ugos: ugos, name: "fnn", description: "")
            var agree = 0, count = 0
            for (batch, expected) in zip(batches, ann) {
                let predicted = fnn.logits(batch).argmaxRows()
                agree += zip(predicted, expected).filter { $0 == $1 }.count
                count += expected.count
            }
            agreements.append(Double(agree) / Double(max(count, 1)))
        }
        let best = agreements.indices.max { agreements[$0] < agreements[$1] || (agreements[$0] == agreements[$1] && $0 > $1) } ?? 0
        let note = "auto: " + zip(fitted, agreements).map { String(format: "%@ %.1f%%", $0.0.0.rawValue, 100 * $0.1) }
            .joined(separator: ", ") + " FNN top-1 agreement with the ANN on the calibration images"
        return (best, note)
    }

    package static func readState(from group: HDF5Group, file: String, graph: SpikingGraph, model: ViTModel) throws
        -> any MethodState
    {
        try STAState.read(from: group, file: file, graph: graph)
    }
}
