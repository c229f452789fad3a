import Foundation

/// What kind of computation a row of the energy table is (docs/energy.md, "Operation counts").
public enum OperationKind: String, Sendable, Equatable {
    /// A weight matrix applied to activations (patch embedding, q/k/v/proj, fc1/fc2, head).
    case linear
    /// A product of two activations (Q·Kᵀ, A·V).
    case product
    /// A LayerNorm.
    case norm
    /// The attention softmax.
    case softmax
}

/// The multiply-accumulates one layer of the ANN performs on one image.
public struct LayerOperations: Sendable, Equatable {
    /// The weight tensor's name for linear layers (as in the report's `synaptic_events`), else a descriptive name
    /// such as `blocks.0.attn.qk` or `blocks.0.norm1`.
    public var name: String
    public var kind: OperationKind
    /// The transformer block, `nil` for the patch embedding, final norm and head.
    public var block: Int?
    public var macs: Double
}

/// Multiply-accumulate counts of a ViT forward pass per image, from its configuration (docs/energy.md).
///
/// With patches P_n = (image_size / patch_size)², tokens N = P_n + 1 (class token) or P_n, width D, heads h,
/// MLP width M, C channels, patch size p and K classes:
/// - patch embedding: P_n · D · C·p² (a convolution with stride p is one matrix product per patch);
/// - q, k, v and proj: N · D · D each;
/// - Q·Kᵀ: h · N · N · (D/h) = N² · D; A·V: the same, N² · D;
/// - softmax: h · N² (one operation per attention score, counted as one MAC);
/// - LayerNorm (norm1, norm2, final): 2 · N · D (the squared deviation and the affine γ·x̂ + β per element);
/// - fc1 and fc2: N · D · M each; head: D · K (one pooled vector).
/// Biases, activations (GELU/ReLU), residual additions and pooling are not counted (they are O(N·D) and
/// the same in every network compared). This is the counting convention of Spikformer and SpikeZIP-TF.
public enum ViTOperationCount {
    /// The per-layer counts in forward order, or `nil` when the configuration lacks a size it needs
    /// (image, patch, channels, width, depth, heads, MLP width, classes) or has a depth over 10 000.
    public static func layers(_ config: ReportDocument.Config) -> [LayerOperations]? {
        guard let image = config.imageSize, let patch = config.patchSize, patch > 0, let channels = config.channels,
              let width = config.embedDim, let depth = config.depth, let heads = config.numHeads,
              let mlp = config.mlpDim, let classes = config.numClasses, depth <= 10_000 else { return nil }
        let side = Double(image / patch), patches = side * side
        let n = patches + ((config.classToken ?? true) ? 1 : 0)
        let d = Double(width), m = Double(mlp)
        var rows = [LayerOperations(name: "patch_embed.proj.weight", kind: .linear, block: nil,
                                    macs: patches * d * Double(channels) * Double(patch) * Double(patch))]
        for b in 0..<max(depth, 0) {
            func row(_ suffix: String, _ kind: OperationKind, _ macs: Double) -> LayerOperations {
                LayerOperations(name: "blocks.\(b).\(suffix)", kind: kind, block: b, macs: macs)
            }
            rows += [
                row("norm1", .norm, 2 * n * d),
                row("attn.q.weight", .linear, n * d * d),
                row("attn.k.weight", .linear, n * d * d),
                row("attn.v.weight", .linear, n * d * d),
                row("attn.qk", .product, n * n * d),
                row("attn.softmax", .softmax, Double(heads) * n * n),
                row("attn.av", .product, n * n * d),
                row("attn.proj.weight", .linear, n * d * d),
                row("norm2", .norm, 2 * n * d),
                row("mlp.fc1.weight", .linear, n * d * m),
                row("mlp.fc2.weight", .linear, n * m * d),
            ]
        }
        rows.append(LayerOperations(name: "final_norm", kind: .norm, block: nil, macs: 2 * n * d))
        rows.append(LayerOperations(name: "head.weight", kind: .linear, block: nil, macs: d * Double(classes)))
        return rows
    }

    /// The neuron sites whose spikes change the two factors of a product row (`blocks.b.attn.qk` → the `q` and
    /// `k` sites; `attn.av` → `attn` and `v`), following the site names of the spiking executor.
    static func factorSites(of row: LayerOperations) -> [String] {
        guard let b = row.block, row.kind == .product else { return [] }
        return row.name.hasSuffix(".qk") ? ["blocks.\(b).q", "blocks.\(b).k"] : ["blocks.\(b).attn", "blocks.\(b).v"]
    }
}
