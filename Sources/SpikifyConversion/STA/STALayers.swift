import Foundation
import SpikifyCore
import SpikifySpiking

// Runtime operators of the STA conversion (Jiang et al., ICLR 2024; docs/methods/sta.md). A value's estimate after
// k = t + 1 steps is its running mean total/k. Affine operators map increments (biases on every step); the others
// compute E_k from their inputs' running means and emit c_k = k·E_k − Σ_{j<k} c_j.

/// A UGO layer on every step: the hidden-layer input (`expand`: `h[r, f·N + j] = w[j]·x[r, f] + b[j]`) or the
/// read-out (`y[r, f] = Σⱼ w[j]·s[r, f·N + j] + b[0]`).
final class UGOLayer: SynapticOperator {
    let input: ValueSlot, output: ValueSlot
    let w: FloatBuffer, b: FloatBuffer, expand: Bool, hidden: Int
    let layer: String
    var fanOut: Int { expand ? hidden : 1 }
    private(set) var stepInputEvents = 0

    init(input: ValueSlot, output: ValueSlot, w: [Float], b: [Float], expand: Bool) {
        (self.input, self.output, self.expand) = (input, output, expand)
        self.w = FloatBuffer(w)
        self.b = FloatBuffer(b)
        hidden = w.count
        layer = output.info.name
    }

    func step(_ s: StepContext) {
        let x = SendablePointer(input.increment.pointer), y = SendablePointer(output.increment.pointer)
        let w = SendablePointer(w.pointer), b = SendablePointer(b.pointer), n = hidden, expand = expand
        let perSample = expand ? input.info.perSample : output.info.perSample
        stepInputEvents = input.nonZeroIncrements(batch: s.batch)
        Parallel.forChunks(s.batch) { samples in
            for e in (samples.lowerBound * perSample)..<(samples.upperBound * perSample) {
                if expand {
                    let v = x.base[e], dst = y.base + e * n
                    for j in 0..<n { dst[j] = w.base[j] * v + b.base[j] }
                } else {
                    let src = x.base + e * n
                    var sum = b.base[0]
                    for j in 0..<n { sum += w.base[j] * src[j] }
                    y.base[e] = sum
                }
            }
        }
        output.accumulate(batch: s.batch)
    }
}

/// `x·γ + β` per column on every step.
final class STAAffineLayer: SpikingOperator {
    let input: ValueSlot, output: ValueSlot, gamma: FloatBuffer, beta: FloatBuffer

    init(input: ValueSlot, output: ValueSlot, gamma: [Float], beta: [Float]) {
        (self.input, self.output) = (input, output)
        self.gamma = FloatBuffer(gamma)
        self.beta = FloatBuffer(beta)
    }

    func step(_ s: StepContext) {
        let w = input.info.width, x = input.increment.pointer, y = output.increment.pointer
        let g = gamma.pointer, bt = beta.pointer
        for r in 0..<(s.batch * input.info.rows) {
            for j in 0..<w { y[r * w + j] = x[r * w + j] * g[j] + bt[j] }
        }
        output.accumulate(batch: s.batch)
    }
}

/// The row-wise and elementwise maps of STA's softmax and LayerNorm.
enum STAMap {
    case function(UGOFunction), center, variance(eps: Float), rowSum
    case shift(cls: Bool, offset: Float, upper: Float)
    case layerNorm(gamma: FloatBuffer, beta: FloatBuffer, eps: Float)

    /// Affine maps act on increments; the others on running means, with the temporal correction.
    var isAffine: Bool {
        switch self {
        case .center, .rowSum: return true
        default: return false
        }
    }
}

final class STAMapLayer: SpikingOperator {
    let input: ValueSlot, output: ValueSlot, map: STAMap
    let mean: FloatBuffer

    init(inputs: [ValueSlot], output: ValueSlot, batch: Int, map: STAMap) {
        input = inputs[0]
        self.output = output
        self.map = map
        mean = FloatBuffer(count: map.isAffine ? 0 : batch * input.info.perSample)
    }

