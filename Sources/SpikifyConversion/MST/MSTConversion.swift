import HDF5
import SpikifyCore
import SpikifyModel
import SpikifySpiking

/// Masked Spiking Transformer conversion (Wang et al., "Masked Spiking Transformer", ICCV 2023; docs/methods/mst.md),
/// adapted to ViTs. The reference network is a QCFS network (Bu et al., ICLR 2022): a QCFS activation with one
/// threshold λ per site after the patch embedding, norm1, q, k, v, the scaled scores, attn·v, proj, norm2, fc1 and
/// fc2. Each QCFS becomes integrate-and-fire neurons with threshold λ, reset by subtraction and a λ/2 precharge;
/// the analog image and every bias enter on every step; BatchNorm/LayerNorm, softmax and the attention products act
/// on each step's values (§3.2); the logits are summed over the steps. Random spike masking (§3.3) drops Q, K and
/// score spikes (optionally the MLP inputs) with probability p, from counter-based random bits.
///
/// Method options (``ConversionOptions/methodOptions``): `mode` (``MSTMode``), `mask_ratio` p ∈ [0, 1),
/// `mask_sites` (``MaskSites``).
package enum MSTMethod: SpikingMethod {
    package static let name = "mst"
    package static let summary = "Masked Spiking Transformer: QCFS network → IF neurons, per-step attention, random spike masks"
    package static var operatorSpecs: [AnyOperatorSpec] { MSTOperators.specs }

    /// Parses and checks the method options.
    static func settings(_ options: ConversionOptions) throws -> (mode: MSTMode, ratio: Double, sites: MaskSites) {
        let known: Set<String> = ["mode", "mask_ratio", "mask_sites"]
        if let unknown = options.methodOptions.keys.sorted().first(where: { !known.contains($0) }) {
            throw SpikifyError.invalidArgument("mst: unknown option '\(unknown)'; known: mode, mask_ratio, mask_sites")
        }
        let modeName = options.methodOptions["mode"] ?? MSTMode.standard.rawValue
        guard let mode = MSTMode(rawValue: modeName) else {
            throw SpikifyError.invalidArgument("mst: mode '\(modeName)' is not one of "
                + MSTMode.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let ratioText = options.methodOptions["mask_ratio"] ?? "0"
        guard let ratio = Double(ratioText), ratio >= 0, ratio < 1 else {
            throw SpikifyError.invalidArgument("mst: mask ratio '\(ratioText)' is not a number in [0, 1)")
        }
        let sitesName = options.methodOptions["mask_sites"] ?? MaskSites.attention.rawValue
        guard let sites = MaskSites(rawValue: sitesName) else {
            throw SpikifyError.invalidArgument("mst: mask sites '\(sitesName)' is not attention or attention+mlp")
        }
        return (mode, ratio, sites)
    }

    /// Which sites carry signed values in `mode`: none in the MST modes (QCFS clips at 0); in the signed modes every
    /// site but fc1 of a ReLU MLP (the ReLU makes it unsigned).
    static func signedSites(depth: Int, mode: MSTMode, activation: Activation) -> Set<Site> {
        guard mode.isSigned else { return [] }
        return Set(Site.qcfs(depth: depth).filter { !($0.kind == .fc1 && activation == .relu) })
    }

    package static func convert(
        _ model: ViTModel, options: ConversionOptions, progress: ((Int, Int) -> Void)? = nil
    ) throws -> ConvertedModel {
        ConversionMethods.prepare()
        let c = model.config
        let (mode, ratio, maskSites) = try settings(options)
        let levels = options.levels ?? c.levels ?? 16
        guard (1...(1 << 24)).contains(levels) else {
            throw SpikifyError.invalidConfig(file: model.source, message: "levels is \(levels); expected 1 … \(1 << 24)")
        }
        let signed = signedSites(depth: c.depth, mode: mode, activation: c.activation)
        var state = MSTState(thresholds: [:], signedSites: signed, levelCount: levels, mode: mode, maskingRatio: ratio,
                             maskSites: maskSites, seed: options.seed, thresholdSource: "checkpoint")
        switch options.steps {
        case .checkpoint:
            let wanted = Site.qcfs(depth: c.depth)
            let missing = wanted.filter { model.weights.qcfsThresholds[$0] == nil }
            guard missing.isEmpty else {
                throw SpikifyError.invalidArgument("\(model.source) has no QCFS thresholds for "
                    + "\(missing.count == wanted.count ? "any site" : missing.map(\.name).joined(separator: ", ")) "
                    + "(it is not an MST-trained checkpoint); give calibration images (--calib DATA.h5)")
            }
            state.thresholds = model.weights.qcfsThresholds
        case .calibrate(let method, let order):
            guard let images = options.calibrationImages else {
                throw SpikifyError.invalidArgument("calibration needs images (--calib DATA.h5)")
            }
            state.thresholds = calibrate(ViTForward(model), images: images, state: state, method: method, order: order,
                                         batchSize: options.batchSize, progress: progress)
            state.thresholdSource = "calibrated"
        }
        var metadata = options.metadata
        metadata["method"] = name
        metadata["levels"] = String(levels)
        metadata["source_file"] = model.source
        metadata["thresholds"] = state.thresholdSource
        metadata["mst_mode"] = mode.rawValue
        metadata["masking_ratio"] = String(ratio)
        let graph = buildGraph(model, state: state, metadata: metadata)
        return ConvertedModel(model: model, graph: graph, state: state)
    }

    /// Training-free thresholds: each site's λ from its activations (max, percentile or MSE). `.sequential` runs
    /// all images as one batch with upstream sites already QCFS-quantized (and masked in expectation);
    /// `.parallel` observes the float ANN in batches.
    static func calibrate(_ forward: ViTForward, images: Tensor, state: MSTState, method: CalibrationMethod,
                          order: CalibrationOrder, batchSize: Int, progress: ((Int, Int) -> Void)?,
                          sampleBudget: Int = 200_000) -> [Site: Float] {
        let rule: ThresholdCalibration
        switch method {
        case .mse: rule = .mse
        case .percentile(let p): rule = p >= 100 ? .max : .percentile(p)
        }
        let sites = Set(Site.qcfs(depth: forward.config.depth))
        func choose(_ site: Site, _ values: [Float]) -> Float {
            rule.threshold(for: values, levels: state.levelCount, signed: state.signedSites.contains(site))
        }
        return StepCalibration.observeSites(forward, images: images, sites: sites, order: order, batchSize: batchSize,
                                            sampleBudget: sampleBudget, progress: progress, choose: choose) {
            site, lambda, values in
            QCFS(threshold: lambda, levels: state.levelCount, signed: state.signedSites.contains(site))
                .apply(values, keep: state.isMasked(site) ? state.keep : 1)
        }
    }

    package static func readState(from group: HDF5Group, file: String, graph: SpikingGraph, model: ViTModel) throws
        -> any MethodState
    {
        try MSTState.read(from: group, file: file, graph: graph)
    }

    /// The spiking graph, operator by operator in the ANN's order (MST Fig. 2 adapted to a pre-norm ViT).
    static func buildGraph(_ model: ViTModel, state: MSTState, metadata: [String: String]) -> SpikingGraph {
        ConversionMethods.prepare()
        let c = model.config
        let d = c.embedDim, n = c.tokenCount, p = c.patchCount, h = c.numHeads
        let input = state.mode.nonlinearityInput.rawValue
        var g = SpikingGraphBuilder()
        let tensors = model.weights.canonicalTensors(config: c)
        func t(_ name: String) -> String? {
            guard let x = tensors[name] else { return nil }
            return g.tensor(name, x)
        }
        func neuron(_ value: Int, _ site: Site) -> Int {
            let info = g.info(value)
            return g.add(IntegrateFireSpec.kind, [value], output: site.name, rows: info.rows, width: info.width,
                         attributes: ["threshold": .float(state.thresholds[site] ?? 1),
                                      "signed": .bool(state.signedSites.contains(site)),
                                      "keep": .float(state.isMasked(site) ? state.keep : 1)],
                         site: site.name)
        }
        func linear(_ value: Int, _ name: String, out width: Int) -> Int {
            let weight = t(name + ".weight") ?? name + ".weight", bias = t(name + ".bias")
            return g.addStepLinear(value, name, out: width, weight: weight, bias: bias)
        }
        func layerNorm(_ value: Int, _ name: String) -> Int {
            let info = g.info(value)
            return g.add(StepLayerNormSpec.kind, [value], output: name + ".out", rows: info.rows, width: info.width,
                         tensors: ["weight": t(name + ".weight") ?? "", "bias": t(name + ".bias") ?? ""],
                         attributes: ["eps": .float(c.layerNormEps), "input": .string(input)])
        }
        func blockNorm(_ value: Int, _ name: String) -> Int {
            guard let bn = c.blockBatchNorm else { return layerNorm(value, name) }
            let info = g.info(value)
            var roles: [String: String] = [:]
            for role in ["weight", "bias", "running_mean", "running_var"] { roles[role] = t(name + "." + role) ?? "" }
            return g.add(StepBatchNormSpec.kind, [value], output: name + ".out", rows: info.rows, width: info.width,
                         tensors: roles, attributes: ["eps": .float(bn.eps)])
        }

        let image = g.value("image", rows: c.channels, width: c.imageSize * c.imageSize)
        let patches = g.add(StepPatchifySpec.kind, [image], output: "patches", rows: p, width: c.patchFeatures,
                            attributes: ["channels": .int(c.channels), "image_size": .int(c.imageSize),
                                         "patch": .int(c.patchSize)])
        let embedded = neuron(linear(patches, "patch_embed.proj", out: d), Site(.patchEmbed))
        var embedTensors = ["position": t("pos_embed") ?? ""]
        if let cls = t("cls_token") { embedTensors["class_token"] = cls }
        var x = g.add(StepEmbedTokensSpec.kind, [embedded], output: "tokens", rows: n, width: d, tensors: embedTensors)
        for i in 0..<c.depth {
            let b = "blocks.\(i)."
            let h1 = neuron(blockNorm(x, b + "norm1"), Site(.norm1, block: i))
            let q = neuron(linear(h1, b + "attn.q", out: d), Site(.q, block: i))
            let k = neuron(linear(h1, b + "attn.k", out: d), Site(.k, block: i))
            let v = neuron(linear(h1, b + "attn.v", out: d), Site(.v, block: i))
            let scores = g.add(StepScoresSpec.kind, [q, k], output: b + "attn.scores", rows: h * n, width: n,
                               attributes: ["heads": .int(h), "scale": .float(1 / Float(c.headDim).squareRoot()),
                                            "input": .string(input)])
            let scoreSpikes = neuron(scores, Site(.scores, block: i))
            let probabilities = g.add(StepSoftmaxSpec.kind, [scoreSpikes], output: b + "attn.softmax", rows: h * n,
                                      width: n, attributes: ["input": .string(input)])
            let weighted = g.add(StepWeightedValuesSpec.kind, [probabilities, v], output: b + "attn.av", rows: n,
                                 width: d, attributes: ["heads": .int(h), "input": .string(input)])
            let o = neuron(weighted, Site(.attnV, block: i))
            let projected = neuron(linear(o, b + "attn.proj", out: d), Site(.proj, block: i))
            let x1 = g.add(StepAddSpec.kind, [x, projected], output: b + "residual1", rows: n, width: d)
            let h2 = neuron(blockNorm(x1, b + "norm2"), Site(.norm2, block: i))
            var f = neuron(linear(h2, b + "mlp.fc1", out: c.mlpDim), Site(.fc1, block: i))
            if c.activation == .gelu {
                f = g.add(StepGELUSpec.kind, [f], output: b + "mlp.act", rows: n, width: c.mlpDim,
                          attributes: ["input": .string(input)])
            }
            let f2 = neuron(linear(f, b + "mlp.fc2", out: d), Site(.fc2, block: i))
            x = g.add(StepAddSpec.kind, [x1, f2], output: b + "residual2", rows: n, width: d)
        }
        let pooled: Int
        switch c.globalPool {
        case .token:
            pooled = g.add(StepPoolSpec.kind, [x], output: "pooled", rows: 1, width: d, attributes: ["index": .int(0)])
        case .avg:
            pooled = g.add(StepPoolSpec.kind, [x], output: "pooled", rows: 1, width: d,
                           attributes: ["from": .int(c.classToken ? 1 : 0)])
        }
        let normed = layerNorm(pooled, c.globalPool == .avg ? "fc_norm" : "norm")
        let logits = linear(normed, "head", out: c.numClasses)
        let semantics = SimulationSemantics(inputCoding: .analogEveryStep, readout: .sum, quiescenceIsFinal: false,
                                            seed: state.seed)
        return g.graph(input: image, output: logits, semantics: semantics, metadata: metadata, config: c)
    }
}
