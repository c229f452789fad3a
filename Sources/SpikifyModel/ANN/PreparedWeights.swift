import SpikifyCore

/// Weights copied into stable buffers once, so that forward passes run on raw pointers.
final class PreparedBlock: Sendable {
    let norm1Weight, norm1Bias, qkvWeight, qkvBias, projWeight, projBias: FloatBuffer
    let norm2Weight, norm2Bias, fc1Weight, fc1Bias, fc2Weight, fc2Bias: FloatBuffer
    /// BatchNorm blocks: per channel `scale = γ/√(σ² + eps)` and `shift = β − μ·scale` (empty for LayerNorm).
    let norm1Scale, norm1Shift, norm2Scale, norm2Shift: FloatBuffer

    init(_ b: BlockWeights, batchNorm: BlockBatchNorm?) {
        norm1Weight = FloatBuffer(b.norm1Weight); norm1Bias = FloatBuffer(b.norm1Bias)
        qkvWeight = FloatBuffer(b.qkvWeight); qkvBias = FloatBuffer(b.qkvBias)
        projWeight = FloatBuffer(b.projWeight); projBias = FloatBuffer(b.projBias)
        norm2Weight = FloatBuffer(b.norm2Weight); norm2Bias = FloatBuffer(b.norm2Bias)
        fc1Weight = FloatBuffer(b.fc1Weight); fc1Bias = FloatBuffer(b.fc1Bias)
        fc2Weight = FloatBuffer(b.fc2Weight); fc2Bias = FloatBuffer(b.fc2Bias)
        let eps = batchNorm?.eps ?? 0
        func affine(_ w: [Float], _ bias: [Float], _ mean: [Float], _ variance: [Float]) -> (FloatBuffer, FloatBuffer) {
            guard batchNorm != nil else { return (FloatBuffer([]), FloatBuffer([])) }
            let scale = w.indices.map { w[$0] / (variance[$0] + eps).squareRoot() }
            return (FloatBuffer(scale), FloatBuffer(w.indices.map { bias[$0] - mean[$0] * scale[$0] }))
        }
        (norm1Scale, norm1Shift) = affine(b.norm1Weight, b.norm1Bias, b.norm1RunningMean, b.norm1RunningVar)
        (norm2Scale, norm2Shift) = affine(b.norm2Weight, b.norm2Bias, b.norm2RunningMean, b.norm2RunningVar)
    }

    /// Rows `part·D ..< (part+1)·D` of the fused qkv weight (part 0 = q, 1 = k, 2 = v).
    func qkvWeight(part: Int, dim: Int) -> UnsafePointer<Float> { UnsafePointer(qkvWeight.pointer + part * dim * dim) }
    func qkvBias(part: Int, dim: Int) -> UnsafePointer<Float>? {
        qkvBias.count == 0 ? nil : UnsafePointer(qkvBias.pointer + part * dim)
    }
}

final class PreparedWeights: Sendable {
    let patchWeight, patchBias, classToken, positionEmbedding: FloatBuffer
    let blocks: [PreparedBlock]
    let finalNormWeight, finalNormBias, headWeight, headBias: FloatBuffer

    init(_ w: ViTWeights, batchNorm: BlockBatchNorm? = nil) {
        patchWeight = FloatBuffer(w.patchWeight); patchBias = FloatBuffer(w.patchBias)
        classToken = FloatBuffer(w.classToken); positionEmbedding = FloatBuffer(w.positionEmbedding)
        blocks = w.blocks.map { PreparedBlock($0, batchNorm: batchNorm) }
        finalNormWeight = FloatBuffer(w.finalNormWeight); finalNormBias = FloatBuffer(w.finalNormBias)
        headWeight = FloatBuffer(w.headWeight); headBias = FloatBuffer(w.headBias)
    }
}