    func step(_ s: StepContext) {
        let k = Float(s.t + 1), rows = s.batch * input.info.rows, w = input.info.width
        let x: UnsafePointer<Float>
        if map.isAffine {
            x = UnsafePointer(input.increment.pointer)
        } else {
            let total = input.total.pointer, m = mean.pointer
            for i in 0..<(rows * w) { m[i] = total[i] / k }
            x = UnsafePointer(m)
        }
        let y = output.increment.pointer
        switch map {
        case .function(let f):
            let count = rows * w
            switch f {
            case .gelu: y.update(from: x, count: count); Kernels.gelu(y, count: count)
            case .exp: for i in 0..<count { y[i] = Foundation.exp(x[i]) }
            case .reciprocal: for i in 0..<count { y[i] = 1 / x[i] }
            case .rsqrt: for i in 0..<count { y[i] = 1 / x[i].squareRoot() }
            }
        case .center:
            for r in 0..<rows {
                var sum: Float = 0
                for j in 0..<w { sum += x[r * w + j] }
                let mu = sum / Float(w)
                for j in 0..<w { y[r * w + j] = x[r * w + j] - mu }
            }
        case .variance(let eps):
            for r in 0..<rows {
                var sum: Float = 0
                for j in 0..<w { sum += x[r * w + j] * x[r * w + j] }
                y[r] = sum / Float(w) + eps
            }
        case .rowSum:
            for r in 0..<rows {
                var sum: Float = 0
                for j in 0..<w { sum += x[r * w + j] }
                y[r] = sum
            }
        case .shift(let cls, let offset, let upper):
            for r in 0..<rows {
                let row = x + r * w
                var reference = row[0]
                if !cls { for j in 1..<w { reference = max(reference, row[j]) } }
                for j in 0..<w { y[r * w + j] = min(row[j] - reference + offset, upper) }
            }
        case .layerNorm(let gamma, let beta, let eps):
            Kernels.layerNorm(x, rows: rows, width: w, gamma: gamma.pointer, beta: beta.pointer, eps: eps, into: y)
        }
        if !map.isAffine {
            let total = output.total.pointer
            for i in 0..<(s.batch * output.info.perSample) { y[i] = k * y[i] - total[i] }
        }
        output.accumulate(batch: s.batch)
    }
}

/// The product a ``TCSAProductLayer`` forms.
enum ProductForm {
    case scores(heads: Int, scale: Float)
    case weighted(heads: Int)
    case scaleRows
}

/// Temporal-corrective products (STA §5.2, Definition 3): with cumulative sums A_k, B_k and this step's inputs
/// a_k, b_k, the product increment d_k = A_k·b_k + a_k·B_{k−1} (so Σ_{j≤k} d_j = A_k·B_k exactly), the estimate
/// E_k = Σd / k² = (A_k/k)·(B_k/k), the product of the running means, and the emitted correction
/// c_k = k·E_k − Σ_{j<k} c_j.
final class TCSAProductLayer: SpikingOperator {
    let a: ValueSlot, b: ValueSlot, output: ValueSlot, form: ProductForm
    /// Σ_{j≤k} d_j per output element.
    let products: FloatBuffer
    /// B_{k−1} = B_k − b_k.
    let previous: FloatBuffer

    init(a: ValueSlot, b: ValueSlot, output: ValueSlot, form: ProductForm, batch: Int) {
        (self.a, self.b, self.output, self.form) = (a, b, output, form)
        products = FloatBuffer(count: batch * output.info.perSample)
        previous = FloatBuffer(count: batch * b.info.perSample)
    }

    func reset(batch: Int) { products.zero() }
    func moveSample(from: Int, to: Int) { products.moveBlock(from: from, to: to, size: output.info.perSample) }

    func step(_ s: StepContext) {
        let bp = previous.pointer, bt = b.total.pointer, bi = b.increment.pointer
        for i in 0..<(s.batch * b.info.perSample) { bp[i] = bt[i] - bi[i] }
        let at = SendablePointer(a.total.pointer), ai = SendablePointer(a.increment.pointer)
        let bk = SendablePointer(bi), bprev = SendablePointer(bp), d = SendablePointer(products.pointer)
        var scale: Float = 1
        switch form {
        case .scores(let h, let alpha):
            scale = alpha
            let n = a.info.rows, dm = a.info.width, hd = dm / h
            BLAS.withSingleThread {
                Parallel.forChunks(s.batch * h) { r in
                    for item in r {
                        let off = (item / h) * n * dm + (item % h) * hd, c = d.base + item * n * n
                        BLAS.gemm(transposeB: true, m: n, n: n, k: hd, a: at.base + off, lda: dm, b: bk.base + off,
                                  ldb: dm, beta: 1, c: c, ldc: n)
                        BLAS.gemm(transposeB: true, m: n, n: n, k: hd, a: ai.base + off, lda: dm, b: bprev.base + off,
                                  ldb: dm, beta: 1, c: c, ldc: n)
                    }
                }
            }
        case .weighted(let h):
            let n = b.info.rows, dm = b.info.width, hd = dm / h
            BLAS.withSingleThread {
                Parallel.forChunks(s.batch * h) { r in
                    for item in r {
                        let off = (item / h) * n * dm + (item % h) * hd, am = item * n * n
                        BLAS.gemm(m: n, n: hd, k: n, a: at.base + am, lda: n, b: bk.base + off, ldb: dm, beta: 1,
                                  c: d.base + off, ldc: dm)
                        BLAS.gemm(m: n, n: hd, k: n, a: ai.base + am, lda: n, b: bprev.base + off, ldb: dm, beta: 1,
                                  c: d.base + off, ldc: dm)
                    }
                }
            }
        case .scaleRows:
            let w = a.info.width
            for r in 0..<(s.batch * a.info.rows) {
                let x = bk.base[r], xp = bprev.base[r]
                for j in 0..<w { d.base[r * w + j] += at.base[r * w + j] * x + ai.base[r * w + j] * xp }
            }
        }
        let k = Float(s.t + 1), y = output.increment.pointer, total = output.total.pointer
        for i in 0..<(s.batch * output.info.perSample) { y[i] = scale * d.base[i] / k - total[i] }
        output.accumulate(batch: s.batch)
    }
}
