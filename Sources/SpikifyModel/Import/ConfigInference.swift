import SpikifyCore

/// Infers a ``ViTConfig`` from tensor shapes, then applies root attributes and explicit options.
///
/// From shapes: width, channels and patch size (patch conv), depth (block indices), MLP width (fc1), classes
/// (head), class token (`cls_token` present), token count and image size (`pos_embed`), pooling (`fc_norm`
/// present means average pooling). From attributes: `num_heads`/`num_attention_heads`, `layer_norm_eps`,
/// `act`/`hidden_act`, `global_pool`, `mean`, `std`, `levels`, `batch_norm_eps` (BatchNorm blocks, when the
/// checkpoint has `blocks.N.norm1.running_mean`; default 1e-5 as PyTorch).
enum ConfigInference {
    static func infer(_ r: CheckpointReader, options o: ImportOptions) throws -> ViTConfig {
        let file = r.path
        let patch = try r.shape("patch_embed.proj.weight")
        guard patch.count == 4, patch[2] == patch[3] else {
            throw SpikifyError.shapeMismatch(file: file, key: "patch_embed.proj.weight", expected: [-1, -1, -1, -1], found: patch)
        }
        let (d, channels, p) = (patch[0], patch[1], patch[2])
        let classToken = r.has("cls_token")
        let pos = try r.shape("pos_embed")
        guard let posDim = pos.last, posDim == d, pos.count >= 2 else {
            throw SpikifyError.shapeMismatch(file: file, key: "pos_embed", expected: [1, -1, d], found: pos)
        }
        let tokens = pos[pos.count - 2]
        let patches = tokens - (classToken ? 1 : 0)
        let grid = Int(Double(patches).squareRoot().rounded())
        guard patches > 0, grid * grid == patches else {
            throw SpikifyError.invalidConfig(file: file, message: "pos_embed has \(tokens) tokens; expected a square grid of "
                + "patches\(classToken ? " plus the class token" : "")")
        }
        let blockIndices = Set(r.tensors.keys.compactMap { CanonicalKeys.blockKey($0)?.0 })
        let depth = blockIndices.count
        guard depth > 0, blockIndices == Set(0..<depth) else {
            throw SpikifyError.invalidConfig(file: file, message: "block indices \(blockIndices.sorted()) are not 0..<\(depth)")
        }
        let mlpDim = try r.shape("blocks.0.mlp.fc1.weight").first ?? 0
        let classes = try r.shape("head.weight").first ?? 0

        guard let heads = try o.numHeads ?? r.intAttribute("num_heads", "num_attention_heads") else {
            throw SpikifyError.missingConfig(file: file, what: "the number of attention heads",
                hint: "the file has no 'num_heads' (or 'num_attention_heads') root attribute; pass --num-heads N "
                    + "(ViT-Ti: 3, ViT-S: 6, ViT-B: 12) or add the attribute to the file")
        }
        guard heads > 0, d % heads == 0 else {
            throw SpikifyError.invalidConfig(file: file, message: "\(heads) heads do not divide the width \(d)")
        }
        let isHF = r.layout == .huggingFace || r.layout == .huggingFaceV5
        // Hugging Face's ViTConfig defaults to 1e-12; timm's LayerNorm to 1e-6.
        let eps = try o.layerNormEps ?? r.floatAttribute("layer_norm_eps", "eps") ?? (isHF ? 1e-12 : 1e-6)
        let activation: Activation
        if let a = o.activation {
            activation = a
        } else if let (name, value) = try r.stringAttribute("act", "hidden_act", "act_layer") {
            guard let a = Activation(rawValue: value.lowercased()) else {
                throw SpikifyError.invalidConfig(file: file, message: "attribute '\(name)' is '\(value)'; supported: gelu "
                    + "(exact erf GELU), relu")
            }
            activation = a
        } else {
            // MST models have no activation function: the QCFS on fc1 is it (a ReLU after it changes nothing).
            activation = r.layout == .mst ? .relu : .gelu
        }
        var pool: GlobalPool = r.has("fc_norm.weight") ? .avg : .token
        if let g = o.globalPool {
            pool = g
        } else if let (name, value) = try r.stringAttribute("global_pool") {
            guard let g = GlobalPool(rawValue: value) else {
                throw SpikifyError.invalidConfig(file: file, message: "attribute '\(name)' is '\(value)'; supported: token, avg")
            }
            pool = g
        }
        if (pool == .avg) != r.has("fc_norm.weight") {
            throw SpikifyError.invalidConfig(file: file, message: pool == .avg
                ? "average pooling needs 'fc_norm' weights (timm applies fc_norm after pooling), found 'norm'"
                : "token pooling uses 'norm', but the file has 'fc_norm' (an average-pooling model)")
        }
        if pool == .token && !classToken {
            throw SpikifyError.invalidConfig(file: file, message: "token pooling needs a class token, and 'cls_token' is absent")
        }
        let mean = try o.mean ?? r.floatsAttribute("mean")
        let std = try o.std ?? r.floatsAttribute("std")
        for (name, values) in [("mean", mean), ("std", std)] {
            if let values, values.count != channels {
                throw SpikifyError.invalidConfig(file: file, message: "'\(name)' has \(values.count) values, expected one per "
                    + "input channel (\(channels))")
            }
        }
        if let std, std.contains(where: { !($0 > 0) }) {
            throw SpikifyError.invalidConfig(file: file, message: "'std' must be positive, got \(std)")
        }
        let levels = try r.intAttribute("levels", "level")
        if let levels, levels < 2 {
            throw SpikifyError.invalidConfig(file: file, message: "levels is \(levels), expected at least 2")
        }
        var batchNorm: BlockBatchNorm?
        if r.has("blocks.0.norm1.running_mean") {
            let bnEps = try r.floatAttribute("batch_norm_eps") ?? 1e-5
            guard bnEps.isFinite, bnEps > 0 else {
                throw SpikifyError.invalidConfig(file: file, message: "batch_norm_eps is \(bnEps), expected a positive number")
            }
            batchNorm = BlockBatchNorm(eps: bnEps)
        }
        let config = ViTConfig(
            imageSize: grid * p, patchSize: p, channels: channels, embedDim: d, depth: depth, numHeads: heads,
            mlpDim: mlpDim, numClasses: classes, classToken: classToken, globalPool: pool, activation: activation,
            layerNormEps: eps, mean: mean, std: std, levels: levels, blockBatchNorm: batchNorm)
        try config.validate(file: file)
        return config
    }
}
