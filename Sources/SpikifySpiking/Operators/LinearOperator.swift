import SpikifyCore

/// `Y = W·X̂ + b` on the accumulated input: the bias enters once, with the first output (SpikeZIP-TF `LLLinear`).
/// Its increment is `W·x_t`, the difference of consecutive totals.
///
/// Only rows (tokens) whose input changed are recomputed. When ``GatheredLinear`` found a call size at which
/// gathered rows reproduce the reference network's per-sample calls bit for bit on this machine, the changed rows
/// of all samples go through GEMMs of exactly that many rows, spread over the cores; otherwise each sample with a
/// changed row gets its own call, as in the reference network.
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
    /// Row count of every gathered call (nil: one call per sample).
    let callRows: Int?
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
        callRows = GatheredLinear.callRows(weight: weights.weight.pointer, bias: weights.bias.orNil,
                                           inFeatures: weights.inFeatures, outFeatures: weights.outFeatures,
                                           rowsPerSample: input.info.rows, maximumRows: rows)
        scratch = runtime.scratch
        if let m = callRows {
            let padded = (rows + m - 1) / m * m
            scratch.reserve(Self.gatheredInput, count: padded * weights.inFeatures)
            scratch.reserve(Self.gatheredOutput, count: padded * weights.outFeatures)
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
            if let size = callRows { gathered(rows: m, callRows: size) } else { perSample(batch: batch) }
        }
        output.finishStep(batch: batch)
    }

    /// The `m` changed rows gathered into calls of exactly `size` rows (the last padded with copies of the first
    /// row), the calls spread over the cores.
    private func gathered(rows m: Int, callRows size: Int) {
        let k = inFeatures, n = outFeatures, calls = (m + size - 1) / size
        let x = SendablePointer(scratch.buffer(Self.gatheredInput).pointer)
        let y = SendablePointer(scratch.buffer(Self.gatheredOutput).pointer)
        let source = SendablePointer(input.total.pointer), rows = SendablePointer(changedRows.pointer)
        let w = SendablePointer(weight.pointer), b = bias.orNil.map { SendablePointer($0) }, output = output
        Parallel.forChunks(calls) { chunk in
            for call in chunk {
                let first = call * size
                for i in first..<(first + size) {
                    (x.base + i * k).update(from: source.base + rows.base[i < m ? i : 0] * k, count: k)
                }
                Kernels.linear(x.base + first * k, rows: size, inFeatures: k, weight: w.base, bias: b?.base,
                               outFeatures: n, into: y.base + first * n)
                for i in first..<Swift.min(first + size, m) { output.updateRow(rows.base[i], from: y.base + i * n) }
            }
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
