import SpikifyCore

/// Parameters of one pre-norm transformer block (timm `Block`).
public struct BlockWeights: Sendable, Equatable {
    public var norm1Weight: [Float], norm1Bias: [Float]
    /// `[3·D, D]`, rows ordered q, k, v with heads contiguous inside each (timm `attn.qkv`).
    public var qkvWeight: [Float], qkvBias: [Float]
    public var projWeight: [Float], projBias: [Float]
    public var norm2Weight: [Float], norm2Bias: [Float]
    public var fc1Weight: [Float], fc1Bias: [Float]
    public var fc2Weight: [Float], fc2Bias: [Float]
    /// BatchNorm running statistics of norm1/norm2 (``ViTConfig/blockBatchNorm``); empty for LayerNorm blocks.
    public var norm1RunningMean: [Float] = [], norm1RunningVar: [Float] = []
    public var norm2RunningMean: [Float] = [], norm2RunningVar: [Float] = []

    public init(
        norm1Weight: [Float], norm1Bias: [Float], qkvWeight: [Float], qkvBias: [Float], projWeight: [Float],
        projBias: [Float], norm2Weight: [Float], norm2Bias: [Float], fc1Weight: [Float], fc1Bias: [Float],
        fc2Weight: [Float], fc2Bias: [Float]
    ) {
        self.norm1Weight = norm1Weight; self.norm1Bias = norm1Bias
        self.qkvWeight = qkvWeight; self.qkvBias = qkvBias
        self.projWeight = projWeight; self.projBias = projBias
        self.norm2Weight = norm2Weight; self.norm2Bias = norm2Bias
        self.fc1Weight = fc1Weight; self.fc1Bias = fc1Bias
        self.fc2Weight = fc2Weight; self.fc2Bias = fc2Bias
    }
}

/// All parameters of a ViT, in timm's layout, plus the quantizer step sizes of a QANN checkpoint.
public struct ViTWeights: Sendable, Equatable {
    /// `[D, C·p·p]` (the conv weight `[D, C, p, p]` flattened).
    public var patchWeight: [Float], patchBias: [Float]
    /// `[D]`, empty without a class token.
    public var classToken: [Float]
    /// `[tokens, D]`.
    public var positionEmbedding: [Float]
    public var blocks: [BlockWeights]
    /// Final `norm` (token pooling) or `fc_norm` (average pooling).
    public var finalNormWeight: [Float], finalNormBias: [Float]
    /// `[classes, D]`.
    public var headWeight: [Float], headBias: [Float]
    /// Step sizes `s` of a SpikeZIP-TF QANN checkpoint, by site; empty for a float ANN.
    public var stepSizes: [Site: Float]
    /// QCFS thresholds λ (`…_if.up`) of an MST-trained checkpoint, by site; empty otherwise.
    public var qcfsThresholds: [Site: Float] = [:]

    public init(
        patchWeight: [Float], patchBias: [Float], classToken: [Float], positionEmbedding: [Float],
        blocks: [BlockWeights], finalNormWeight: [Float], finalNormBias: [Float], headWeight: [Float],
        headBias: [Float], stepSizes: [Site: Float] = [:]
    ) {
        self.patchWeight = patchWeight; self.patchBias = patchBias
        self.classToken = classToken; self.positionEmbedding = positionEmbedding
        self.blocks = blocks
        self.finalNormWeight = finalNormWeight; self.finalNormBias = finalNormBias
        self.headWeight = headWeight; self.headBias = headBias
        self.stepSizes = stepSizes
    }

    /// Number of parameters (quantizer steps, QCFS thresholds and BatchNorm running statistics excluded).
    public var parameterCount: Int {
        let blockCount = blocks.reduce(0) { n, b in
            n + b.norm1Weight.count + b.norm1Bias.count + b.qkvWeight.count + b.qkvBias.count + b.projWeight.count
                + b.projBias.count + b.norm2Weight.count + b.norm2Bias.count + b.fc1Weight.count + b.fc1Bias.count
                + b.fc2Weight.count + b.fc2Bias.count
        }
        return patchWeight.count + patchBias.count + classToken.count + positionEmbedding.count + blockCount
            + finalNormWeight.count + finalNormBias.count + headWeight.count + headBias.count
    }
}

/// A ViT ready to run: configuration and weights, with the file it came from.
public struct ViTModel: Sendable {
    public var config: ViTConfig
    public var weights: ViTWeights
    /// Where the weights were read from, for messages and reports.
    public var source: String

    public init(config: ViTConfig, weights: ViTWeights, source: String = "<memory>") {
        self.config = config
        self.weights = weights
        self.source = source
    }
}
