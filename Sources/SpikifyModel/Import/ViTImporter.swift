import SpikifyCore

/// Loads pretrained ViT weights from HDF5 in any supported layout (``WeightLayout``), flat dotted dataset names
/// or nested groups, float16/32/64, with a leading `module.`/`model.` stripped.
public enum ViTImporter {
    /// Reads, validates and assembles a model. Every problem is a ``SpikifyError`` naming the file and key.
    public static func load(_ path: String, options: ImportOptions = .init()) throws -> ViTModel {
        try loadWithLayout(path, options: options).model
    }

    /// The model and the layout it was found in.
    public static func loadWithLayout(_ path: String, options: ImportOptions = .init()) throws
        -> (model: ViTModel, layout: WeightLayout)
    {
        let r = try CheckpointReader(path: path)
        try checkKeys(r)
        let c = try ConfigInference.infer(r, options: options)
        let d = c.embedDim, m = c.mlpDim
        var blocks: [BlockWeights] = []
        for i in 0..<c.depth {
            let b = "blocks.\(i)."
            let qkvWeight: [Float], qkvBias: [Float]
            if r.has(b + "attn.qkv.weight") {
                qkvWeight = try r.read(b + "attn.qkv.weight", shape: [3 * d, d])
                qkvBias = try r.readOptional(b + "attn.qkv.bias", shape: [3 * d])
            } else {  // Hugging Face: separate query, key, value
                var w: [Float] = [], bias: [Float] = []
                for part in ["q", "k", "v"] {
                    w += try r.read(b + "attn.\(part).weight", shape: [d, d])
                    bias += try r.readOptional(b + "attn.\(part).bias", shape: [d])
                }
                guard bias.isEmpty || bias.count == 3 * d else {
                    throw SpikifyError.missingKeys(file: path, keys: ["q", "k", "v"].map { b + "attn.\($0).bias" }
                        .filter { !r.has($0) })
                }
                qkvWeight = w
                qkvBias = bias
            }
            var block = BlockWeights(
                norm1Weight: try r.read(b + "norm1.weight", shape: [d]),
                norm1Bias: try r.readOptional(b + "norm1.bias", shape: [d]).orZeros(d),
                qkvWeight: qkvWeight, qkvBias: qkvBias,
                projWeight: try r.read(b + "attn.proj.weight", shape: [d, d]),
                projBias: try r.readOptional(b + "attn.proj.bias", shape: [d]),
                norm2Weight: try r.read(b + "norm2.weight", shape: [d]),
                norm2Bias: try r.readOptional(b + "norm2.bias", shape: [d]).orZeros(d),
                fc1Weight: try r.read(b + "mlp.fc1.weight", shape: [m, d]),
                fc1Bias: try r.readOptional(b + "mlp.fc1.bias", shape: [m]),
                fc2Weight: try r.read(b + "mlp.fc2.weight", shape: [d, m]),
                fc2Bias: try r.readOptional(b + "mlp.fc2.bias", shape: [d]))
            if c.blockBatchNorm != nil {
                block.norm1RunningMean = try r.read(b + "norm1.running_mean", shape: [d])
                block.norm1RunningVar = try r.readVariance(b + "norm1.running_var", shape: [d])
                block.norm2RunningMean = try r.read(b + "norm2.running_mean", shape: [d])
                block.norm2RunningVar = try r.readVariance(b + "norm2.running_var", shape: [d])
            }
            blocks.append(block)
        }
        let finalNorm = c.globalPool == .avg ? "fc_norm" : "norm"
        var steps: [Site: Float] = [:]  // SpikeZIP-TF steps, or MST thresholds (moved below)
        for site in r.steps.keys.sorted() { steps[site] = try r.readStep(site) }
        let thresholds = r.layout == .mst ? steps : [:]
        if r.layout == .mst { steps = [:] }
        let weights = ViTWeights(
            patchWeight: try r.read("patch_embed.proj.weight", shape: [d, c.channels, c.patchSize, c.patchSize]),
            patchBias: try r.readOptional("patch_embed.proj.bias", shape: [d]),
            classToken: c.classToken ? try r.read("cls_token", shape: [d]) : [],
            positionEmbedding: try r.read("pos_embed", shape: [c.tokenCount, d]),
            blocks: blocks,
            finalNormWeight: try r.read(finalNorm + ".weight", shape: [d]),
            finalNormBias: try r.readOptional(finalNorm + ".bias", shape: [d]).orZeros(d),
            headWeight: try r.read("head.weight", shape: [c.numClasses, d]),
            headBias: try r.readOptional("head.bias", shape: [c.numClasses]),
            stepSizes: steps)
        var model = ViTModel(config: c, weights: weights, source: path)
        model.weights.qcfsThresholds = thresholds
        return (model, r.layout)
    }


