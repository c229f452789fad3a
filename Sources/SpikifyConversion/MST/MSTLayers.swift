import SpikifyCore
import SpikifyModel
import SpikifySpiking

// Runtime operators of the MST conversion (Wang et al., "Masked Spiking Transformer", ICCV 2023, §3.2;
// docs/methods/mst.md). Every operator works on each step's values: it reads its inputs' increments (what they
// sent at this step) and writes its output's increment, which the value slot then adds to its total. So linear
// layers and BatchNorm inject their bias on every step, and softmax, LayerNorm and the attention products act on
// instantaneous values, as in the released MST code. Spikify's improved mode (`corrected`) applies softmax,
// LayerNorm, GELU and the attention products to the running means of their inputs and sends whatever makes the
// output's sum over steps equal `t·f(mean)`; `runningMean` (converted files of version 1 of the improved mode)
// sends `f(mean)` on every step.

/// Whether a per-step nonlinearity sees this step's value or the running mean of its input.
enum NonlinearityInput: String, Sendable {
    /// `y_t = f(x_t)` (MST).
    case instantaneous
    /// `y_t = f(m_t)` with `m_t = (x_1 + … + x_t)/t` (the first version of Spikify's improved mode; still read
    /// from converted files). The output's sum over steps, `f(m_1) + … + f(m_t)`, lags `t·f(m_t)`, and the lag
    /// compounds from site to site.
    case runningMean = "running_mean"
    /// `y_t = t·f(m_t) − (t − 1)·f(m_{t−1})`: the output's sum over steps is exactly `t·f(m_t)`, so an IF neuron
    /// downstream integrates `t` times the function of its upstream rates (the correction `c_k` of STA's
    /// temporal-corrective products, Jiang et al., ICLR 2024, §5.2, applied to MST's operators). Spikify's
    /// improved mode.
    case corrected = "running_mean_corrected"

    /// Whether the operator reads the running mean of its input.
    var readsRunningMean: Bool { self != .instantaneous }
}

/// The corrected mode's output: `compute` writes `f(m_t)` into the output's totals, which are scaled to
/// `t·f(m_t)`; the increment sent is the difference from the old totals.
private func sendCorrected(_ output: ValueSlot, _ s: StepContext, _ compute: (UnsafeMutablePointer<Float>) -> Void) {
    output.beginUpdate(batch: s.batch)
    let y = output.total.pointer, steps = Float(s.t + 1)
    compute(y)
    for i in 0..<(s.batch * output.info.perSample) { y[i] *= steps }
    output.finishUpdate(batch: s.batch)
}

/// Integrate-and-fire neurons with reset by subtraction and a membrane precharged to λ/2 (Bu et al., ICLR 2022,
/// §4.2; MST `ScaledNeuron`): `u = v + x_t`; a spike of λ when `u ≥ λ` (`v = u − λ`). Signed neurons also send −λ
/// when `u < 0` (`v = u + λ`), a positive and a negative IF neuron sharing one membrane. With a keep probability
/// below 1, each spike survives a Bernoulli mask drawn from the counter-based random bits of the step (MST's random
/// spike masking, §3.3, no rescaling); the membrane is reset whether or not the spike is kept.
final class IntegrateFireLayer: SpikeEmitter {
    let site: String
    let input: ValueSlot, output: ValueSlot
    let threshold: Float, signed: Bool, keep: Float, stream: UInt64
    let membrane: FloatBuffer
    let stepSpikes: ScalarBuffer<Int>
    var stepEvents: ScalarBuffer<Int> { stepSpikes }
    private(set) var stepLargestSpike = 0
    let neuronsPerSample: Int
    /// Bernoulli threshold on the 24-bit uniform draw: keep when `draw < keep`.
    private let masked: Bool

    init(site: String, input: ValueSlot, output: ValueSlot, threshold: Float, signed: Bool, keep: Float,
         stream: UInt64, batch: Int) {
        self.site = site
        self.input = input
        self.output = output
        self.threshold = threshold
        self.signed = signed
        self.keep = keep
        self.stream = stream
        neuronsPerSample = input.info.perSample
        membrane = FloatBuffer(count: batch * neuronsPerSample)
        stepSpikes = ScalarBuffer<Int>(count: batch)
        masked = keep < 1
    }

