import SpikifyCore
import SpikifyModel
import SpikifySpiking

/// Where the softmax takes its reference logit (STA §4.1; docs/methods/sta.md).
public enum SoftmaxReference: String, Sendable, CaseIterable {
    /// The logit against key 0, the class token, plus 1, clipped at 3 (the released STA code): the class term is
    /// then e, so the partition sum is at least e. Needs a class token.
    case cls
    /// The row maximum: z ≤ 0 and the partition sum is at least 1 (any ViT).
    case max
}

/// Which network of the stage ladder a graph computes (STA's ANN → GNN → FNN → SNN, main.py of the released
/// code): the float stages run for one step with `sta.float_neuron` (ReLU or identity) where the SNN has neurons.
struct STAStage: Sendable, Equatable {
    /// The functions computed by UGOs (the others exactly, by `sta.function`).
    var ugos: Set<UGOFunction>
    var reference: SoftmaxReference
    var spiking: Bool

    /// The exact network in the SNN's layout, with `reference` (used to measure UGO input ranges).
    static func exact(_ reference: SoftmaxReference) -> STAStage { STAStage(ugos: [], reference: reference, spiking: false) }
    /// GNN: the ANN with the GELU UGO (exact softmax and LayerNorm).
    static let gelu = STAStage(ugos: [.gelu], reference: .max, spiking: false)
    /// FNN, the reference network: every UGO, float neurons.
    static func float(_ reference: SoftmaxReference) -> STAStage {
        STAStage(ugos: Set(UGOFunction.allCases), reference: reference, spiking: false)
    }
    static func spiking(_ reference: SoftmaxReference) -> STAStage {
        STAStage(ugos: Set(UGOFunction.allCases), reference: reference, spiking: true)
    }
}

/// A built STA graph with the values calibration observes.
struct STAGraph {
    var graph: SpikingGraph
    /// UGO name → the value that feeds it.
    var ugoInputs: [String: Int] = [:]
    /// Neuron site → the value that feeds it and whether the neuron is signed.
    var neuronInputs: [String: (value: Int, signed: Bool)] = [:]

    /// The clip of the shifted logits: 3 for the class-token reference (the released code), 0 for the row maximum.
    static func softmaxUpper(_ r: SoftmaxReference) -> Float { r == .cls ? 3 : 0 }