    /// Required tensors present (biases are optional and mean zero) for every block up to the highest index, and
    /// for a QANN either every site's step size or none. All missing keys are listed at once.
    private static func checkKeys(_ r: CheckpointReader) throws {
        let depth = (r.tensors.keys.compactMap { CanonicalKeys.blockKey($0)?.0 }.max() ?? -1) + 1
        var required = ["patch_embed.proj.weight", "pos_embed", "head.weight"]
        required.append(r.has("fc_norm.weight") ? "fc_norm.weight" : "norm.weight")
        for i in 0..<max(depth, 1) {
            let b = "blocks.\(i)."
            required += ["norm1.weight", "attn.proj.weight", "norm2.weight", "mlp.fc1.weight", "mlp.fc2.weight"]
                .map { b + $0 }
            if !r.has(b + "attn.qkv.weight") { required += ["q", "k", "v"].map { b + "attn.\($0).weight" } }
        }
        if (0..<max(depth, 1)).contains(where: { r.has("blocks.\($0).norm1.running_mean") || r.has("blocks.\($0).norm2.running_mean") }) {
            for i in 0..<max(depth, 1) {
                required += ["norm1.running_mean", "norm1.running_var", "norm2.running_mean", "norm2.running_var"]
                    .map { "blocks.\(i)." + $0 }
            }
        }
        var missing = required.filter { !r.has($0) }
        missing += inconsistentBiases(r, depth: depth)
        if r.layout == .mst {
            missing += Site.qcfs(depth: depth).filter { r.steps[$0] == nil }.map { "QCFS threshold of \($0.name) (…_if.up)" }
        } else if !r.steps.isEmpty {
            missing += Site.all(depth: depth).filter { r.steps[$0] == nil }.map { "step size of \($0.name)" }
        }
        if !missing.isEmpty { throw SpikifyError.missingKeys(file: r.path, keys: missing) }
        let extra = r.steps.keys.filter { ($0.block ?? 0) >= depth }
        if !extra.isEmpty { throw SpikifyError.unexpectedKeys(file: r.path, keys: extra.map(\.name).sorted()) }
    }

    /// A bias may be absent (it is then zero), but one present in some blocks and absent in others marks a damaged
    /// or mixed file, not a bias-free model: the absent ones are reported as missing.
    private static func inconsistentBiases(_ r: CheckpointReader, depth: Int) -> [String] {
        let fields = ["norm1.bias", "attn.qkv.bias", "attn.proj.bias", "norm2.bias", "mlp.fc1.bias", "mlp.fc2.bias"]
        var absent: [String] = []
        for field in fields {
            // Hugging Face layouts have q, k and v biases instead of qkv (checked together when they are read).
            let name = { (i: Int) in
                field == "attn.qkv.bias" && !r.has("blocks.\(i).attn.qkv.weight") ? "blocks.\(i).attn.q.bias"
                    : "blocks.\(i).\(field)"
            }
            let missing = (0..<depth).map(name).filter { !r.has($0) }
            if missing.count < depth { absent += missing }
        }
        return absent
    }
}

extension Array where Element == Float {
    /// An absent LayerNorm bias is a zero bias.
    func orZeros(_ count: Int) -> [Float] { isEmpty ? [Float](repeating: 0, count: count) : self }
}
