/// Nonlinear operators applied to the *accumulated* input, emitting the change of their output:
/// `y_t = f(X̂_t) − f(X̂_{t−1})`, `f(X̂_{−1}) := 0`. Summed over time this telescopes to `f(X̂_T)`, so once the
/// input settles the output total equals the QANN's `f` of the QANN's input (spikezip.md §3, Spike-LayerNorm and
/// Spike-Softmax; the same rule gives Spikify's differential GELU). Rows whose input did not change emit zeros.
class RowDifferentialOperator: SpikingOperator, @unchecked Sendable {
    let input: ValueSlot, output: ValueSlot
    let accumulated: FloatBuffer, previous: FloatBuffer
    var width: Int { input.info.width }

    init(input: ValueSlot, output: ValueSlot, batch: Int) {
        self.input = input
        self.output = output
        accumulated = FloatBuffer(count: batch * input.info.perSample)
        previous = FloatBuffer(count: batch * output.info.perSample)
    }

    func reset(batch: Int) {
        accumulated.zero()
        previous.zero()
    }

    func moveSample(from: Int, to: Int) {
        accumulated.moveBlock(from: from, to: to, size: input.info.perSample)
        previous.moveBlock(from: from, to: to, size: output.info.perSample)
    }

    /// Computes `f` of `rows` rows from `x` into `y` (both `[rows, width]`).
    func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        fatalError("subclass")
    }

    func step(_ t: Int, batch: Int) {
        if input.isZero && t > 0 { output.setZero(batch: batch); return }
        let w = width, rows = batch * input.info.rows
        let x = SendablePointer(input.pointer), acc = SendablePointer(accumulated.pointer)
        let prev = SendablePointer(previous.pointer), y = SendablePointer(output.pointer)
        let first = t == 0
        Parallel.forChunks(rows, minimumPerChunk: 8) { [self] range in
            for r in range {
                let xr = x.base + r * w, ar = acc.base + r * w, pr = prev.base + r * w, yr = y.base + r * w
                var changed = first
                for j in 0..<w where xr[j] != 0 { changed = true; ar[j] += xr[j] }
                guard changed else { yr.update(repeating: 0, count: w); continue }
                apply(ar, rows: 1, into: yr)  // yr = f(X̂_t)
                for j in 0..<w { let v = yr[j]; yr[j] = v - pr[j]; pr[j] = v }
            }
        }
        output.isZero = false
    }
}

/// Spike-LayerNorm with the QANN's epsilon (spikezip.md §7 pitfall 7).
final class LayerNormDiffOperator: RowDifferentialOperator, @unchecked Sendable {
    let gamma: FloatBuffer, beta: FloatBuffer
    let eps: Float

    init(input: ValueSlot, output: ValueSlot, gamma: Tensor, beta: Tensor, eps: Float, batch: Int) {
        self.gamma = FloatBuffer(gamma.scalars)
        self.beta = FloatBuffer(beta.scalars)
        self.eps = eps
        super.init(input: input, output: output, batch: batch)
    }

    override func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        Kernels.layerNorm(x, rows: rows, width: width, gamma: gamma.pointer, beta: beta.pointer, eps: eps, into: y)
    }
}

/// Spike-Softmax along each row (the key axis).
final class SoftmaxDiffOperator: RowDifferentialOperator, @unchecked Sendable {
    override func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        y.update(from: x, count: rows * width)
        Kernels.softmax(y, rows: rows, width: width)
    }
}

/// Differential activation: GELU (or ReLU) of the accumulated input.
final class ActivationDiffOperator: RowDifferentialOperator, @unchecked Sendable {
    let activation: Activation

    init(input: ValueSlot, output: ValueSlot, activation: Activation, batch: Int) {
        self.activation = activation
        super.init(input: input, output: output, batch: batch)
    }

    override func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        y.update(from: x, count: rows * width)
        switch activation {
        case .gelu: Kernels.gelu(y, count: rows * width)
        case .relu: Kernels.relu(y, count: rows * width)
        }
    }
}
