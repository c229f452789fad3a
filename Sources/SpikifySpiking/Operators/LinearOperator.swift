import SpikifyCore

/// `Y = W·X̂ + b` on the accumulated input: the bias enters once, with the first output (SpikeZIP-TF `LLLinear`).
/// Its increment is `W·x_t`, the difference of consecutive totals.
///
/// Only rows (tokens) whose input changed are recomputed. When ``GatheredLinear`` found a row count from which a
/// gathered call reproduces the reference network's per-sample call bit for bit on this machine, the changed rows
/// of all samples go through a few GEMMs (each at least that many rows), one per core; otherwise each sample
/// with a changed row gets its own call, as in the reference network.
final class LinearOperator: SynapticOperator {
    let input: ValueSlot, output: ValueSlot
    let weights: LinearWeights
    var weight: FloatBuffer { weights.weight }
    var bias: FloatBuffer { weights.bias }
    var inFeatures: Int { weights.inFeatures }
    var outFeatures: Int { weights.outFeatures }
    let layer: String
    var fanOut: Int { outFeatures }
    /// Non-zero input increments over the batch at the last step (synaptic events = this × fan-out).
    private(set) var stepInputEvents = 0
    /// Smallest row count of a gathered call (nil: one call per sample).
    let minimumRows: Int?
    private let scratch: ScratchArena
    /// Rows recomputed at this step (batch row indices), and per sample whether it has one.
    private let changedRows: ScalarBuffer<Int>
    private let changedSamples: ScalarBuffer<UInt8>

    /// Scratch purposes: gathered inputs and outputs.
    private static let gatheredInput = 0x11, gatheredOutput = 0x12

    init(layer: String, input: ValueSlot, output: ValueSlot, weight: Tensor, bias: Tensor?, runtime: OperatorRuntime) {
        self.layer = layer
        self.input = input
        self.output = output
        weights = LinearWeights(weight: weight, bias: bias)
        let rows = runtime.capacity * input.info.rows
        minimumRows = GatheredLinear.minimumRows(inFeatures: weights.inFeatures, outFeatures: weights.outFeatures,
                                                 rowsPerSample: input.info.rows)
        scratch = runtime.scratch
        if let m0 = minimumRows {
            scratch.reserve(Self.gatheredInput, count: max(rows, m0) * weights.inFeatures)
            scratch.reserve(Self.gatheredOutput, count: max(rows, m0) * weights.outFeatures)
        }
        changedRows = ScalarBuffer<Int>(count: rows)
        changedSamples = ScalarBuffer<UInt8>(count: runtime.capacity)
    }

    func reset(batch: Int) { stepInputEvents = 0 }

    func step(_ s: StepContext) {
        let t = s.t, batch = s.batch, rowsPerSample = input.info.rows
        stepInputEvents = 0
        guard input.changed || t == 0 else { output.keep(batch: batch); return }
        stepInputEvents = input.nonZeroIncrements(batch: batch)
        output.beginStep(batch: batch)
        var m = 0
        for sample in 0..<batch {
            var any = false
            for r in (sample * rowsPerSample)..<((sample + 1) * rowsPerSample) where t == 0 || input.rowChanged(r) {
                changedRows[m] = r
                m += 1
                any = true
            }
            changedSamples[sample] = any ? 1 : 0
        }
        if m > 0 {
            if let m0 = minimumRows { gathered(rows: m, padTo: m0) } else { perSample(batch: batch) }
        }
        output.finishStep(batch: batch)
    }

    /// The changed rows gathered into calls of at least `m0` rows each (padding rows repeat the first row), split
    /// over the cores.
    private func gathered(rows m: Int, padTo m0: Int) {
        let k = inFeatures, n = outFeatures, calls = max(m, m0)
        let x = SendablePointer(scratch.buffer(Self.gatheredInput).pointer)
        let y = SendablePointer(scratch.buffer(Self.gatheredOutput).pointer)
        let source = SendablePointer(input.total.pointer), rows = SendablePointer(changedRows.pointer)
        let w = SendablePointer(weight.pointer), b = bias.orNil.map { SendablePointer($0) }, output = output
        Parallel.forChunks(calls, minimumPerChunk: max(m0, 64)) { range in
            for i in range { (x.base + i * k).update(from: source.base + rows.base[i < m ? i : 0] * k, count: k) }
            Kernels.linear(x.base + range.lowerBound * k, rows: range.count, inFeatures: k, weight: w.base,
                           bias: b?.base, outFeatures: n, into: y.base + range.lowerBound * n)
            for i in range where i < m { output.updateRow(rows.base[i], from: y.base + i * n) }
        }
    }

    /// One call per sample with a changed row, as the reference network makes, samples spread over the cores.
    private func perSample(batch: Int) {
        let rows = input.info.rows, k = inFeatures, n = outFeatures
        let x = SendablePointer(input.total.pointer), y = SendablePointer(output.total.pointer)
        let w = SendablePointer(weight.pointer), b = bias.orNil.map { SendablePointer($0) }
        let changed = SendablePointer(changedSamples.pointer), output = output
        Parallel.forChunks(batch) { samples in
            for s in samples where changed.base[s] != 0 {
                output.beginSample(s)
                Kernels.linear(x.base + s * rows * k, rows: rows, inFeatures: k, weight: w.base, bias: b?.base,
                               outFeatures: n, into: y.base + s * rows * n)
                output.finishSample(s)
            }
        }
    }
}

/// A linear layer's weights as buffers for the hot loops: `weight` `[out, in]` and the bias (empty when absent).
package struct LinearWeights {
    package let weight: FloatBuffer, bias: FloatBuffer
    package let inFeatures: Int, outFeatures: Int

    package init(weight: Tensor, bias: Tensor?) {
        self.weight = FloatBuffer(weight.scalars)
        self.bias = FloatBuffer(bias?.scalars ?? [])
        inFeatures = weight.shape[1]
        outFeatures = weight.shape[0]
    }
}