    func reset(batch: Int) {
        membrane.pointer.update(repeating: threshold / 2, count: batch * neuronsPerSample)
        stepSpikes.zero()
        stepLargestSpike = 0
    }

    func moveSample(from: Int, to: Int) {
        membrane.moveBlock(from: from, to: to, size: neuronsPerSample)
        stepSpikes.moveBlock(from: from, to: to, size: 1)
    }

    /// Samples run in parallel; each writes its spikes as its increments, adds them to its totals and sets its
    /// row flags in the same pass (the arithmetic of ``ValueSlot/accumulate(batch:)``, so results do not depend on
    /// the batch or the cores).
    func step(_ s: StepContext) {
        let n = neuronsPerSample, rows = output.info.rows, width = output.info.width
        let theta = threshold, signed = signed, masked = masked, keep = keep, stream = stream
        let seed = s.seed, t = s.t, samples = SendablePointer(s.samples)
        let v = SendablePointer(membrane.pointer), x = SendablePointer(input.increment.pointer)
        let y = SendablePointer(output.increment.pointer), total = SendablePointer(output.total.pointer)
        let fired = SendablePointer(stepSpikes.pointer), output = output
        Parallel.forChunks(s.batch) { chunk in
            for p in chunk {
                let base = p * n
                var count = 0
                for r in 0..<rows {
                    var any = false
                    for i in (base + r * width)..<(base + (r + 1) * width) {
                        var u = v.base[i] + x.base[i]
                        var spike: Float = 0
                        if u >= theta {
                            u -= theta
                            spike = theta
                        } else if signed && u < 0 {
                            u += theta
                            spike = -theta
                        }
                        v.base[i] = u
                        if spike != 0 && masked {
                            let bits = CounterRandom.bits(seed: seed, sample: samples.base[p], step: t, stream: stream,
                                                          element: i - base)
                            if !(CounterRandom.unit(bits) < keep) { spike = 0 }
                        }
                        y.base[i] = spike
                        total.base[i] += spike
                        if spike != 0 { count += 1; any = true }
                    }
                    output.setRow(p * rows + r, changed: any)
                }
                fired.base[p] = count
            }
        }
        output.finishStep(batch: s.batch)
        stepLargestSpike = (0..<s.batch).contains { stepSpikes[$0] > 0 } ? 1 : 0
    }
}

/// Image `[C, H·W]` → patch rows `[P, C·p·p]`, on this step's image.
final class StepPatchifyLayer: SpikingOperator {
    let input: ValueSlot, output: ValueSlot
    let channels: Int, imageSize: Int, patch: Int

    init(input: ValueSlot, output: ValueSlot, channels: Int, imageSize: Int, patch: Int) {
        (self.input, self.output, self.channels, self.imageSize, self.patch) = (input, output, channels, imageSize, patch)
    }

    func step(_ s: StepContext) {
        Patches.im2col(input.increment.pointer, batch: s.batch, channels: channels, height: imageSize,
                       width: imageSize, patch: patch, into: output.increment.pointer)
        output.accumulate(batch: s.batch)
    }
}

/// `y_t = W·x_t + b` on every step (MST: the bias is a constant input current).
final class StepLinearLayer: SynapticOperator {
    let input: ValueSlot, output: ValueSlot
    let weights: LinearWeights
    let layer: String
    var fanOut: Int { weights.outFeatures }
    private(set) var stepInputEvents = 0

    init(layer: String, input: ValueSlot, output: ValueSlot, weight: Tensor, bias: Tensor?) {
        self.layer = layer
        self.input = input
        self.output = output
        weights = LinearWeights(weight: weight, bias: bias)
    }

    func reset(batch: Int) { stepInputEvents = 0 }

