import HDF5
import SpikifyCore

/// Keras 3 `.weights.h5` files of keras_hub's ViT (`keras_hub.models.ViTImageClassifier` around a
/// `keras_hub.models.ViTBackbone`), written by `model.save_weights(…)`, mapped to the canonical (timm) tensors.
///
/// Keras 3 stores one group per layer, named after the attribute or the snake-cased class that tracks it, and each
/// layer's own variables as `vars/0`, `vars/1`, … in creation order (Keras 3 documentation, "Save, serialize, and
/// export models", the `.weights.h5` format). For keras_hub's ViT (checked with keras 3.15.1 and keras-hub 0.32.0;
/// `docs/keras-import.md`):
///
/// | Keras path (below the backbone group)                                   | shape                | canonical |
/// |---|---|---|
/// | `vi_t_patching_and_embedding/vars/0` (class token)                       | `[1, 1, D]`          | `cls_token` |
/// | `vi_t_patching_and_embedding/patch_embedding/vars/0`, `/1` (Conv2D)     | `[p, p, C, D]`, `[D]`| `patch_embed.proj.*` `[D, C, p, p]` |
/// | `vi_t_patching_and_embedding/position_embedding/vars/0` (Embedding)     | `[T, D]`             | `pos_embed` |
/// | `vi_t_encoder/encoder_layers/vi_t_encoder_block[_N]/layer_norm_1/vars/0`, `/1` | `[D]`         | `blocks.N.norm1.{weight,bias}` |
/// | `…/mha/{query,key,value}_dense/vars/0`, `/1` (MultiHeadAttention)       | `[D, H, D/H]`, `[H, D/H]` | `blocks.N.attn.{q,k,v}.*` `[D, D]` |
/// | `…/mha/output_dense/vars/0`, `/1`                                        | `[H, D/H, D]`, `[D]` | `blocks.N.attn.proj.*` |
/// | `…/layer_norm_2/vars/…`, `…/mlp/dense_1/vars/…`, `…/mlp/dense_2/vars/…` | Dense `[in, out]`    | `norm2`, `mlp.fc1`, `mlp.fc2` |
/// | `vi_t_encoder/layer_norm/vars/0`, `/1`                                   | `[D]`                | `norm.*` |
/// | the classifier's Dense `predictions`, outside the backbone               | `[D, classes]`       | `head.*` |
///
/// Blocks are numbered by Keras' naming of list items: `vi_t_encoder_block` is block 0, `vi_t_encoder_block_N` is
/// block N. Dense kernels are `[in, out]` and are transposed; LayerNorm `vars/0` is gamma and `vars/1` beta.
/// Optimizer state (`optimizer/…`) and layers without variables are ignored.
///
/// The weights file holds no configuration. What the shapes do not give is keras_hub's: `num_heads` from the
/// query kernel, `layer_norm_eps` 1e-6 (the `ViTBackbone` default), `act` gelu (the MLP's
/// `Dense(activation="gelu")` is `keras.activations.gelu` with `approximate=False`, the exact erf GELU), and
/// `global_pool` token (`ViTImageClassifier`'s default pooling). Root attributes of the file and CLI flags
/// still override these.
enum KerasLayout {
    /// A tensor converted to its canonical shape, and the Keras dataset it came from (for messages).
    struct Converted: Sendable {
        let shape: [Int]
        let values: [Float]
        let source: String
    }

    struct Result {
        /// canonical name → converted tensor
        var tensors: [String: Converted] = [:]
        /// Configuration derived from the file: `num_heads`, `layer_norm_eps`, `act`, `global_pool`.
        var attributes: [String: HDF5Value] = [:]
    }

    static let embeddingGroup = "vi_t_patching_and_embedding"
    static let encoderGroup = "vi_t_encoder"
    static let blockGroup = "vi_t_encoder_block"

    /// Keras 3's layout: every dataset sits in a `vars` group (`…/vars/0`) and some under a top-level `layers/`.
    static func matches(_ datasetPaths: [String]) -> Bool {
        let parts = datasetPaths.map(components)
        guard parts.contains(where: { $0.first == "layers" }) else { return false }
        return parts.allSatisfy { $0.count >= 2 && $0[$0.count - 2] == "vars" && Int($0[$0.count - 1]) != nil }
    }

