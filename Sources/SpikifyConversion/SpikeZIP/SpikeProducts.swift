import SpikifyCore
import SpikifyModel
import SpikifySpiking

/// Products of two spiking values (SpikeZIP-TF's "SESA", You et al., ICML 2024; docs/methods/spikezip.md). With Â_t, B̂_t the accumulated inputs
/// (counts after the current step, times θ), the product's increment is
/// `Δ_t = Â_t·b_tᵀ + a_t·B̂_{t−1}ᵀ = Â_t·B̂_tᵀ − Â_{t−1}·B̂_{t−1}ᵀ`: it is driven by the spikes a_t, b_t and sums to
/// the product of the totals. The operator keeps the total `Â_t·B̂_tᵀ` itself, computed with the QANN's GEMM per
/// (sample, head) whenever a factor of that sample changed, so the settled product equals the QANN's bit for bit;
/// its increment is the difference of consecutive totals (the identity is tested in `OperatorIdentityTests`).
class SpikeProductOperator: SpikingOperator, @unchecked Sendable {
    let a: ValueSlot, b: ValueSlot, output: ValueSlot
    let heads: Int
    /// Per sample: whether a factor changed this step (1) or not (0).
    let changedSamples: ScalarBuffer<Int>

    init(a: ValueSlot, b: ValueSlot, output: ValueSlot, heads: Int, batch: Int) {
        self.a = a
        self.b = b
        self.output = output
        self.heads = heads
        changedSamples = ScalarBuffer<Int>(count: batch)
    }

    /// Called once per step before the per-(sample, head) products (e.g. to scale a factor); `all`: every row,
    /// else only rows of `a` that changed.
    func prepare(batch: Int, all: Bool) {}

    /// State of subclasses kept between steps moves with its sample (the base keeps none between steps).
    func moveSample(from: Int, to: Int) {}

    func step(_ s: StepContext) {
        let t = s.t, batch = s.batch
        guard a.changed || b.changed || t == 0 else { output.keep(batch: batch); return }
        prepare(batch: batch, all: t == 0)
        output.beginStep(batch: batch)
        for s in 0..<batch {
            let changed = t == 0 || a.sampleChanged(s) || b.sampleChanged(s)
            changedSamples[s] = changed ? 1 : 0
            if changed { output.beginSample(s) }
        }
        let h = heads, changed = SendablePointer(changedSamples.pointer), output = output
        Parallel.forChunks(batch * h) { [self] items in
            for item in items where changed.base[item / h] != 0 { product(item / h, item % h) }
        }
        Parallel.forChunks(batch) { samples in
            for s in samples where changed.base[s] != 0 { output.finishSample(s) }
        }
        output.finishStep(batch: batch)
    }

    /// `output.total[s, head] = Â[s, head] ⊗ B̂[s, head]`; the subclass defines the layout.
    func product(_ s: Int, _ head: Int) { fatalError("subclass") }  // abstract: only subclasses are instantiated
}

/// Attention scores `(scale·Q̂)·K̂ᵀ`: q, k `[N, D]` per sample with heads as column blocks → `[heads·N, N]`. As in the
/// QANN, the quantized q is multiplied by `scale` first, then the GEMM runs.
final class SpikeScoresOperator: SpikeProductOperator, @unchecked Sendable {
    let scale: Float
    /// `scale · Q̂` for the batch, rescaled where Q̂ changed.
    let scaledQ: FloatBuffer

    init(q: ValueSlot, k: ValueSlot, output: ValueSlot, heads: Int, scale: Float, batch: Int) {
        self.scale = scale
        scaledQ = FloatBuffer(count: batch * q.info.perSample)
        super.init(a: q, b: k, output: output, heads: heads, batch: batch)
    }

    override func prepare(batch: Int, all: Bool) {
        let q = a.total.pointer, sq = scaledQ.pointer, w = a.info.width
        for r in 0..<(batch * a.info.rows) where all || a.rowChanged(r) {
            for i in (r * w)..<((r + 1) * w) { sq[i] = q[i] * scale }
        }
    }

    /// `scale · Q̂` is kept between steps (only changed rows are rescaled), so it moves with its sample.
    override func moveSample(from: Int, to: Int) { scaledQ.moveBlock(from: from, to: to, size: a.info.perSample) }

    override func product(_ s: Int, _ head: Int) {
        let n = a.info.rows, d = a.info.width, hd = d / heads
        BLAS.gemm(transposeB: true, m: n, n: n, k: hd, a: scaledQ.pointer + s * n * d + head * hd, lda: d,
                  b: b.total.pointer + s * n * d + head * hd, ldb: d,
                  c: output.total.pointer + (s * heads + head) * n * n, ldc: n)
    }
}

/// Attention output `Â·V̂`: attention `[heads·N, N]`, v `[N, D]` → `[N, D]` with heads as column blocks.
final class SpikeWeightedValuesOperator: SpikeProductOperator, @unchecked Sendable {
    override func product(_ s: Int, _ head: Int) {
        let n = b.info.rows, d = b.info.width, hd = d / heads
        BLAS.gemm(m: n, n: hd, k: n, a: a.total.pointer + (s * heads + head) * n * n, lda: n,
                  b: b.total.pointer + s * n * d + head * hd, ldb: d,
                  c: output.total.pointer + s * n * d + head * hd, ldc: d)
    }
}
