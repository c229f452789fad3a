import SpikifyCore

/// An activation site of the ViT graph: a place where SpikeZIP-TF puts a quantizer in the QANN and a neuron in the
/// SNN (SpikeZIP-TF's quantizer placement, You et al., ICML 2024; docs/methods/spikezip.md). Sites are the vocabulary shared by calibration,
/// quantization, conversion and statistics.
public struct Site: Hashable, Sendable, Comparable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable, Codable {
        case patchEmbed = "patch_embed"
        case norm1, q, k, v
        /// Scaled attention scores `q·kᵀ/√d` before the softmax (a QCFS site of MST, Wang et al. ICCV 2023 §3.2;
        /// not a SpikeZIP-TF site, so ``Site/all(depth:)`` leaves it out).
        case scores
        /// Softmax output (attention probabilities).
        case attn
        /// `attn · v`.
        case attnV = "attn_v"
        case proj, norm2
        /// fc1 output, before the activation.
        case fc1
        case fc2
        /// Final `norm` (token pooling) or `fc_norm` (average pooling).
        case finalNorm = "final_norm"

        var order: Int { Kind.allCases.firstIndex(of: self)! }
        public var isPerBlock: Bool { self != .patchEmbed && self != .finalNorm }
    }

    /// Block index for per-block sites, nil for global ones.
    public let block: Int?
    public let kind: Kind

    public init(_ kind: Kind, block: Int? = nil) {
        // Sites are built in code; names from files go through the failable init(name:).
        precondition(kind.isPerBlock == (block != nil), "site \(kind) \(kind.isPerBlock ? "needs" : "takes no") block")
        self.kind = kind
        self.block = block
    }

    /// Stable name used in files and reports: `patch_embed`, `blocks.3.q`, `final_norm`.
    public var name: String { block.map { "blocks.\($0).\(kind.rawValue)" } ?? kind.rawValue }
    public var description: String { name }

    public init?(name: String) {
        let parts = name.split(separator: ".")
        if parts.count == 1, let k = Kind(rawValue: String(parts[0])), !k.isPerBlock { self.init(k); return }
        if parts.count == 3, parts[0] == "blocks", let b = Int(parts[1]), let k = Kind(rawValue: String(parts[2])),
            k.isPerBlock
        { self.init(k, block: b); return }
        return nil
    }

    /// Whether the site carries signed values. Attention probabilities are unsigned; so is fc1 in ReLU MLPs
    /// (quantizer before the ReLU, which it makes redundant). GELU fc1 is signed (Spikify's GELU extension).
    public func isSigned(activation: Activation) -> Bool {
        switch kind {
        case .attn: return false
        case .fc1: return activation == .gelu
        default: return true
        }
    }

    /// All SpikeZIP-TF quantizer sites of a model in graph order (every kind but ``Kind/scores``).
    public static func all(depth: Int) -> [Site] {
        var sites = [Site(.patchEmbed)]
        for b in 0..<depth {
            for k in Kind.allCases where k.isPerBlock && k != .scores { sites.append(Site(k, block: b)) }
        }
        sites.append(Site(.finalNorm))
        return sites
    }

    /// The QCFS sites of an MST-converted ViT in graph order (Wang et al., ICCV 2023, §3.2 adapted to a ViT):
    /// patch embedding, norm1, q, k, v, scaled scores, attn·v, proj, norm2, fc1, fc2.
    public static func qcfs(depth: Int) -> [Site] {
        var sites = [Site(.patchEmbed)]
        let kinds: [Kind] = [.norm1, .q, .k, .v, .scores, .attnV, .proj, .norm2, .fc1, .fc2]
        for b in 0..<depth { sites += kinds.map { Site($0, block: b) } }
        return sites
    }

    public static func < (a: Site, b: Site) -> Bool {
        let ab = a.kind == .patchEmbed ? -1 : (a.block ?? Int.max)
        let bb = b.kind == .patchEmbed ? -1 : (b.block ?? Int.max)
        return ab != bb ? ab < bb : a.kind.order < b.kind.order
    }
}
