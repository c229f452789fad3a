import SpikifyCore

/// The key layouts of pretrained ViT checkpoints that Spikify reads (README, "Models (HDF5)").
public enum WeightLayout: String, Sendable, Equatable {
    /// timm `VisionTransformer.state_dict()` keys.
    case timm
    /// Hugging Face `ViTForImageClassification`, the hub layout (`vit.encoder.layer.N.attention.attention.query`).
    case huggingFace = "huggingface"
    /// Hugging Face transformers 5 layout (`vit.layers.N.attention.q_proj`, `…mlp.fc1`).
    case huggingFaceV5 = "huggingface-v5"
    /// SpikeZIP-TF QANN checkpoints: modules wrapped in `nn.Sequential(op, MyQuan)` with step sizes `s`.
    case spikeZIP = "spikezip"
    /// MST-trained ViTs (Wang et al., ICCV 2023; docs/methods/mst.md): timm keys, BatchNorm blocks
    /// (`blocks.N.norm1.running_mean`, …) and QCFS thresholds under the MST code's module names (`…q_if.up`).
    case mst
    /// Keras 3 `.weights.h5` of keras_hub `ViTImageClassifier` (`layers/…/vars/N`), converted by ``KerasLayout``.
    case keras

    /// Guesses the layout from normalised (dotted, prefix-free) keys.
    static func detect(_ keys: Set<String>) -> WeightLayout? {
        if keys.contains(where: { $0.hasPrefix("vit.layers.") }) { return .huggingFaceV5 }
        if keys.contains(where: { $0.hasPrefix("vit.") || $0.hasPrefix("classifier.") }) { return .huggingFace }
        if keys.contains(where: { $0.hasSuffix("_if.up") }) { return .mst }
        if keys.contains("patch_embed.proj.0.weight") || keys.contains(where: { $0.hasSuffix(".s") }) {
            return .spikeZIP
        }
        if keys.contains("patch_embed.proj.weight") || keys.contains("pos_embed") { return .timm }
        return nil
    }

    /// Where a checkpoint key goes: a tensor under its canonical (timm) name, a quantizer step, or nowhere.
    enum Target: Equatable {
        case tensor(String)
        case step(Site)
        case ignored
    }

    /// Maps a normalised key to its target; nil for a key this layout does not know.
    func target(of key: String) -> Target? {
        switch self {
        case .timm: return Self.timmTarget(key)
        case .huggingFace, .huggingFaceV5: return Self.huggingFaceTarget(key)
        case .spikeZIP: return Self.spikeZIPTarget(key)
        case .mst: return Self.mstTarget(key)
        case .keras: return nil  // mapped and converted in memory by KerasLayout
        }
    }

    private static func timmTarget(_ key: String) -> Target? {
        if key.hasSuffix(".num_batches_tracked"), CanonicalKeys.isCanonical(
            String(key.dropLast("num_batches_tracked".count)) + "running_mean") { return .ignored }
        return CanonicalKeys.isCanonical(key) ? .tensor(key) : nil
    }

    /// The MST code's QCFS module names (`models/mst.py`) for the ViT sites, relative to the block.
    static let mstBlockSites: [String: Site.Kind] = [
        "shortcut1_if": .norm1, "attn.q_if": .q, "attn.k_if": .k, "attn.v_if": .v, "attn.attn_if": .scores,
        "attn.attn_v_if": .attnV, "attn.proj_if": .proj, "shortcut2_if": .norm2, "mlp.fc1_if": .fc1,
        "mlp.fc2_if": .fc2,
    ]

    private static func mstTarget(_ key: String) -> Target? {
        let parts = key.split(separator: ".").map(String.init)
        guard parts.last == "up" else { return timmTarget(key) }
        let module = parts.dropLast().joined(separator: ".")
        if module == "patch_embed.proj_if" { return .step(Site(.patchEmbed)) }
        guard parts.count >= 4, parts[0] == "blocks", let n = Int(parts[1]), n >= 0,
              let kind = mstBlockSites[parts[2..<(parts.count - 1)].joined(separator: ".")] else { return nil }
        return .step(Site(kind, block: n))
    }