    func step(_ s: StepContext) {
        let dx = input.increment.pointer, w = weights
        stepInputEvents = input.nonZeroIncrements(batch: s.batch)
        Kernels.linear(dx, samples: s.batch, rowsPerSample: input.info.rows, inFeatures: w.inFeatures,
                       weight: w.weight.pointer, bias: w.bias.orNil, outFeatures: w.outFeatures,
                       into: output.increment.pointer)
        output.accumulate(batch: s.batch)
    }
}

/// `[cls + pos₀; patch tokens + pos]` on every step (the class token and position embedding are constant inputs).
final class StepEmbedTokensLayer: SpikingOperator {
    let input: ValueSlot, output: ValueSlot
    let classToken: FloatBuffer, position: FloatBuffer

    init(input: ValueSlot, output: ValueSlot, classToken: Tensor?, position: Tensor) {
        self.input = input
        self.output = output
        self.classToken = FloatBuffer(classToken?.scalars ?? [])
        self.position = FloatBuffer(position.scalars)
    }

    func step(_ s: StepContext) {
        ViTForward.embedTokens(input.increment.pointer, batch: s.batch, patches: input.info.rows,
                               width: output.info.width, classToken: classToken.orNil, position: position.pointer,
                               into: output.increment.pointer)
        output.accumulate(batch: s.batch)
    }
}

/// `y_t = a_t + b_t` (a residual connection).
final class StepAddLayer: SpikingOperator {
    let lhs: ValueSlot, rhs: ValueSlot, output: ValueSlot

    init(lhs: ValueSlot, rhs: ValueSlot, output: ValueSlot) { (self.lhs, self.rhs, self.output) = (lhs, rhs, output) }

    func step(_ s: StepContext) {
        let a = lhs.increment.pointer, b = rhs.increment.pointer, y = output.increment.pointer
        for i in 0..<(s.batch * output.info.perSample) { y[i] = a[i] + b[i] }
        output.accumulate(batch: s.batch)
    }
}

/// BatchNorm with running statistics on every step: `y_t = x_t·scale + shift` per channel, with the ANN's
/// `scale = γ/√(σ² + eps)` and `shift = β − μ·scale` (affine, so exact on average).
final class StepBatchNormLayer: SpikingOperator {
    let input: ValueSlot, output: ValueSlot
    let scale: FloatBuffer, shift: FloatBuffer

    init(input: ValueSlot, output: ValueSlot, scale: [Float], shift: [Float]) {
        (self.input, self.output) = (input, output)
        self.scale = FloatBuffer(scale)
        self.shift = FloatBuffer(shift)
    }

    func step(_ s: StepContext) {
        ViTForward.batchNormRows(input.increment.pointer, rows: s.batch * input.info.rows, width: input.info.width,
                                 scale: scale.pointer, shift: shift.pointer, into: output.increment.pointer)
        output.accumulate(batch: s.batch)
    }
}

/// Writes the running mean `total/(t+1)` of `input` (the whole batch) into `m`.
private func writeRunningMean(_ input: ValueSlot, _ s: StepContext, into m: UnsafeMutablePointer<Float>) {
    let inverse = 1 / Float(s.t + 1), total = input.total.pointer
    for i in 0..<(s.batch * input.info.perSample) { m[i] = total[i] * inverse }
}

/// The operand an operator reads: this step's increment, or (running-mean modes) the running mean written into
/// `scratch`.
private func operand(_ input: ValueSlot, _ mode: NonlinearityInput, _ s: StepContext, scratch: FloatBuffer)
    -> UnsafeMutablePointer<Float> {
    guard mode.readsRunningMean else { return input.increment.pointer }
    writeRunningMean(input, s, into: scratch.pointer)
    return scratch.pointer
}

/// Copies this step's increment, or the running mean, of `input` into `y` (for operators that work in place).
private func copyOperand(_ input: ValueSlot, _ mode: NonlinearityInput, _ s: StepContext,
                         into y: UnsafeMutablePointer<Float>) {
    guard mode.readsRunningMean else {
        return y.update(from: input.increment.pointer, count: s.batch * input.info.perSample)
    }
    writeRunningMean(input, s, into: y)
}

/// LayerNorm of each row, on this step's value or on the running mean.
final class StepLayerNormLayer: SpikingOperator {
    let input: ValueSlot, output: ValueSlot
    let gamma: FloatBuffer, beta: FloatBuffer, eps: Float, mode: NonlinearityInput
    let scratch: FloatBuffer

