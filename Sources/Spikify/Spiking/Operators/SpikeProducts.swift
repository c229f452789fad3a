/// Products of two spiking values (SpikeZIP-TF "SESA", spikezip.md §3). With Â_t = Σ_{τ≤t} a_τ the accumulated
/// inputs, the increment `Δ_t = Â_t·b_t + a_t·B̂_{t−1}` (= Â_{t−1}b_t + a_tB̂_{t−1} + a_tb_t) sums to `Â_t·B̂_t`,
/// the product of the totals. Per sample, a GEMM is skipped when its increment factor is all zero.
class SpikeProductOperator: SpikingOperator, @unchecked Sendable {
    let a: ValueSlot, b: ValueSlot, output: ValueSlot
    let heads: Int
    let alpha: Float
    /// Accumulated inputs Â, B̂.
    let accA: FloatBuffer, accB: FloatBuffer
    /// Per sample: did a / b change this step.
    let changedA: ScalarBuffer<Int>, changedB: ScalarBuffer<Int>

    init(a: ValueSlot, b: ValueSlot, output: ValueSlot, heads: Int, alpha: Float, batch: Int) {
        self.a = a
        self.b = b
        self.output = output
        self.heads = heads
        self.alpha = alpha
        accA = FloatBuffer(count: batch * a.info.perSample)
        accB = FloatBuffer(count: batch * b.info.perSample)
        changedA = ScalarBuffer<Int>(count: batch)
        changedB = ScalarBuffer<Int>(count: batch)
    }

    func reset(batch: Int) {
        accA.zero()
        accB.zero()
    }

    func moveSample(from: Int, to: Int) {
        accA.moveBlock(from: from, to: to, size: a.info.perSample)
        accB.moveBlock(from: from, to: to, size: b.info.perSample)
    }

    /// Marks which samples of `x` changed this step and, when `acc` is given, adds them into it.
    private static func scan(_ x: ValueSlot, changed: ScalarBuffer<Int>, addInto acc: FloatBuffer?, batch: Int) {
        let n = x.info.perSample
        for s in 0..<batch {
            var any = 0
            if !x.isZero {
                let xs = x.pointer + s * n
                for i in 0..<n where xs[i] != 0 { any = 1; break }
                if any == 1, let acc {
                    let accs = acc.pointer + s * n
                    for i in 0..<n { accs[i] += xs[i] }
                }
            }
            changed[s] = any
        }
    }

    func step(_ t: Int, batch: Int) {
        if a.isZero && b.isZero { output.setZero(batch: batch); return }
        Self.scan(a, changed: changedA, addInto: accA, batch: batch)  // Â_t includes a_t
        Self.scan(b, changed: changedB, addInto: nil, batch: batch)   // B̂ stays at t−1 for now
        let ap = SendablePointer(a.pointer), bp = SendablePointer(b.pointer)
        let accAp = SendablePointer(accA.pointer), accBp = SendablePointer(accB.pointer)
        let out = SendablePointer(output.pointer)
        let ca = SendablePointer(changedA.pointer), cb = SendablePointer(changedB.pointer)
        let h = heads
        Parallel.forChunks(batch * h) { [self] items in
            for item in items {
                let s = item / h, head = item % h
                var written = false
                if cb.base[s] != 0 {  // Â_t · b_t
                    product(s, head, left: accAp.base, right: bp.base, into: out.base, accumulate: false)
                    written = true
                }
                if ca.base[s] != 0 {  // + a_t · B̂_{t−1}
                    product(s, head, left: ap.base, right: accBp.base, into: out.base, accumulate: written)
                    written = true
                }
                if !written { zero(s, head, out.base) }
            }
        }
        // B̂_t = B̂_{t−1} + b_t, after its use above.
        let n = b.info.perSample
        for s in 0..<batch where changedB[s] != 0 {
            let bs = b.pointer + s * n, accs = accB.pointer + s * n
            for i in 0..<n { accs[i] += bs[i] }
        }
        output.isZero = false
    }

    /// `out[s, head] (+)= alpha · left[s, head] ⊗ right[s, head]`; the subclass defines the layout.
    func product(_ s: Int, _ head: Int, left: UnsafeMutablePointer<Float>, right: UnsafeMutablePointer<Float>,
                 into out: UnsafeMutablePointer<Float>, accumulate: Bool) { fatalError("subclass") }

    /// Zeroes the output block of (sample, head).
    func zero(_ s: Int, _ head: Int, _ out: UnsafeMutablePointer<Float>) { fatalError("subclass") }
}

/// Attention scores `scale · Q·Kᵀ`: q, k `[N, D]` per sample with heads as column blocks → `[heads·N, N]`.
final class SpikeScoresOperator: SpikeProductOperator, @unchecked Sendable {
    override func product(_ s: Int, _ head: Int, left: UnsafeMutablePointer<Float>, right: UnsafeMutablePointer<Float>,
                          into out: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let n = a.info.rows, d = a.info.width, hd = d / heads
        BLAS.gemm(transposeB: true, m: n, n: n, k: hd, alpha: alpha, a: left + s * n * d + head * hd, lda: d,
                  b: right + s * n * d + head * hd, ldb: d, beta: accumulate ? 1 : 0,
                  c: out + (s * heads + head) * n * n, ldc: n)
    }

    override func zero(_ s: Int, _ head: Int, _ out: UnsafeMutablePointer<Float>) {
        let n = a.info.rows
        (out + (s * heads + head) * n * n).update(repeating: 0, count: n * n)
    }
}

/// Attention output `A·V`: attention `[heads·N, N]`, v `[N, D]` → `[N, D]` with heads as column blocks.
final class SpikeWeightedValuesOperator: SpikeProductOperator, @unchecked Sendable {
    override func product(_ s: Int, _ head: Int, left: UnsafeMutablePointer<Float>, right: UnsafeMutablePointer<Float>,
                          into out: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let n = b.info.rows, d = b.info.width, hd = d / heads
        BLAS.gemm(m: n, n: hd, k: n, alpha: alpha, a: left + (s * heads + head) * n * n, lda: n,
                  b: right + s * n * d + head * hd, ldb: d, beta: accumulate ? 1 : 0,
                  c: out + s * n * d + head * hd, ldc: d)
    }

    override func zero(_ s: Int, _ head: Int, _ out: UnsafeMutablePointer<Float>) {
        let n = b.info.rows, d = b.info.width, hd = d / heads
        for r in 0..<n { (out + s * n * d + r * d + head * hd).update(repeating: 0, count: hd) }
    }
}
