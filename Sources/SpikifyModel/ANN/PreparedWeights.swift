import SpikifyCore

/// Weights copied into stable buffers once, so that forward passes run on raw pointers.
final class PreparedBlock: Sendable {
    let norm1Weight, norm1Bias, qkvWeight, qkvBias, projWeight, projBias: FloatBuffer
    let norm2Weight, norm2Bias, fc1Weight, fc1Bias, fc2Weight, fc2Bias: FloatBuffer

    init(_ b: BlockWeights) {
        norm1Weight = FloatBuffer(b.norm1Weight); norm1Bias = FloatBuffer(b.norm1Bias)
        qkvWeight = FloatBuffer(b.qkvWeight); qkvBias = FloatBuffer(b.qkvBias)
        projWeight = FloatBuffer(b.projWeight); projBias = FloatBuffer(b.projBias)
        norm2Weight = FloatBuffer(b.norm2Weight); norm2Bias = FloatBuffer(b.norm2Bias)
        fc1Weight = FloatBuffer(b.fc1Weight); fc1Bias = FloatBuffer(b.fc1Bias)
        fc2Weight = FloatBuffer(b.fc2Weight); fc2Bias = FloatBuffer(b.fc2Bias)
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

    init(_ w: ViTWeights) {
        patchWeight = FloatBuffer(w.patchWeight); patchBias = FloatBuffer(w.patchBias)
        classToken = FloatBuffer(w.classToken); positionEmbedding = FloatBuffer(w.positionEmbedding)
        blocks = w.blocks.map(PreparedBlock.init)
        finalNormWeight = FloatBuffer(w.finalNormWeight); finalNormBias = FloatBuffer(w.finalNormBias)
        headWeight = FloatBuffer(w.headWeight); headBias = FloatBuffer(w.headBias)
    }
}
