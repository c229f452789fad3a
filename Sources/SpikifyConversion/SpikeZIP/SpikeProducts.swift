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
    /// The factors' totals as floats for this step's GEMMs: the totals themselves, or where a factor keeps counts
    /// (``ValueSlot/counts``) a scratch buffer into which ``prepare(batch:)`` loads the changed samples.
    private(set) var aTotals: UnsafeMutablePointer<Float>, bTotals: UnsafeMutablePointer<Float>
    let scratch: ScratchArena

    /// Scratch purposes: the factors' floats.
    private static let aFloats = 0x31, bFloats = 0x32

    /// `loadsFirstFactor`: whether the products read `a`'s floats (``aTotals``); false when a subclass makes its own
    /// operand of it.
    init(a: ValueSlot, b: ValueSlot, output: ValueSlot, heads: Int, batch: Int, scratch: ScratchArena,
         loadsFirstFactor: Bool = true) {
        self.a = a
        self.b = b
        self.output = output
        self.heads = heads
        changedSamples = ScalarBuffer<Int>(count: batch)
        if a.counts != nil && loadsFirstFactor { scratch.reserve(Self.aFloats, count: batch * a.info.perSample) }
        if b.counts != nil { scratch.reserve(Self.bFloats, count: batch * b.info.perSample) }
        self.scratch = scratch
        (aTotals, bTotals) = (a.total.pointer, b.total.pointer)  // (scratch buffers are made after every reservation)
    }

    /// Called once per step before the per-(sample, head) products, after ``changedSamples`` is set: loads the
    /// changed samples' counted factors as floats (subclasses may also make an operand of a factor).
    func prepare(batch: Int) {
        loadCounts(of: a, batch: batch)
        loadCounts(of: b, batch: batch)
    }

    /// Where factor `slot` keeps counts: its changed samples' floats into its scratch buffer.
    final func loadCounts(of slot: ValueSlot, batch: Int) {
        guard slot.counts != nil else { return }
        let floats = scratch.buffer(slot === a ? Self.aFloats : Self.bFloats).pointer, rows = slot.info.rows
        if slot === a { aTotals = floats } else { bTotals = floats }
        for s in 0..<batch where changedSamples.pointer[s] != 0 {
            slot.loadRows(s * rows, count: rows, into: floats + s * slot.info.perSample)
        }
    }

    /// Nothing is kept between steps but the output (which the executor moves).
    func moveSample(from: Int, to: Int) {}

    func step(_ s: StepContext) {
        let t = s.t, batch = s.batch
        guard a.changed || b.changed || t == 0 else { output.keep(batch: batch); return }
        output.beginStep(batch: batch)
        for s in 0..<batch {
            let changed = t == 0 || a.sampleChanged(s) || b.sampleChanged(s)
            changedSamples.pointer[s] = changed ? 1 : 0
            if changed { output.beginSample(s) }
        }
        prepare(batch: batch)
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
    /// `scale · Q̂` of the changed samples, made at every step in a scratch buffer (`Q̂` as a float first:
    /// `fl(fl(S·θ)·scale)`, as the QANN computes it), so no copy of Q̂ is kept between steps.
    private var scaledQ: UnsafeMutablePointer<Float>

    private static let scaledQueries = 0x33

    init(q: ValueSlot, k: ValueSlot, output: ValueSlot, heads: Int, scale: Float, batch: Int, scratch: ScratchArena) {
        self.scale = scale
        scratch.reserve(Self.scaledQueries, count: batch * q.info.perSample)
        scaledQ = q.total.pointer  // (scratch buffers are made after every reservation)
        super.init(a: q, b: k, output: output, heads: heads, batch: batch, scratch: scratch, loadsFirstFactor: false)
    }

    /// `scale · Q̂` and, where K̂ keeps counts, K̂'s floats, for the changed samples. (Q̂'s floats are not loaded
    /// separately: `scale · Q̂` is all the GEMM reads of it.)
    override func prepare(batch: Int) {
        scaledQ = scratch.buffer(Self.scaledQueries).pointer
        let rows = a.info.rows, n = a.info.perSample, scale = scale
        for s in 0..<batch where changedSamples.pointer[s] != 0 {
            let sq = scaledQ + s * n
            a.loadRows(s * rows, count: rows, into: sq)
            for i in 0..<n { sq[i] = sq[i] * scale }
        }
        loadCounts(of: b, batch: batch)
    }

    override func product(_ s: Int, _ head: Int) {
        let n = a.info.rows, d = a.info.width, hd = d / heads
        BLAS.gemm(transposeB: true, m: n, n: n, k: hd, a: scaledQ + s * n * d + head * hd, lda: d,
                  b: bTotals + s * n * d + head * hd, ldb: d,
                  c: output.total.pointer + (s * heads + head) * n * n, ldc: n)
    }
}

/// Attention output `Â·V̂`: attention `[heads·N, N]`, v `[N, D]` → `[N, D]` with heads as column blocks.
final class SpikeWeightedValuesOperator: SpikeProductOperator, @unchecked Sendable {
    override func product(_ s: Int, _ head: Int) {
        let n = b.info.rows, d = b.info.width, hd = d / heads
        BLAS.gemm(m: n, n: hd, k: n, a: aTotals + (s * heads + head) * n * n, lda: n,
                  b: bTotals + s * n * d + head * hd, ldb: d,
                  c: output.total.pointer + s * n * d + head * hd, ldc: d)
    }
}