    private static func huggingFaceTarget(_ key: String) -> Target? {
        let fixed = [
            "vit.embeddings.cls_token": "cls_token",
            "vit.embeddings.position_embeddings": "pos_embed",
            "vit.embeddings.patch_embeddings.projection.weight": "patch_embed.proj.weight",
            "vit.embeddings.patch_embeddings.projection.bias": "patch_embed.proj.bias",
            "vit.layernorm.weight": "norm.weight", "vit.layernorm.bias": "norm.bias",
            "classifier.weight": "head.weight", "classifier.bias": "head.bias",
        ]
        if let canonical = fixed[key] { return .tensor(canonical) }
        // ViTModel's pooler and the masked-image-modelling token are unused by classification.
        if key.hasPrefix("vit.pooler.") || key == "vit.embeddings.mask_token" { return .ignored }
        var parts = key.split(separator: ".").map(String.init)
        let layerPrefix: [String]
        if parts.starts(with: ["vit", "encoder", "layer"]) { layerPrefix = ["vit", "encoder", "layer"] }
        else if parts.starts(with: ["vit", "layers"]) { layerPrefix = ["vit", "layers"] }
        else { return nil }
        parts.removeFirst(layerPrefix.count)
        guard parts.count >= 2, let n = Int(parts[0]), let field = parts.last, field == "weight" || field == "bias"
        else { return nil }
        let module = parts.dropFirst().dropLast().joined(separator: ".")
        let names = [
            "layernorm_before": "norm1", "layernorm_after": "norm2",
            "attention.attention.query": "attn.q", "attention.attention.key": "attn.k",
            "attention.attention.value": "attn.v", "attention.output.dense": "attn.proj",
            "intermediate.dense": "mlp.fc1", "output.dense": "mlp.fc2",
            "attention.q_proj": "attn.q", "attention.k_proj": "attn.k", "attention.v_proj": "attn.v",
            "attention.o_proj": "attn.proj", "mlp.fc1": "mlp.fc1", "mlp.fc2": "mlp.fc2",
        ]
        guard let local = names[module] else { return nil }
        return .tensor("blocks.\(n).\(local).\(field)")
    }

    private static func spikeZIPTarget(_ key: String) -> Target? {
        let parts = key.split(separator: ".").map(String.init)
        if let last = parts.last, ["pos_max_buf", "neg_min_buf", "init_state"].contains(last) { return .ignored }
        if parts.last == "s" {
            let module = parts.dropLast().joined(separator: ".")
            let global: [String: Site.Kind] = [
                "patch_embed.proj.1": .patchEmbed, "norm.1": .finalNorm, "fc_norm.1": .finalNorm,
            ]
            if let kind = global[module] { return .step(Site(kind)) }
            guard parts.count >= 4, parts[0] == "blocks", let n = Int(parts[1]) else { return nil }
            let local: [String: Site.Kind] = [
                "norm1.1": .norm1, "attn.quan_q": .q, "attn.quan_k": .k, "attn.quan_v": .v,
                "attn.attn_quan": .attn, "attn.after_attn_quan": .attnV, "attn.quan_proj": .proj,
                "norm2.1": .norm2, "mlp.act.0": .fc1, "mlp.fc2.1": .fc2,
            ]
            guard let kind = local[parts[2..<(parts.count - 1)].joined(separator: ".")] else { return nil }
            return .step(Site(kind, block: n))
        }
        // Sequential-wrapped parameters (`norm1.0.weight`): drop the `0` that indexes the wrapped op.
        if parts.count >= 3, parts[parts.count - 2] == "0" {
            var unwrapped = parts
            unwrapped.remove(at: parts.count - 2)
            return timmTarget(unwrapped.joined(separator: "."))
        }
        return timmTarget(key)
    }

}

/// The canonical (timm) parameter names, plus `blocks.N.attn.{q,k,v}.*` for checkpoints that split qkv.
enum CanonicalKeys {
    static let global: Set<String> = [
        "cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias",
        "norm.weight", "norm.bias", "fc_norm.weight", "fc_norm.bias", "head.weight", "head.bias",
    ]
    static let perBlock: Set<String> = [
        "norm1.weight", "norm1.bias", "attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight", "attn.proj.bias",
        "norm2.weight", "norm2.bias", "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias",
        "attn.q.weight", "attn.q.bias", "attn.k.weight", "attn.k.bias", "attn.v.weight", "attn.v.bias",
        "norm1.running_mean", "norm1.running_var", "norm2.running_mean", "norm2.running_var",
    ]

    static func isCanonical(_ key: String) -> Bool {
        if global.contains(key) { return true }
        guard let (_, local) = blockKey(key) else { return false }
        return perBlock.contains(local)
    }

    /// Splits `blocks.N.rest` into `(N, rest)`.
    static func blockKey(_ key: String) -> (Int, String)? {
        guard key.hasPrefix("blocks.") else { return nil }
        let rest = key.dropFirst("blocks.".count)
        guard let dot = rest.firstIndex(of: "."), let n = Int(rest[..<dot]) else { return nil }
        return (n, String(rest[rest.index(after: dot)...]))
    }
}