    /// Builds the STA graph of `model` for `stage` (STA §4–5 on a pre-norm timm ViT; docs/methods/sta.md).
    /// `ugos` by name (`blocks.i.mlp.gelu`, `blocks.i.attn.exp`, `blocks.i.attn.reciprocal`,
    /// `blocks.i.norm1.rsqrt`, `blocks.i.norm2.rsqrt`) must hold every UGO the stage uses; `thresholds` by neuron
    /// site (missing: 1, for the float stages and the range measurement).
    static func build(_ model: ViTModel, stage: STAStage, ugos: [String: UGO], thresholds: [String: [Float]],
                      metadata: [String: String]) -> STAGraph {
        ConversionMethods.prepare()
        let c = model.config
        let d = c.embedDim, n = c.tokenCount, p = c.patchCount, h = c.numHeads
        var g = SpikingGraphBuilder()
        var ugoInputs: [String: Int] = [:], neuronInputs: [String: (value: Int, signed: Bool)] = [:]
        let tensors = model.weights.canonicalTensors(config: c)
        func t(_ name: String) -> String? { tensors[name].map { g.tensor(name, $0) } }
        func neuron(_ value: Int, _ site: String, signed: Bool) -> Int {
            let info = g.info(value)
            neuronInputs[site] = (value, signed)
            guard stage.spiking else {
                return g.add(STAFloatNeuronSpec.kind, [value], output: site, rows: info.rows, width: info.width,
                             attributes: ["signed": .bool(signed)])
            }
            let theta = thresholds[site] ?? [Float](repeating: 1, count: info.width)
            return g.add(STANeuronSpec.kind, [value], output: site, rows: info.rows, width: info.width,
                         tensors: ["threshold": g.tensor(site + ".threshold", theta, shape: [info.width])],
                         attributes: ["signed": .bool(signed)], site: site)
        }
        /// f of a value: a UGO (hidden layer of neurons) or the exact function.
        func apply(_ f: UGOFunction, _ value: Int, _ name: String) -> Int {
            let info = g.info(value)
            ugoInputs[name] = value
            guard stage.ugos.contains(f), let u = ugos[name] else {
                return g.add(STAFunctionSpec.kind, [value], output: name, rows: info.rows, width: info.width,
                             attributes: ["function": .string(f.rawValue)])
            }
            let k = u.neurons
            let hidden = g.add(UGOInputSpec.kind, [value], output: name + ".in", rows: info.rows, width: info.width * k,
                               tensors: ["w1": g.tensor(name + ".w1", u.w1, shape: [k]),
                                         "b1": g.tensor(name + ".b1", u.b1, shape: [k])])
            let spikes = neuron(hidden, name + ".hidden", signed: false)
            return g.add(UGOOutputSpec.kind, [spikes], output: name, rows: info.rows, width: info.width,
                         tensors: ["w2": g.tensor(name + ".w2", u.w2, shape: [k]),
                                   "b2": g.tensor(name + ".b2", [u.b2], shape: [1])])
        }
        func linear(_ value: Int, _ name: String, out width: Int) -> Int {
            let weight = t(name + ".weight") ?? name + ".weight", bias = t(name + ".bias")
            return g.addStepLinear(value, name, out: width, weight: weight, bias: bias)
        }
        /// LayerNorm through the 1/√x UGO (STA's SpikeLN with ε): centre, variance + ε, 1/√·, product, ± encoder,
        /// γ and β; BatchNorm blocks: the affine map, then the ± encoder.
        func norm(_ value: Int, _ name: String) -> Int {
            let info = g.info(value)
            let encoded: Int
            var affine: [String: String] = ["weight": t(name + ".weight") ?? "", "bias": t(name + ".bias") ?? ""]
            if let bn = c.blockBatchNorm {
                for role in ["running_mean", "running_var"] { affine[role] = t(name + "." + role) ?? "" }
                let normed = g.add(StepBatchNormSpec.kind, [value], output: name + ".bn", rows: info.rows,
                                   width: info.width, tensors: affine, attributes: ["eps": .float(bn.eps)])
                return neuron(normed, name + ".enc", signed: true)
            }
            let centred = g.add(STACenterSpec.kind, [value], output: name + ".centred", rows: info.rows, width: info.width)
            let variance = g.add(STAVarianceSpec.kind, [centred], output: name + ".variance", rows: info.rows, width: 1,
                                 attributes: ["eps": .float(c.layerNormEps)])
            let inverse = apply(.rsqrt, variance, name + ".rsqrt")
            let scaled = g.add(STAProductSpec.kind, [centred, inverse], output: name + ".scaled", rows: info.rows,
                               width: info.width, attributes: ["form": .string("scale_rows")])
            encoded = neuron(scaled, name + ".enc", signed: true)
            return g.add(STAAffineSpec.kind, [encoded], output: name + ".out", rows: info.rows, width: info.width,
                         tensors: affine)
        }

        let image = g.value("image", rows: c.channels, width: c.imageSize * c.imageSize)
        let patches = g.add(StepPatchifySpec.kind, [image], output: "patches", rows: p, width: c.patchFeatures,
                            attributes: ["channels": .int(c.channels), "image_size": .int(c.imageSize),
                                         "patch": .int(c.patchSize)])
        let embedded = linear(patches, "patch_embed.proj", out: d)
        var embedTensors = ["position": t("pos_embed") ?? ""]
        if let cls = t("cls_token") { embedTensors["class_token"] = cls }
        var x = g.add(StepEmbedTokensSpec.kind, [embedded], output: "tokens", rows: n, width: d, tensors: embedTensors)
        let reference = stage.reference
        for i in 0..<c.depth {
            let b = "blocks.\(i)."
            let h1 = norm(x, b + "norm1")
            let q = linear(h1, b + "attn.q", out: d), k = linear(h1, b + "attn.k", out: d)
            let v = linear(h1, b + "attn.v", out: d)
            let scores = g.add(STAProductSpec.kind, [q, k], output: b + "attn.scores", rows: h * n, width: n,
                               attributes: ["form": .string("scores"), "heads": .int(h),
                                            "scale": .float(1 / Float(c.headDim).squareRoot())])
            let z = g.add(STASoftmaxShiftSpec.kind, [scores], output: b + "attn.shifted", rows: h * n, width: n,
                          attributes: ["reference": .string(reference.rawValue),
                                       "offset": .float(reference == .cls ? 1 : 0),
                                       "upper": .float(softmaxUpper(reference))])
            let e = apply(.exp, z, b + "attn.exp")
            let partition = g.add(STARowSumSpec.kind, [e], output: b + "attn.partition", rows: h * n, width: 1)
            let inverse = apply(.reciprocal, partition, b + "attn.reciprocal")
            let probabilities = g.add(STAProductSpec.kind, [e, inverse], output: b + "attn.softmax", rows: h * n,
                                      width: n, attributes: ["form": .string("scale_rows")])
            let a = neuron(probabilities, b + "attn.probs", signed: false)
            let weighted = g.add(STAProductSpec.kind, [a, v], output: b + "attn.av", rows: n, width: d,
                                 attributes: ["form": .string("weighted"), "heads": .int(h)])
            let o = neuron(weighted, b + "attn.out", signed: true)
            let x1 = g.add(StepAddSpec.kind, [x, linear(o, b + "attn.proj", out: d)], output: b + "residual1",
                           rows: n, width: d)
            let h2 = norm(x1, b + "norm2")
            let f = linear(h2, b + "mlp.fc1", out: c.mlpDim)
            let act = c.activation == .gelu ? apply(.gelu, f, b + "mlp.gelu") : neuron(f, b + "mlp.relu", signed: false)
            x = g.add(StepAddSpec.kind, [x1, linear(act, b + "mlp.fc2", out: d)], output: b + "residual2", rows: n,
                      width: d)
        }
        let pooled: Int
        switch c.globalPool {
        case .token:
            pooled = g.add(StepPoolSpec.kind, [x], output: "pooled", rows: 1, width: d, attributes: ["index": .int(0)])
        case .avg:
            pooled = g.add(StepPoolSpec.kind, [x], output: "pooled", rows: 1, width: d,
                           attributes: ["from": .int(c.classToken ? 1 : 0)])
        }
        let finalName = c.globalPool == .avg ? "fc_norm" : "norm"
        let normed = g.add(STALayerNormSpec.kind, [pooled], output: finalName + ".out", rows: 1, width: d,
                           tensors: ["weight": t(finalName + ".weight") ?? "", "bias": t(finalName + ".bias") ?? ""],
                           attributes: ["eps": .float(c.layerNormEps)])
        let logits = linear(normed, "head", out: c.numClasses)
        let semantics = SimulationSemantics(inputCoding: .analogEveryStep, readout: .mean, quiescenceIsFinal: false)
        return STAGraph(graph: g.graph(input: image, output: logits, semantics: semantics, metadata: metadata, config: c),
                        ugoInputs: ugoInputs, neuronInputs: neuronInputs)
    }
}
