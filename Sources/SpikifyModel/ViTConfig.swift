import SpikifyCore

/// MLP activation of a ViT block.
public enum Activation: String, Sendable, Codable, CaseIterable {
    /// Exact erf GELU (`nn.GELU()`, HF `hidden_act="gelu"`).
    case gelu
    case relu
}

/// How the classifier input is pooled from the token sequence (timm `global_pool`).
public enum GlobalPool: String, Sendable, Codable, CaseIterable {
    /// The class token after the final `norm`.
    case token
    /// Mean of the patch tokens (class token excluded), then `fc_norm`.
    case avg
}

/// BatchNorm in place of the blocks' LayerNorms (MST, Wang et al. ICCV 2023, Fig. 2(b)): `BatchNorm1d` over
/// `(batch, channels, tokens)`, so one mean and variance per channel, pooled over batch and tokens; evaluated with
/// its running statistics, `y = (x − μ)/√(σ² + eps)·γ + β`. The final norm stays a LayerNorm.
public struct BlockBatchNorm: Sendable, Equatable, Codable {
    public var eps: Float
    public init(eps: Float = 1e-5) { self.eps = eps }
}

/// Architecture of a timm-style `VisionTransformer`: everything needed to run its weights.
public struct ViTConfig: Sendable, Equatable, Codable {
    public var imageSize: Int
    public var patchSize: Int
    public var channels: Int
    public var embedDim: Int
    public var depth: Int
    public var numHeads: Int
    public var mlpDim: Int
    public var numClasses: Int
    public var classToken: Bool
    public var globalPool: GlobalPool
    public var activation: Activation
    public var layerNormEps: Float
    /// Per-channel input normalisation applied to uint8 images (`(x/255 − mean)/std`).
    public var mean: [Float]
    public var std: [Float]
    /// Quantization levels of a QANN checkpoint, when the file declares them.
    public var levels: Int?
    /// Non-nil when norm1/norm2 are BatchNorms (an MST-trained ViT); `layerNormEps` then applies to the final norm.
    public var blockBatchNorm: BlockBatchNorm?

    public init(
        imageSize: Int, patchSize: Int, channels: Int, embedDim: Int, depth: Int, numHeads: Int, mlpDim: Int,
        numClasses: Int, classToken: Bool = true, globalPool: GlobalPool = .token, activation: Activation = .gelu,
        layerNormEps: Float = 1e-6, mean: [Float]? = nil, std: [Float]? = nil, levels: Int? = nil,
        blockBatchNorm: BlockBatchNorm? = nil
    ) {
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.channels = channels
        self.embedDim = embedDim
        self.depth = depth
        self.numHeads = numHeads
        self.mlpDim = mlpDim
        self.numClasses = numClasses
        self.classToken = classToken
        self.globalPool = globalPool
        self.activation = activation
        self.layerNormEps = layerNormEps
        self.mean = mean ?? Array(repeating: 0.5, count: channels)
        self.std = std ?? Array(repeating: 0.5, count: channels)
        self.levels = levels
        self.blockBatchNorm = blockBatchNorm
    }

    public var gridSize: Int { imageSize / patchSize }
    public var patchCount: Int { gridSize * gridSize }
    /// Tokens in the sequence: patches plus the class token.
    public var tokenCount: Int { patchCount + (classToken ? 1 : 0) }
    public var headDim: Int { embedDim / numHeads }
    public var patchFeatures: Int { channels * patchSize * patchSize }
}

extension ViTConfig {
    /// Largest side, width, depth, class count or element count a configuration may declare: far beyond any ViT,
    /// and small enough that every size computed from them stays within Int and fits in memory checks.
    public static let sizeLimit = 1 << 16
    public static let elementLimit = 1 << 31

    /// Checks everything the forward pass and the spiking graph rely on: positive sizes within limits, a patch that
    /// tiles the image, heads that divide the width, a finite positive LayerNorm eps, one finite mean and one finite
    /// positive std per channel, levels in 2 … 2²⁴. `file` names the source in the error.
    public func validate(file: String) throws {
        func bad(_ message: String) -> SpikifyError { .invalidConfig(file: file, message: message) }
        for (name, value) in [("image_size", imageSize), ("patch_size", patchSize), ("channels", channels),
                              ("embed_dim", embedDim), ("depth", depth), ("num_heads", numHeads), ("mlp_dim", mlpDim),
                              ("num_classes", numClasses)] where !(1...Self.sizeLimit).contains(value) {
            throw bad("\(name) is \(value); expected 1 … \(Self.sizeLimit)")
        }
        guard imageSize % patchSize == 0 else { throw bad("patch_size \(patchSize) does not tile image_size \(imageSize)") }
        guard embedDim % numHeads == 0 else { throw bad("\(numHeads) heads do not divide the width \(embedDim)") }
        let (tokenElements, o1) = tokenCount.multipliedReportingOverflow(by: max(embedDim, mlpDim))
        let (scoreElements, o2) = (tokenCount * tokenCount).multipliedReportingOverflow(by: numHeads)
        guard !o1, !o2, tokenElements <= Self.elementLimit, scoreElements <= Self.elementLimit else {
            throw bad("\(tokenCount) tokens of width \(embedDim) (MLP \(mlpDim), \(numHeads) heads) exceed "
                + "\(Self.elementLimit) values per image")
        }
        guard layerNormEps.isFinite, layerNormEps > 0 else {
            throw bad("layer_norm_eps is \(layerNormEps); expected a finite positive number")
        }
        guard mean.count == channels, std.count == channels else {
            throw bad("mean and std need one value per input channel (\(channels)); got \(mean.count) and \(std.count)")
        }
        if let m = mean.first(where: { !$0.isFinite }) { throw bad("mean holds \(m); expected finite values") }
        if let s = std.first(where: { !($0.isFinite && $0 > 0) }) { throw bad("std holds \(s); expected finite positive values") }
        if let levels, !(2...(1 << 24)).contains(levels) { throw bad("levels is \(levels); expected 2 … \(1 << 24)") }
    }
}
