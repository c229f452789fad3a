/// SpikeZIP-TF conversion (You et al., ICML 2024; reference spikezip.md): the QANN's quantizers become ST-BIF+
/// neurons with θ = s, linear layers act on increments with their bias once, LayerNorm and Softmax become their
/// differential forms on accumulated inputs, and Q·Kᵀ and A·V become SESA products. Once the network is quiet
/// its accumulated output equals the QANN's logits (spikezip.md §1, "Equivalence").
///
/// Beyond the paper: GELU MLPs convert with a signed quantizer on fc1 and a differential GELU on the
/// accumulated fc1 spikes (`GELU(Ŝ_t) − GELU(Ŝ_{t−1})`), which keeps the equivalence (docs/conversion.md).
public enum SpikeZIPConversion {
    public static let method = "spikezip"

    /// Builds the QANN plan (checkpoint steps or calibration) and the spiking graph.
    public static func convert(
        _ model: ViTModel, options: ConversionOptions, progress: ((Int, Int) -> Void)? = nil
    ) throws -> ConvertedModel {
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
            plan = QuantizationPlan(levels: levels, steps: model.weights.stepSizes, activation: c.activation)
        case .calibrate(let method, let order):
            guard let images = options.calibrationImages else {
                throw SpikifyError.invalidArgument("calibration needs images (--calib DATA.h5)")
            }
            let levels = options.levels ?? c.levels ?? 16
            let steps = StepCalibration.calibrateStepSizes(
                ViTForward(model), images: images, levels: levels, method: method, order: order,
                batchSize: options.batchSize, progress: progress)
            plan = QuantizationPlan(levels: levels, steps: steps, activation: c.activation)
        }
        guard plan.levels >= 2 else { throw SpikifyError.invalidArgument("levels must be at least 2, got \(plan.levels)") }
        var metadata = options.metadata
        metadata["method"] = method
        metadata["levels"] = String(plan.levels)
        metadata["source_file"] = model.source
        metadata["steps"] = { if case .checkpoint = options.steps { return "checkpoint" } else { return "calibrated" } }()
        let graph = buildGraph(model, plan: plan, metadata: metadata)
        return ConvertedModel(model: model, plan: plan, graph: graph)
    }

    /// The spiking graph for a model and its quantizers, operator by operator in QANN order (spikezip.md §3).
    public static func buildGraph(_ model: ViTModel, plan: QuantizationPlan, metadata: [String: String]) -> SpikingGraph {
        let c = model.config
        let d = c.embedDim, n = c.tokenCount, p = c.patchCount, h = c.numHeads
        var g = SpikingGraphBuilder()
        let tensors = model.weights.canonicalTensors(config: c)
        func t(_ name: String) -> String? {
            guard let x = tensors[name] else { return nil }
            return g.tensor(name, x.scalars, shape: x.shape)
        }
        func neuron(_ input: Int, _ site: Site) -> Int {
            let info = g.info(input)
            let out = g.value(site.name, rows: info.rows, width: info.width)
            let q = plan.quantizers[site]!
            g.append(.stbif(input: input, output: out, site: site.name, threshold: q.step, lower: q.lower, upper: q.upper))
            return out
        }
        func linear(_ input: Int, _ name: String, rows: Int, out width: Int) -> Int {
            let out = g.value(name + ".out", rows: rows, width: width)
            g.append(.linear(input: input, output: out, weight: t(name + ".weight")!, bias: t(name + ".bias")))
            return out
        }
        func layerNorm(_ input: Int, _ name: String) -> Int {
            let info = g.info(input)
            let out = g.value(name + ".out", rows: info.rows, width: info.width)
            g.append(.layerNormDiff(input: input, output: out, weight: t(name + ".weight")!, bias: t(name + ".bias")!,
                                    eps: c.layerNormEps))
            return out
        }

        let image = g.value("image", rows: c.channels, width: c.imageSize * c.imageSize)
        let patches = g.value("patches", rows: p, width: c.patchFeatures)
        g.append(.patchify(input: image, output: patches, channels: c.channels, imageSize: c.imageSize, patch: c.patchSize))
        let embedded = neuron(linear(patches, "patch_embed.proj", rows: p, out: d), Site(.patchEmbed))
        var x = g.value("tokens", rows: n, width: d)
        g.append(.embedTokens(input: embedded, output: x, classToken: t("cls_token"), position: t("pos_embed")!))
        for i in 0..<c.depth {
            let b = "blocks.\(i)."
            let h1 = neuron(layerNorm(x, b + "norm1"), Site(.norm1, block: i))
            let q = neuron(linear(h1, b + "attn.q", rows: n, out: d), Site(.q, block: i))
            let k = neuron(linear(h1, b + "attn.k", rows: n, out: d), Site(.k, block: i))
            let v = neuron(linear(h1, b + "attn.v", rows: n, out: d), Site(.v, block: i))
            let scores = g.value(b + "attn.scores", rows: h * n, width: n)
            g.append(.spikeScores(q: q, k: k, output: scores, heads: h, scale: 1 / Float(c.headDim).squareRoot()))
            let probabilities = g.value(b + "attn.softmax", rows: h * n, width: n)
            g.append(.softmaxDiff(input: scores, output: probabilities))
            let a = neuron(probabilities, Site(.attn, block: i))
            let weighted = g.value(b + "attn.av", rows: n, width: d)
            g.append(.spikeWeightedValues(attn: a, v: v, output: weighted, heads: h))
            let o = neuron(weighted, Site(.attnV, block: i))
            let projected = neuron(linear(o, b + "attn.proj", rows: n, out: d), Site(.proj, block: i))
            let x1 = g.value(b + "residual1", rows: n, width: d)
            g.append(.add(lhs: x, rhs: projected, output: x1))
            let h2 = neuron(layerNorm(x1, b + "norm2"), Site(.norm2, block: i))
            var f = neuron(linear(h2, b + "mlp.fc1", rows: n, out: c.mlpDim), Site(.fc1, block: i))
            if c.activation == .gelu {  // ReLU after an unsigned quantizer is the identity
                let act = g.value(b + "mlp.act", rows: n, width: c.mlpDim)
                g.append(.activationDiff(input: f, output: act, activation: .gelu))
                f = act
            }
            let f2 = neuron(linear(f, b + "mlp.fc2", rows: n, out: d), Site(.fc2, block: i))
            let x2 = g.value(b + "residual2", rows: n, width: d)
            g.append(.add(lhs: x1, rhs: f2, output: x2))
            x = x2
        }
        let pooled = g.value("pooled", rows: 1, width: d)
        switch c.globalPool {
        case .token: g.append(.selectToken(input: x, output: pooled, index: 0))
        case .avg: g.append(.meanTokens(input: x, output: pooled, from: c.classToken ? 1 : 0))
        }
        let normed = neuron(layerNorm(pooled, c.globalPool == .avg ? "fc_norm" : "norm"), Site(.finalNorm))
        let logits = linear(normed, "head", rows: 1, out: c.numClasses)
        return SpikingGraph(values: g.values, ops: g.ops, input: image, output: logits, tensors: g.tensors,
                            metadata: metadata, config: c)
    }
}