    init(input: ValueSlot, output: ValueSlot, gamma: Tensor, beta: Tensor, eps: Float, mode: NonlinearityInput,
         batch: Int) {
        (self.input, self.output, self.eps, self.mode) = (input, output, eps, mode)
        self.gamma = FloatBuffer(gamma.scalars)
        self.beta = FloatBuffer(beta.scalars)
        scratch = FloatBuffer(count: mode.readsRunningMean ? batch * input.info.perSample : 0)
    }

    func step(_ s: StepContext) {
        let rows = s.batch * input.info.rows, d = input.info.width
        let x = UnsafePointer(operand(input, mode, s, scratch: scratch))
        let normalize = { (y: UnsafeMutablePointer<Float>) in
            Kernels.layerNorm(x, rows: rows, width: d, gamma: self.gamma.pointer, beta: self.beta.pointer,
                              eps: self.eps, into: y)
        }
        if mode == .corrected { return sendCorrected(output, s, normalize) }
        normalize(output.increment.pointer)
        output.accumulate(batch: s.batch)
    }
}

/// Row softmax, on this step's scores or on their running mean.
final class StepSoftmaxLayer: SpikingOperator {
    let input: ValueSlot, output: ValueSlot, mode: NonlinearityInput

    init(input: ValueSlot, output: ValueSlot, mode: NonlinearityInput) { (self.input, self.output, self.mode) = (input, output, mode) }

    func step(_ s: StepContext) {
        let rows = s.batch * input.info.rows, w = input.info.width
        let softmax = { (y: UnsafeMutablePointer<Float>) in
            copyOperand(self.input, self.mode, s, into: y)
            let ys = SendablePointer(y)
            Parallel.forChunks(rows, minimumPerChunk: 64) { r in
                Kernels.softmax(ys.base + r.lowerBound * w, rows: r.count, width: w)
            }
        }
        if mode == .corrected { return sendCorrected(output, s, softmax) }
        softmax(output.increment.pointer)
        output.accumulate(batch: s.batch)
    }
}


/// Exact GELU of each element, on this step's value or on the running mean (signed mode of GELU ViTs).
final class StepGELULayer: SpikingOperator {
    let input: ValueSlot, output: ValueSlot, mode: NonlinearityInput

    init(input: ValueSlot, output: ValueSlot, mode: NonlinearityInput) { (self.input, self.output, self.mode) = (input, output, mode) }

    func step(_ s: StepContext) {
        let count = s.batch * input.info.perSample
        let gelu = { (y: UnsafeMutablePointer<Float>) in
            copyOperand(self.input, self.mode, s, into: y)
            Kernels.gelu(y, count: count)
        }
        if mode == .corrected { return sendCorrected(output, s, gelu) }
        gelu(output.increment.pointer)
        output.accumulate(batch: s.batch)
    }
}


/// Per head, `S_t = scale · Q_t·K_tᵀ` of this step's Q and K spikes (`[N, D]` each → `[H·N, N]`); in
/// running-mean mode, of their running means (the product of the rates, which spike trains with a common phase
/// do not give on average); in corrected mode the sum over steps is `t·scale·mean(Q)·mean(K)ᵀ`, computed as
/// `scale·ΣQ·ΣKᵀ/t` (as SpikeZIP-TF's spike-spike products, SESA, You et al., ICML 2024, in float).
final class StepScoresLayer: SpikingOperator {
    let q: ValueSlot, k: ValueSlot, output: ValueSlot
    let heads: Int, scale: Float, mode: NonlinearityInput
    let qMean: FloatBuffer, kMean: FloatBuffer

    init(q: ValueSlot, k: ValueSlot, output: ValueSlot, heads: Int, scale: Float, mode: NonlinearityInput, batch: Int) {
        (self.q, self.k, self.output, self.heads, self.scale, self.mode) = (q, k, output, heads, scale, mode)
        let count = mode == .runningMean ? batch * q.info.perSample : 0
        qMean = FloatBuffer(count: count)
        kMean = FloatBuffer(count: count)
    }