    static func components(_ path: String) -> [String] { path.split(separator: "/").map(String.init) }

    /// Where one dataset belongs.
    private enum Slot: Hashable {
        case classToken, patchKernel, patchBias, position, normGamma, normBeta
        case block(Int, String)  // block index, local role such as "q.kernel", "norm1.gamma"
        case denseKernel(String), denseBias(String)  // a Dense outside the backbone, by its group path
    }

    /// Reads and converts every tensor; throws naming the file and the Keras paths for a file that is not a
    /// keras_hub ViT classifier, a missing or misshapen variable, or one this mapping does not know.
    static func read(_ file: HDF5File, path: String, datasetPaths: [String]) throws -> Result {
        var slots: [Slot: String] = [:], unexpected: [String] = []
        var blockGroups: [Int: String] = [:]
        for p in datasetPaths {
            let c = components(p)
            if c.first == "optimizer" { continue }
            guard let slot = slot(of: c, blockGroups: &blockGroups) else { unexpected.append(p); continue }
            slots[slot] = p
        }
        let hasBackbone = datasetPaths.contains { p in
            components(p).contains { $0 == embeddingGroup || $0 == encoderGroup }
        }
        guard hasBackbone else { throw notAViT(file, path: path, datasetPaths: datasetPaths) }
        if !unexpected.isEmpty { throw SpikifyError.unexpectedKeys(file: path, keys: unexpected.sorted()) }

        // The classification head: the Dense layers outside the backbone.
        let denseGroups = Set(slots.keys.compactMap { s -> String? in
            if case .denseKernel(let g) = s { return g }
            if case .denseBias(let g) = s { return g }
            return nil
        })
        var head: String?
        if denseGroups.count == 1 {
            head = denseGroups.first
        } else if denseGroups.count > 1 {
            let named = try denseGroups.filter { try layerName(file, group: $0) == "predictions" }
            guard named.count == 1, let h = named.first else {
                throw SpikifyError.invalidConfig(file: path, message: "\(denseGroups.count) Dense layers outside the "
                    + "ViT backbone (\(denseGroups.sorted().joined(separator: ", "))); expected only the classifier "
                    + "'predictions' (keras_hub ViTImageClassifier with intermediate_dim=None: a pre-logits layer is "
                    + "not supported)")
            }
            let others = denseGroups.subtracting([h]).sorted()
            throw SpikifyError.invalidConfig(file: path, message: "Dense layers \(others.joined(separator: ", ")) "
                + "sit between the ViT backbone and the classifier '\(h)' (ViTImageClassifier's intermediate_dim, a "
                + "tanh pre-logits layer); Spikify's ViT has no pre-logits layer")
        }

        // Everything required, listed at once with the Keras paths expected.
        let depth = (blockGroups.keys.max() ?? -1) + 1
        var missing: [String] = []
        let embedding = prefix(of: datasetPaths, group: embeddingGroup) ?? "layers/…/\(embeddingGroup)/"
        let encoder = prefix(of: datasetPaths, group: encoderGroup) ?? "layers/…/\(encoderGroup)/"
        func need(_ s: Slot, _ keras: String) { if slots[s] == nil { missing.append(keras) } }
        need(.patchKernel, embedding + "patch_embedding/vars/0")
        need(.position, embedding + "position_embedding/vars/0")
        need(.normGamma, encoder + "layer_norm/vars/0")
        if depth == 0 { missing.append(encoder + "encoder_layers/\(blockGroup)/…") }
        for i in 0..<depth {
            let b = encoder + "encoder_layers/" + (blockGroups[i] ?? (i == 0 ? blockGroup : "\(blockGroup)_\(i)")) + "/"
            for (role, local) in [
                ("norm1.gamma", "layer_norm_1/vars/0"), ("q.kernel", "mha/query_dense/vars/0"),
                ("k.kernel", "mha/key_dense/vars/0"), ("v.kernel", "mha/value_dense/vars/0"),
                ("proj.kernel", "mha/output_dense/vars/0"), ("norm2.gamma", "layer_norm_2/vars/0"),
                ("fc1.kernel", "mlp/dense_1/vars/0"), ("fc2.kernel", "mlp/dense_2/vars/0"),
            ] { need(.block(i, role), b + local) }
        }
        if head == nil {
            missing.append("the classification head (the Dense 'predictions' of keras_hub.models.ViTImageClassifier; "
                + "a ViTBackbone alone has none)")
        } else if let h = head {
            need(.denseKernel(h), h + "/vars/0")
        }
        if !missing.isEmpty { throw SpikifyError.missingKeys(file: path, keys: missing) }
        guard slots[.classToken] != nil else {
            throw SpikifyError.invalidConfig(file: path, message: "a keras_hub ViT without a class token "
                + "(use_class_token=False; no \(embedding)vars/0): ViTImageClassifier then pools the first patch token "
                + "('token') or the mean of the tokens after the final LayerNorm ('gap'), and Spikify pools a class "
                + "token, or (timm) the patch-token mean before the final norm; not supported")
        }

        // Read and convert.
        var r = Result()
        func raw(_ s: Slot) throws -> (values: [Float], shape: [Int], source: String)? {
            guard let p = slots[s] else { return nil }
            let ds = try hdf5 { try file.root.dataset(p) }
            return (try hdf5 { try ds.readFloats() }, ds.shape, p)
        }
        func put(_ name: String, _ shape: [Int], _ values: [Float], _ source: String) {
            r.tensors[name] = Converted(shape: shape, values: values, source: source)
        }
        func expect(_ t: (values: [Float], shape: [Int], source: String), _ shape: [Int]) throws {
            guard t.shape == shape else {
                throw SpikifyError.shapeMismatch(file: path, key: t.source, expected: shape, found: t.shape)
            }
        }

        let kernel = try raw(.patchKernel)!
        guard kernel.shape.count == 4, kernel.shape[0] == kernel.shape[1] else {
            throw SpikifyError.shapeMismatch(file: path, key: kernel.source, expected: [-1, -1, -1, -1], found: kernel.shape)
        }
        let (p, channels, d) = (kernel.shape[0], kernel.shape[2], kernel.shape[3])
        // Conv2D kernel [kh, kw, cin, cout] → PyTorch [cout, cin, kh, kw].
        put("patch_embed.proj.weight", [d, channels, p, p],
            permute(kernel.values, shape: kernel.shape, order: [3, 2, 0, 1]), kernel.source)
        if let bias = try raw(.patchBias) {
            try expect(bias, [d])
            put("patch_embed.proj.bias", [d], bias.values, bias.source)
        }
        let cls = try raw(.classToken)!
        try expect(cls, [1, 1, d])
        put("cls_token", [1, 1, d], cls.values, cls.source)
        let pos = try raw(.position)!
        guard pos.shape.count == 2, pos.shape[1] == d else {
            throw SpikifyError.shapeMismatch(file: path, key: pos.source, expected: [-1, d], found: pos.shape)
        }
        put("pos_embed", [1] + pos.shape, pos.values, pos.source)

        var heads = 0
        for i in 0..<depth {
            let b = "blocks.\(i)."
            for (role, name) in [("norm1", "norm1"), ("norm2", "norm2")] {
                let gamma = try raw(.block(i, role + ".gamma"))!
                try expect(gamma, [d])
                put(b + name + ".weight", [d], gamma.values, gamma.source)
                if let beta = try raw(.block(i, role + ".beta")) {
                    try expect(beta, [d])
                    put(b + name + ".bias", [d], beta.values, beta.source)
                }
            }
            for part in ["q", "k", "v"] {
                let k = try raw(.block(i, part + ".kernel"))!
                guard k.shape.count == 3, k.shape[0] == d, k.shape[1] > 0, k.shape[1] * k.shape[2] == d else {
                    throw SpikifyError.shapeMismatch(file: path, key: k.source, expected: [d, -1, -1], found: k.shape)
                }
                if heads == 0 { heads = k.shape[1] }
                try expect(k, [d, heads, d / heads])
                // [D_in, H, head_dim] = [D_in, D_out] → [D_out, D_in]; output feature h·head_dim + j is head h.
                put(b + "attn.\(part).weight", [d, d], transpose(k.values, rows: d, cols: d), k.source)
                if let bias = try raw(.block(i, part + ".bias")) {
                    try expect(bias, [heads, d / heads])
                    put(b + "attn.\(part).bias", [d], bias.values, bias.source)
                }
            }
            let o = try raw(.block(i, "proj.kernel"))!
            try expect(o, [heads, d / heads, d])
            put(b + "attn.proj.weight", [d, d], transpose(o.values, rows: d, cols: d), o.source)
            if let bias = try raw(.block(i, "proj.bias")) {
                try expect(bias, [d])
                put(b + "attn.proj.bias", [d], bias.values, bias.source)
            }
            let fc1 = try raw(.block(i, "fc1.kernel"))!
            guard fc1.shape.count == 2, fc1.shape[0] == d else {
                throw SpikifyError.shapeMismatch(file: path, key: fc1.source, expected: [d, -1], found: fc1.shape)
            }
            let m = fc1.shape[1]
            put(b + "mlp.fc1.weight", [m, d], transpose(fc1.values, rows: d, cols: m), fc1.source)
            if let bias = try raw(.block(i, "fc1.bias")) {
                try expect(bias, [m])
                put(b + "mlp.fc1.bias", [m], bias.values, bias.source)
            }
            let fc2 = try raw(.block(i, "fc2.kernel"))!
            try expect(fc2, [m, d])
            put(b + "mlp.fc2.weight", [d, m], transpose(fc2.values, rows: m, cols: d), fc2.source)
            if let bias = try raw(.block(i, "fc2.bias")) {
                try expect(bias, [d])
                put(b + "mlp.fc2.bias", [d], bias.values, bias.source)
            }
        }
        let gamma = try raw(.normGamma)!
        try expect(gamma, [d])
        put("norm.weight", [d], gamma.values, gamma.source)
        if let beta = try raw(.normBeta) {
            try expect(beta, [d])
            put("norm.bias", [d], beta.values, beta.source)
        }
        let h = head!
        let hk = try raw(.denseKernel(h))!
        guard hk.shape.count == 2, hk.shape[0] == d else {
            throw SpikifyError.shapeMismatch(file: path, key: hk.source, expected: [d, -1], found: hk.shape)
        }
        let classes = hk.shape[1]
        put("head.weight", [classes, d], transpose(hk.values, rows: d, cols: classes), hk.source)
        if let bias = try raw(.denseBias(h)) {
            try expect(bias, [classes])
            put("head.bias", [classes], bias.values, bias.source)
        }

        r.attributes = [
            "num_heads": .int(Int64(heads)), "layer_norm_eps": .double(1e-6), "act": .string("gelu"),
            "global_pool": .string("token"),
        ]
        return r
    }

