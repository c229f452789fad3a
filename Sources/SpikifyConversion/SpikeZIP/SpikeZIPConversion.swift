import HDF5
import SpikifyCore
import SpikifyModel
import SpikifySpiking

/// SpikeZIP-TF conversion (You et al., "SpikeZIP-TF: Conversion is All You Need for Transformer-based SNN",
/// ICML 2024; docs/methods/spikezip.md): the QANN's quantizers become ST-BIF+ neurons with θ = s, linear layers act
/// on increments with their bias once, LayerNorm and Softmax become their differential forms on accumulated inputs,
/// and Q·Kᵀ and A·V become SESA products. Once the network is quiet its accumulated output equals the QANN's logits
/// (the paper's equivalence of ST-BIF+ neurons and quantizers), bit for bit here (docs/methods/spikezip.md).
///
/// Beyond the paper: GELU MLPs convert with a signed quantizer on fc1 and a differential GELU on the
/// accumulated fc1 spikes (`GELU(Ŝ_t) − GELU(Ŝ_{t−1})`), which keeps the equivalence (docs/conversion.md).
///
/// Simulation semantics: the analog image enters at t = 0 only, the readout is the summed output, and quiescence
/// is final (nothing can change once no neuron fires). The reference network is the QANN.
package enum SpikeZIPMethod: SpikingMethod {
    package static let name = "spikezip"
    package static let summary = "SpikeZIP-TF: quantized ANN → ST-BIF+ neurons; exact at quiescence"
    package static var operatorSpecs: [AnyOperatorSpec] { SpikeZIPOperators.specs }

    /// Builds the QANN plan (checkpoint steps or calibration) and the spiking graph.
    package static func convert(
        _ model: ViTModel, options: ConversionOptions, progress: ((Int, Int) -> Void)? = nil
    ) throws -> ConvertedModel {
        ConversionMethods.prepare()
        let c = model.config
        let plan: QuantizationPlan
        switch options.steps {
        case .checkpoint:
            guard !model.weights.stepSizes.isEmpty else {
                throw SpikifyError.invalidArgument("\(model.source) has no quantizer step sizes (it is a float ANN); "
                    + "give calibration images (--calib DATA.h5) to calibrate them")
            }
            guard let levels = options.levels ?? c.levels else {
                throw SpikifyError.missingConfig(file: model.source, what: "the quantization levels",
                    hint: "the file has no 'levels' attribute; pass --levels L (SpikeZIP-TF Q32 checkpoints: 32)")
            }
            try SpikeZIPState.checkLevels(levels, file: model.source)
            plan = QuantizationPlan(levels: levels, steps: model.weights.stepSizes, activation: c.activation)
        case .calibrate(let method, let order):
            guard let images = options.calibrationImages else {
                throw SpikifyError.invalidArgument("calibration needs images (--calib DATA.h5)")
            }
            let levels = options.levels ?? c.levels ?? 16
            try SpikeZIPState.checkLevels(levels, file: model.source)
            let steps = StepCalibration.calibrateStepSizes(
                ViTForward(model), images: images, levels: levels, method: method, order: order,
                batchSize: options.batchSize, progress: progress)
            plan = QuantizationPlan(levels: levels, steps: steps, activation: c.activation)
        }
        let source = { if case .checkpoint = options.steps { return "checkpoint" } else { return "calibrated" } }()
        var metadata = options.metadata
        metadata["method"] = name
        metadata["levels"] = String(plan.levels)
        metadata["source_file"] = model.source
        metadata["steps"] = source
        let graph = buildGraph(model, plan: plan, metadata: metadata)
        return ConvertedModel(model: model, graph: graph, state: SpikeZIPState(plan: plan, stepSource: source))
    }

    package static func readState(from group: HDF5Group, file: String, graph: SpikingGraph, model: ViTModel) throws
        -> any MethodState
    {
        try SpikeZIPState.read(from: group, file: file, graph: graph)
    }

    /// The spiking graph for a model and its quantizers, operator by operator in QANN order (docs/methods/spikezip.md).
    package static func buildGraph(_ model: ViTModel, plan: QuantizationPlan, metadata: [String: String]) -> SpikingGraph {
        ConversionMethods.prepare()
        let c = model.config
        let d = c.embedDim, n = c.tokenCount, p = c.patchCount, h = c.numHeads
        var g = SpikingGraphBuilder()
        let tensors = model.weights.canonicalTensors(config: c)
        func t(_ name: String) -> String? {
            guard let x = tensors[name] else { return nil }
            return g.tensor(name, x.scalars, shape: x.shape)
        }
        func neuron(_ input: Int, _ site: Site) -> Int {
            // Every site has a quantizer: the plan comes from convert(), which builds it for all sites.
            let info = g.info(input), q = plan.quantizers[site]!
            return g.add(STBIFSpec.kind, [input], output: site.name, rows: info.rows, width: info.width,
                         attributes: ["threshold": .float(q.step), "lower": .int(q.lower), "upper": .int(q.upper)],
                         site: site.name)
        }
        func linear(_ input: Int, _ name: String, rows: Int, out width: Int) -> Int {
            var roles = ["weight": t(name + ".weight")!]
            if let b = t(name + ".bias") { roles["bias"] = b }
            return g.add(LinearSpec.kind, [input], output: name + ".out", rows: rows, width: width, tensors: roles)
        }
        func layerNorm(_ input: Int, _ name: String) -> Int {
            let info = g.info(input)
            return g.add(LayerNormDiffSpec.kind, [input], output: name + ".out", rows: info.rows, width: info.width,
                         tensors: ["weight": t(name + ".weight")!, "bias": t(name + ".bias")!],
                         attributes: ["eps": .float(c.layerNormEps)])
        }

        let image = g.value("image", rows: c.channels, width: c.imageSize * c.imageSize)
        let patches = g.add(PatchifySpec.kind, [image], output: "patches", rows: p, width: c.patchFeatures,
                            attributes: ["channels": .int(c.channels), "image_size": .int(c.imageSize),
                                         "patch": .int(c.patchSize)])
        let embedded = neuron(linear(patches, "patch_embed.proj", rows: p, out: d), Site(.patchEmbed))
        var embedTensors = ["position": t("pos_embed")!]
        if let cls = t("cls_token") { embedTensors["class_token"] = cls }
        var x = g.add(EmbedTokensSpec.kind, [embedded], output: "tokens", rows: n, width: d, tensors: embedTensors)
        for i in 0..<c.depth {
            let b = "blocks.\(i)."
            let h1 = neuron(layerNorm(x, b + "norm1"), Site(.norm1, block: i))
            let q = neuron(linear(h1, b + "attn.q", rows: n, out: d), Site(.q, block: i))
            let k = neuron(linear(h1, b + "attn.k", rows: n, out: d), Site(.k, block: i))
            let v = neuron(linear(h1, b + "attn.v", rows: n, out: d), Site(.v, block: i))
            let scores = g.add(SpikeScoresSpec.kind, [q, k], output: b + "attn.scores", rows: h * n, width: n,
                               attributes: ["heads": .int(h), "scale": .float(1 / Float(c.headDim).squareRoot())])
            let probabilities = g.add(SoftmaxDiffSpec.kind, [scores], output: b + "attn.softmax", rows: h * n, width: n)
            let a = neuron(probabilities, Site(.attn, block: i))
            let weighted = g.add(SpikeWeightedValuesSpec.kind, [a, v], output: b + "attn.av", rows: n, width: d,
                                 attributes: ["heads": .int(h)])
            let o = neuron(weighted, Site(.attnV, block: i))
            let projected = neuron(linear(o, b + "attn.proj", rows: n, out: d), Site(.proj, block: i))
            let x1 = g.add(AddSpec.kind, [x, projected], output: b + "residual1", rows: n, width: d)
            let h2 = neuron(layerNorm(x1, b + "norm2"), Site(.norm2, block: i))
            var f = neuron(linear(h2, b + "mlp.fc1", rows: n, out: c.mlpDim), Site(.fc1, block: i))
            if c.activation == .gelu {  // ReLU after an unsigned quantizer is the identity
                f = g.add(ActivationDiffSpec.kind, [f], output: b + "mlp.act", rows: n, width: c.mlpDim,
                          attributes: ["activation": .string(Activation.gelu.rawValue)])
            }
            let f2 = neuron(linear(f, b + "mlp.fc2", rows: n, out: d), Site(.fc2, block: i))
            x = g.add(AddSpec.kind, [x1, f2], output: b + "residual2", rows: n, width: d)
        }
        let pooled: Int
        switch c.globalPool {
        case .token:
            pooled = g.add(SelectTokenSpec.kind, [x], output: "pooled", rows: 1, width: d, attributes: ["index": .int(0)])
        case .avg:
            pooled = g.add(MeanTokensSpec.kind, [x], output: "pooled", rows: 1, width: d,
                           attributes: ["from": .int(c.classToken ? 1 : 0)])
        }
        let normed = neuron(layerNorm(pooled, c.globalPool == .avg ? "fc_norm" : "norm"), Site(.finalNorm))
        let logits = linear(normed, "head", rows: 1, out: c.numClasses)
        return g.graph(input: image, output: logits,
                       semantics: SimulationSemantics(inputCoding: .analogOnce, readout: .sum, quiescenceIsFinal: true),
                       metadata: metadata, config: c)
    }
}
