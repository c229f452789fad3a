import SpikifyCore

/// ViT weights as named tensors under timm's names, with the fused qkv split into `attn.{q,k,v}` (what spiking
/// graphs and converted-model files reference). Absent biases are omitted.
extension ViTWeights {
    public func canonicalTensors(config c: ViTConfig) -> [String: Tensor] {
        let d = c.embedDim, m = c.mlpDim
        var t: [String: Tensor] = [:]
        func put(_ name: String, _ values: [Float], _ shape: [Int]) {
            if !values.isEmpty { t[name] = Tensor(shape: shape, scalars: values) }
        }
        put("patch_embed.proj.weight", patchWeight, [d, c.patchFeatures])
        put("patch_embed.proj.bias", patchBias, [d])
        put("cls_token", classToken, [d])
        put("pos_embed", positionEmbedding, [c.tokenCount, d])
        for (i, b) in blocks.enumerated() {
            let p = "blocks.\(i)."
            put(p + "norm1.weight", b.norm1Weight, [d])
            put(p + "norm1.bias", b.norm1Bias, [d])
            for (part, name) in ["q", "k", "v"].enumerated() {
                put(p + "attn.\(name).weight", Array(b.qkvWeight[(part * d * d)..<((part + 1) * d * d)]), [d, d])
                if !b.qkvBias.isEmpty { put(p + "attn.\(name).bias", Array(b.qkvBias[(part * d)..<((part + 1) * d)]), [d]) }
            }
            put(p + "attn.proj.weight", b.projWeight, [d, d])
            put(p + "attn.proj.bias", b.projBias, [d])
            put(p + "norm2.weight", b.norm2Weight, [d])
            put(p + "norm2.bias", b.norm2Bias, [d])
            put(p + "norm1.running_mean", b.norm1RunningMean, [d])
            put(p + "norm1.running_var", b.norm1RunningVar, [d])
            put(p + "norm2.running_mean", b.norm2RunningMean, [d])
            put(p + "norm2.running_var", b.norm2RunningVar, [d])
            put(p + "mlp.fc1.weight", b.fc1Weight, [m, d])
            put(p + "mlp.fc1.bias", b.fc1Bias, [m])
            put(p + "mlp.fc2.weight", b.fc2Weight, [d, m])
            put(p + "mlp.fc2.bias", b.fc2Bias, [d])
        }
        let norm = c.globalPool == .avg ? "fc_norm" : "norm"
        put(norm + ".weight", finalNormWeight, [d])
        put(norm + ".bias", finalNormBias, [d])
        put("head.weight", headWeight, [c.numClasses, d])
        put("head.bias", headBias, [c.numClasses])
        return t
    }

    /// The inverse of ``canonicalTensors(config:)``; throws naming `file` when a tensor is missing or misshapen.
    public init(canonical t: [String: Tensor], config c: ViTConfig, file: String) throws {
        func get(_ name: String, _ count: Int, optional: Bool = false) throws -> [Float] {
            guard let x = t[name] else {
                if optional { return [] }
                throw SpikifyError.missingKeys(file: file, keys: [name])
            }
            guard x.count == count else {
                throw SpikifyError.shapeMismatch(file: file, key: name, expected: [count], found: x.shape)
            }
            return x.scalars
        }
        let d = c.embedDim, m = c.mlpDim
        var blocks: [BlockWeights] = []
        for i in 0..<c.depth {
            let p = "blocks.\(i)."
            var qkvW: [Float] = [], qkvB: [Float] = []
            for name in ["q", "k", "v"] {
                qkvW += try get(p + "attn.\(name).weight", d * d)
                qkvB += try get(p + "attn.\(name).bias", d, optional: true)
            }
            var block = BlockWeights(
                norm1Weight: try get(p + "norm1.weight", d), norm1Bias: try get(p + "norm1.bias", d),
                qkvWeight: qkvW, qkvBias: qkvB,
                projWeight: try get(p + "attn.proj.weight", d * d),
                projBias: try get(p + "attn.proj.bias", d, optional: true),
                norm2Weight: try get(p + "norm2.weight", d), norm2Bias: try get(p + "norm2.bias", d),
                fc1Weight: try get(p + "mlp.fc1.weight", m * d), fc1Bias: try get(p + "mlp.fc1.bias", m, optional: true),
                fc2Weight: try get(p + "mlp.fc2.weight", d * m), fc2Bias: try get(p + "mlp.fc2.bias", d, optional: true))
            if c.blockBatchNorm != nil {
                block.norm1RunningMean = try get(p + "norm1.running_mean", d)
                block.norm1RunningVar = try get(p + "norm1.running_var", d)
                block.norm2RunningMean = try get(p + "norm2.running_mean", d)
                block.norm2RunningVar = try get(p + "norm2.running_var", d)
            }
            blocks.append(block)
        }
        let norm = c.globalPool == .avg ? "fc_norm" : "norm"
        self.init(
            patchWeight: try get("patch_embed.proj.weight", d * c.patchFeatures),
            patchBias: try get("patch_embed.proj.bias", d, optional: true),
            classToken: c.classToken ? try get("cls_token", d) : [],
            positionEmbedding: try get("pos_embed", c.tokenCount * d),
            blocks: blocks,
            finalNormWeight: try get(norm + ".weight", d), finalNormBias: try get(norm + ".bias", d),
            headWeight: try get("head.weight", c.numClasses * d),
            headBias: try get("head.bias", c.numClasses, optional: true))
    }
}
