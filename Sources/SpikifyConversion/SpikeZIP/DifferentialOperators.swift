import SpikifyCore
import SpikifyModel
import SpikifySpiking

/// Nonlinear operators on the accumulated input: the output total is `f(X̂_t)` and its increment
/// `f(X̂_t) − f(X̂_{t−1})`, which telescopes over time to `f(X̂_T)` (SpikeZIP-TF's Spike-LayerNorm and
/// Spike-Softmax; the same rule gives Spikify's differential GELU). Only rows whose input changed (the input's row
/// flags) are recomputed, each run of consecutive changed rows in one call (``ValueSlot/rewriteRows(_:count:events:_:)``),
/// and their increments are computed row by row. The operator counts its output events (non-zero increments;
/// ``OperatorSpec/countsOutputEvents``).
class RowDifferentialOperator: SpikingOperator, @unchecked Sendable {
    let input: ValueSlot, output: ValueSlot
    var width: Int { input.info.width }
    /// Non-zero increments of each output row at its last recomputation (read only where the row's flag is set).
    private let rowEvents: ScalarBuffer<Int>

    init(input: ValueSlot, output: ValueSlot) {
        self.input = input
        self.output = output
        rowEvents = ScalarBuffer<Int>(count: output.rowFlags.count)
    }

    /// Computes `f` of the input's rows `first..<first + count` into `y` (`[count, width]`).
    func apply(rows first: Int, count: Int, into y: UnsafeMutablePointer<Float>) {
        fatalError("subclass")  // abstract: only subclasses are instantiated
    }

    func step(_ s: StepContext) {
        let t = s.t, batch = s.batch
        guard input.changed || t == 0 else { output.keep(batch: batch); return }
        let rows = batch * input.info.rows
        let all = t == 0, input = input, output = output, events = SendablePointer(rowEvents.pointer)
        output.beginStep(batch: batch)
        Parallel.forChunks(rows, minimumPerChunk: 8) { [self] range in
            var r = range.lowerBound
            while r < range.upperBound {
                guard all || input.rowChanged(r) else { r += 1; continue }
                var end = r + 1
                while end < range.upperBound && (all || input.rowChanged(end)) { end += 1 }
                let first = r
                output.rewriteRows(first, count: end - first, events: events.base + first) {
                    apply(rows: first, count: end - first, into: $0)
                }
                r = end
            }
        }
        var nonZero = 0
        for r in 0..<rows where output.rowFlags.pointer[r] != 0 { nonZero &+= rowEvents.pointer[r] }
        output.stepEvents = nonZero
        output.finishStep(batch: batch)
    }
}

/// Spike-LayerNorm with the QANN's epsilon (the QANN's eps, not a default: a different eps breaks the equivalence; docs/methods/spikezip.md).
final class LayerNormDiffOperator: RowDifferentialOperator, @unchecked Sendable {
    let gamma: FloatBuffer, beta: FloatBuffer
    let eps: Float

    init(input: ValueSlot, output: ValueSlot, gamma: Tensor, beta: Tensor, eps: Float) {
        self.gamma = FloatBuffer(gamma.scalars)
        self.beta = FloatBuffer(beta.scalars)
        self.eps = eps
        super.init(input: input, output: output)
    }

    override func apply(rows first: Int, count: Int, into y: UnsafeMutablePointer<Float>) {
        Kernels.layerNorm(input.total.pointer + first * width, rows: count, width: width, gamma: gamma.pointer,
                          beta: beta.pointer, eps: eps, into: y)
    }
}

/// Spike-Softmax along each row (the key axis).
final class SoftmaxDiffOperator: RowDifferentialOperator, @unchecked Sendable {
    override func apply(rows first: Int, count: Int, into y: UnsafeMutablePointer<Float>) {
        input.loadRows(first, count: count, into: y)
        Kernels.softmax(y, rows: count, width: width)
    }
}

/// Differential activation: GELU (or ReLU) of the accumulated input. Where the executor reads the output through a
/// table of the activation over the input's counts (``ValueSlot/countTable``; ``ActivationDiffSpec``'s
/// `elementwiseFunction`), a step computes nothing: it passes on the input's row flags and event count.
final class ActivationDiffOperator: RowDifferentialOperator, @unchecked Sendable {
    let activation: Activation

    init(input: ValueSlot, output: ValueSlot, activation: Activation) {
        self.activation = activation
        super.init(input: input, output: output)
    }

    override func step(_ s: StepContext) {
        guard output.countTable != nil else { return super.step(s) }
        output.mirror(input, batch: s.batch)
    }

    override func apply(rows first: Int, count: Int, into y: UnsafeMutablePointer<Float>) {
        input.loadRows(first, count: count, into: y)  // (floats, or the input's counts as floats)
        switch activation {
        case .gelu: Kernels.gelu(y, count: count * width)
        case .relu: Kernels.relu(y, count: count * width)
        }
    }
}