    /// The slot of a dataset given as path components, or nil when this mapping does not know it.
    private static func slot(of c: [String], blockGroups: inout [Int: String]) -> Slot? {
        guard c.count >= 3, c[c.count - 2] == "vars", let n = Int(c[c.count - 1]) else { return nil }
        let owner = Array(c.dropLast(2))  // the layer's group path
        if let e = owner.lastIndex(of: embeddingGroup) {
            let rest = Array(owner[(e + 1)...])
            switch (rest, n) {
            case ([], 0): return .classToken
            case (["patch_embedding"], 0): return .patchKernel
            case (["patch_embedding"], 1): return .patchBias
            case (["position_embedding"], 0): return .position
            default: return nil
            }
        }
        if let e = owner.lastIndex(of: encoderGroup) {
            let rest = Array(owner[(e + 1)...])
            if rest == ["layer_norm"] { return n == 0 ? .normGamma : n == 1 ? .normBeta : nil }
            guard rest.count >= 3, rest[0] == "encoder_layers", let i = blockIndex(rest[1]) else { return nil }
            blockGroups[i] = rest[1]
            let local = rest[2...].joined(separator: "/")
            let roles: [String: String] = [
                "layer_norm_1": "norm1", "layer_norm_2": "norm2", "mha/query_dense": "q", "mha/key_dense": "k",
                "mha/value_dense": "v", "mha/output_dense": "proj", "mlp/dense_1": "fc1", "mlp/dense_2": "fc2",
            ]
            guard let role = roles[local], n <= 1 else { return nil }
            let isNorm = role.hasPrefix("norm")
            return .block(i, role + "." + (isNorm ? (n == 0 ? "gamma" : "beta") : (n == 0 ? "kernel" : "bias")))
        }
        guard !owner.isEmpty, n <= 1 else { return nil }
        let group = owner.joined(separator: "/")
        return n == 0 ? .denseKernel(group) : .denseBias(group)
    }