    func step(_ s: StepContext) {
        let n = q.info.rows, d = q.info.width, hd = d / heads, h = heads
        let corrected = mode == .corrected
        let qs = SendablePointer(corrected ? q.total.pointer : operand(q, mode, s, scratch: qMean))
        let ks = SendablePointer(corrected ? k.total.pointer : operand(k, mode, s, scratch: kMean))
        let alpha = corrected ? scale / Float(s.t + 1) : scale
        if corrected { output.beginUpdate(batch: s.batch) }
        let ys = SendablePointer(corrected ? output.total.pointer : output.increment.pointer)
        BLAS.withSingleThread {
            Parallel.forChunks(s.batch * h) { r in
                for item in r {
                    let b = item / h, head = item % h
                    BLAS.gemm(transposeB: true, m: n, n: n, k: hd, alpha: alpha, a: qs.base + b * n * d + head * hd,
                              lda: d, b: ks.base + b * n * d + head * hd, ldb: d, c: ys.base + item * n * n, ldc: n)
                }
            }
        }
        if corrected { output.finishUpdate(batch: s.batch) } else { output.accumulate(batch: s.batch) }
    }
}

/// Per head, `O_t = A_t·V_t` of this step's attention probabilities and V spikes (`[H·N, N]`, `[N, D]` → `[N, D]`);
/// in running-mean mode with the running mean of V; in corrected mode the sum over steps is
/// `t·mean(A)·mean(V)`, computed as `ΣA·ΣV/t`.
final class StepWeightedValuesLayer: SpikingOperator {
    let attention: ValueSlot, v: ValueSlot, output: ValueSlot
    let heads: Int, mode: NonlinearityInput
    let vMean: FloatBuffer

    init(attention: ValueSlot, v: ValueSlot, output: ValueSlot, heads: Int, mode: NonlinearityInput, batch: Int) {
        (self.attention, self.v, self.output, self.heads, self.mode) = (attention, v, output, heads, mode)
        vMean = FloatBuffer(count: mode == .runningMean ? batch * v.info.perSample : 0)
    }

    func step(_ s: StepContext) {
        let n = v.info.rows, d = v.info.width, hd = d / heads, h = heads
        let corrected = mode == .corrected
        let a = SendablePointer(corrected ? attention.total.pointer : attention.increment.pointer)
        let vs = SendablePointer(corrected ? v.total.pointer : operand(v, mode, s, scratch: vMean))
        let alpha: Float = corrected ? 1 / Float(s.t + 1) : 1
        if corrected { output.beginUpdate(batch: s.batch) }
        let os = SendablePointer(corrected ? output.total.pointer : output.increment.pointer)
        BLAS.withSingleThread {
            Parallel.forChunks(s.batch * h) { r in
                for item in r {
                    let b = item / h, head = item % h
                    BLAS.gemm(m: n, n: hd, k: n, alpha: alpha, a: a.base + item * n * n, lda: n,
                              b: vs.base + b * n * d + head * hd, ldb: d, c: os.base + b * n * d + head * hd, ldc: d)
                }
            }
        }
        if corrected { output.finishUpdate(batch: s.batch) } else { output.accumulate(batch: s.batch) }
    }
}

/// Row `index` of each sample (token pooling), or the mean of rows `from…` (average pooling), of this step's value.
final class StepPoolLayer: SpikingOperator {
    let input: ValueSlot, output: ValueSlot
    let index: Int?, from: Int

    init(input: ValueSlot, output: ValueSlot, index: Int?, from: Int) {
        (self.input, self.output, self.index, self.from) = (input, output, index, from)
    }

    func step(_ s: StepContext) {
        let d = input.info.width, n = input.info.rows, x = input.increment.pointer, y = output.increment.pointer
        if let index {
            for b in 0..<s.batch { (y + b * d).update(from: x + (b * n + index) * d, count: d) }
        } else {
            ViTForward.meanTokens(x, batch: s.batch, tokens: n, width: d, from: from, into: y)
        }
        output.accumulate(batch: s.batch)
    }
}