    /// `vi_t_encoder_block` → 0, `vi_t_encoder_block_N` → N (Keras names the items of a tracked list by class,
    /// numbering repeats in list order).
    static func blockIndex(_ name: String) -> Int? {
        if name == blockGroup { return 0 }
        guard name.hasPrefix(blockGroup + "_"), let n = Int(name.dropFirst(blockGroup.count + 1)), n > 0 else {
            return nil
        }
        return n
    }

    /// The path up to and including `group/` in the first dataset path that has it.
    private static func prefix(of paths: [String], group: String) -> String? {
        for p in paths {
            let c = components(p)
            if let i = c.lastIndex(of: group) { return c[...i].joined(separator: "/") + "/" }
        }
        return nil
    }

    /// The layer name Keras records on a `vars` group (attribute `name`), if any.
    private static func layerName(_ file: HDF5File, group: String) throws -> String? {
        guard case .string(let s)? = try hdf5({ try file.root.group(group + "/vars").attribute("name") }) else {
            return nil
        }
        return s
    }

    private static func notAViT(_ file: HDF5File, path: String, datasetPaths: [String]) -> SpikifyError {
        var found: [String] = []
        for p in datasetPaths where !p.hasPrefix("optimizer/") {
            let shape = (try? file.root.dataset(p).shape).map { "\($0)" } ?? "?"
            found.append("\(p) \(shape)")
        }
        let list = found.count <= 8 ? found.joined(separator: ", ")
            : found.prefix(8).joined(separator: ", ") + ", … (\(found.count - 8) more)"
        return .invalidConfig(file: path, message: "a Keras 3 weights file, but not a keras_hub ViT: found "
            + "\(found.isEmpty ? "no variables" : list); a ViT needs the groups \(embeddingGroup) (patch_embedding, "
            + "position_embedding, class token) and \(encoderGroup) (encoder_layers/\(blockGroup)…, layer_norm) "
            + "of keras_hub.models.ViTBackbone, and the Dense classifier of keras_hub.models.ViTImageClassifier")
    }

    /// Row-major `[rows, cols]` → `[cols, rows]`.
    static func transpose(_ x: [Float], rows: Int, cols: Int) -> [Float] {
        precondition(x.count == rows * cols)  // callers pass shapes checked against the file's dataset
        var y = [Float](repeating: 0, count: x.count)
        for r in 0..<rows { for c in 0..<cols { y[c * rows + r] = x[r * cols + c] } }
        return y
    }

    /// A row-major tensor with its axes reordered: output axis k is input axis `order[k]`.
    static func permute(_ x: [Float], shape: [Int], order: [Int]) -> [Float] {
        let rank = shape.count
        var inStrides = [Int](repeating: 1, count: rank)
        for k in stride(from: rank - 2, through: 0, by: -1) { inStrides[k] = inStrides[k + 1] * shape[k + 1] }
        let outShape = order.map { shape[$0] }
        var y = [Float](repeating: 0, count: x.count)
        var index = [Int](repeating: 0, count: rank)
        for o in 0..<x.count {
            var source = 0
            for k in 0..<rank { source += index[k] * inStrides[order[k]] }
            y[o] = x[source]
            var k = rank - 1
            while k >= 0 {
                index[k] += 1
                if index[k] < outShape[k] { break }
                index[k] = 0
                k -= 1
            }
        }
        return y
    }
}

extension CheckpointReader {
    /// A tensor converted in memory (``KerasLayout``), checked like ``read(_:shape:)``: trailing dims equal to
    /// `expected` after dropping leading ones, every value finite. Errors name the Keras dataset.
    func readConverted(_ t: KerasLayout.Converted, shape expected: [Int]) throws -> [Float] {
        var found = t.shape
        while found.count > expected.count, found.first == 1 { found.removeFirst() }
        guard found == expected else {
            throw SpikifyError.shapeMismatch(file: path, key: t.source, expected: expected, found: t.shape)
        }
        let bad = t.values.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
        if bad > 0 { throw SpikifyError.nonFinite(file: path, key: t.source, count: bad) }
        return t.values
    }
}
