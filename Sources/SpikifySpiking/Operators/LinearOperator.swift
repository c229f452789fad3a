import SpikifyCore
import SpikifySIMD

/// `Y = W·X̂ + b` on the accumulated input: the bias enters once, with the first output (SpikeZIP-TF `LLLinear`).
/// Its increment is `W·x_t`, the difference of consecutive totals.
///
/// Only rows (tokens) whose input changed are recomputed, with the reference network's arithmetic:
/// - **Packed weights** (``OperatorRuntime/packedWeights``, on CPUs with AVX-512 or AVX2, the default there): the
///   kernel of ``PackedLinear``, which the reference network's linear layers run as well (``ViTForward``). It sums
///   every row alike whatever rows share the call, so the changed rows of a lane go through one call, gathered first
///   unless they are consecutive, and reproduce the reference by construction.
/// - **OpenBLAS** otherwise: when ``GatheredLinear`` found call sizes at which gathered rows reproduce the reference
///   network's per-sample calls bit for bit on this machine, the changed rows of all samples go through GEMMs of
///   those sizes: one contiguous share of the rows per core, each covered by the layer's cheapest plan of calls (a
///   run of consecutive rows is read in place, other rows are gathered first). Otherwise each sample with a
///   changed row gets its own call, as in the reference network.
final class LinearOperator: SynapticOperator {
    let input: ValueSlot, output: ValueSlot
    /// The weights, packed (``LinearWeights/packed``) when the packed kernel runs.
    let weights: LinearWeights
    var bias: FloatBuffer { weights.bias }
    var inFeatures: Int { weights.inFeatures }
    var outFeatures: Int { weights.outFeatures }
    let layer: String
    var fanOut: Int { outFeatures }
    /// Non-zero input increments over the batch at the last step (synaptic events = this × fan-out).
    private(set) var stepInputEvents = 0
    /// OpenBLAS only: row counts gathered calls may have, ascending (empty: one call per sample), and the size of
    /// the next call for any number of rows left (``GatheredLinear/coverPlan(sizes:maximumRows:)``).
    let callSizes: [Int], callPlan: [Int]
    private let scratch: ScratchArena
    /// Rows recomputed at this step (batch row indices), and per sample whether it has one.
    private let changedRows: ScalarBuffer<Int>
    private let changedSamples: ScalarBuffer<UInt8>

    /// Scratch purposes: gathered inputs and outputs.
    private static let gatheredInput = 0x11, gatheredOutput = 0x12
    /// Fewest changed rows per core for the packed kernel to split them (fewer run in one call).
    private static let packedRowsPerShare = 48

    init(layer: String, input: ValueSlot, output: ValueSlot, weight: Tensor, bias: Tensor?, node: Int,
         runtime: OperatorRuntime) {
        self.layer = layer
        self.input = input
        self.output = output
        let rows = runtime.capacity * input.info.rows
        // The weights and the measured call sizes, once for all lanes (they have the same capacity).
        let packed = runtime.packedWeights && PackedLinear.available
        (weights, callSizes, callPlan) = runtime.shared.value(node: node) { () -> (LinearWeights, [Int], [Int]) in
            let w = LinearWeights(weight: weight, bias: bias, packed: packed)
            if packed { return (w, [], []) }
            let sizes = GatheredLinear.callSizes(weight: w.weight.pointer, bias: w.bias.orNil, inFeatures: w.inFeatures,
                                                 outFeatures: w.outFeatures, rowsPerSample: input.info.rows,
                                                 maximumRows: rows)
            return (w, sizes, sizes.isEmpty ? [] : GatheredLinear.coverPlan(sizes: sizes, maximumRows: rows))
        }
        scratch = runtime.scratch
        if weights.packed {
            scratch.reserve(Self.gatheredInput, count: rows * weights.inFeatures)
            scratch.reserve(Self.gatheredOutput, count: rows * weights.outFeatures)
        } else if let largest = callSizes.last {
            // Each core's share is padded by less than one call.
            let padded = rows + Parallel.workers * largest
            scratch.reserve(Self.gatheredInput, count: padded * weights.inFeatures)
            scratch.reserve(Self.gatheredOutput, count: padded * weights.outFeatures)
        } else if input.counts != nil {  // one call per sample, on the floats of the input's counts
            scratch.reserve(Self.gatheredInput, count: rows * weights.inFeatures)
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
                changedRows.pointer[m] = r
                m += 1
                any = true
            }
            changedSamples.pointer[sample] = any ? 1 : 0
        }
        if m > 0 {
            if weights.packed {
                packedRows(m)
            } else if callSizes.isEmpty {
                perSample(batch: batch)
            } else {
                gathered(rows: m)
            }
        }
        output.finishStep(batch: batch)
    }

    /// The `m` changed rows on the packed kernel, in one contiguous share per core (one share inside a lane, or for
    /// few rows), each share in one call: read in place when its rows are consecutive batch rows, gathered first
    /// otherwise. Recomputed rows are stored as in ``gathered(rows:)``.
    private func packedRows(_ m: Int) {
        let k = inFeatures, n = outFeatures
        let shares = Swift.min(Parallel.available, Swift.max(1, m / Self.packedRowsPerShare))
        let x = SendablePointer(scratch.buffer(Self.gatheredInput).pointer)
        let y = SendablePointer(scratch.buffer(Self.gatheredOutput).pointer)
        let rows = SendablePointer(changedRows.pointer), input = input
        let w = SendablePointer(weights.weight.pointer), b = bias.orNil.map { SendablePointer($0) }
        let direct = output.sharesIncrements, totals = SendablePointer(output.total.pointer), output = output
        let panels = PackedLinear.panels(outFeatures: n)
        Parallel.forChunks(shares) { chunk in
            for share in chunk {
                let lo = m * share / shares, hi = m * (share + 1) / shares, size = hi - lo
                let consecutive = rows.base[hi - 1] - rows.base[lo] == size - 1
                let a: UnsafeMutablePointer<Float>
                if consecutive {  // in place, or the floats of counts
                    a = input.rows(rows.base[lo], count: size, scratch: x.base + lo * k)
                } else {
                    for i in lo..<hi { input.loadRows(rows.base[i], count: 1, into: x.base + i * k) }
                    a = x.base + lo * k
                }
                let inPlace = direct && consecutive  // the call's output rows are the totals' rows
                let c = inPlace ? totals.base + rows.base[lo] * n : y.base + lo * n
                spk_packed_linear(a, size, k, w.base, b?.base, n, 0, panels, c)
                Self.store(c, rows: rows.base + lo, count: size, width: n, into: output, direct: direct,
                           inPlace: inPlace)
            }
        }
    }

    /// Stores `count` recomputed rows `fresh` (consecutive, `width` apart) of batch rows `rows`: through
    /// ``ValueSlot/updateRow(_:from:)`` when the output's increments are kept; when nobody reads them
    /// (``ValueSlot/sharesIncrements``), copied into the totals (already there when `inPlace`) and flagged as
    /// changed without comparing them with the old totals: a flag means "may have changed", and a recomputed row
    /// almost always has.
    @inline(__always)
    private static func store(_ fresh: UnsafeMutablePointer<Float>, rows: UnsafePointer<Int>, count: Int, width n: Int,
                              into output: ValueSlot, direct: Bool, inPlace: Bool) {
        for i in 0..<count {
            let r = rows[i], row = fresh + i * n
            if !direct {
                output.updateRow(r, from: row)
                continue
            }
            if !inPlace { (output.total.pointer + r * n).update(from: row, count: n) }
            output.setRow(r, changed: true)
        }
    }

    /// The `m` changed rows in one contiguous share per core, each share covered by calls of the accepted sizes
    /// (``callPlan``; the last call padded with copies of the share's first row). A call whose rows are consecutive
    /// batch rows reads them in place; the others are gathered first. When nobody reads the output's increments,
    /// a call of consecutive rows writes straight into the totals (``store(_:rows:count:width:into:direct:inPlace:)``).
    private func gathered(rows m: Int) {
        let k = inFeatures, n = outFeatures, plan = callPlan, largest = callSizes[callSizes.count - 1]
        let shares = Swift.min(Parallel.available, Swift.max(1, m / callSizes[0]))
        let x = SendablePointer(scratch.buffer(Self.gatheredInput).pointer)
        let y = SendablePointer(scratch.buffer(Self.gatheredOutput).pointer)
        let rows = SendablePointer(changedRows.pointer), input = input
        let w = SendablePointer(weights.weight.pointer), b = bias.orNil.map { SendablePointer($0) }, output = output
        let direct = output.sharesIncrements, totals = SendablePointer(output.total.pointer)
        Parallel.forChunks(shares) { chunk in
            for share in chunk {
                let lo = m * share / shares, hi = m * (share + 1) / shares
                var first = lo, slot = lo + share * largest  // scratch rows of this share start at `slot`
                while first < hi {
                    let size = plan[hi - first]
                    let last = first + size - 1
                    let a: UnsafePointer<Float>
                    let consecutive = last < hi && rows.base[last] - rows.base[first] == size - 1
                    if consecutive {  // in place, or the floats of counts
                        a = UnsafePointer(input.rows(rows.base[first], count: size, scratch: x.base + slot * k))
                    } else {
                        for i in 0..<size {
                            let r = rows.base[first + i < hi ? first + i : lo]
                            input.loadRows(r, count: 1, into: x.base + (slot + i) * k)
                        }
                        a = UnsafePointer(x.base + slot * k)
                    }
                    let inPlace = direct && consecutive  // the call's output rows are the totals' rows
                    let c = inPlace ? totals.base + rows.base[first] * n : y.base + slot * n
                    Kernels.linear(a, rows: size, inFeatures: k, weight: w.base, bias: b?.base, outFeatures: n, into: c)
                    Self.store(c, rows: rows.base + first, count: Swift.min(size, hi - first), width: n,
                               into: output, direct: direct, inPlace: inPlace)
                    first += size
                    slot += size
                }
            }
        }
    }

    /// One call per sample with a changed row, as the reference network makes, samples spread over the cores.
    private func perSample(batch: Int) {
        let rows = input.info.rows, k = inFeatures, n = outFeatures
        let y = SendablePointer(output.total.pointer), input = input
        let scratch = input.counts == nil ? nil : SendablePointer(self.scratch.buffer(Self.gatheredInput).pointer)
        let w = SendablePointer(weights.weight.pointer), b = bias.orNil.map { SendablePointer($0) }
        let changed = SendablePointer(changedSamples.pointer), output = output
        Parallel.forChunks(batch) { samples in
            for s in samples where changed.base[s] != 0 {
                output.beginSample(s)
                let x = input.rows(s * rows, count: rows, scratch: (scratch?.base ?? input.total.pointer) + s * rows * k)
                Kernels.linear(x, rows: rows, inFeatures: k, weight: w.base, bias: b?.base,
                               outFeatures: n, into: y.base + s * rows * n)
                output.finishSample(s)
            }
        }
    }
}

/// A linear layer's weights as buffers for the hot loops: `weight` `[out, in]`, or in the packed kernel's panels
/// when ``packed`` (``PackedLinear``, `spk_pack_weights`), and the bias (empty when absent).
package struct LinearWeights {
    package let weight: FloatBuffer, bias: FloatBuffer
    package let inFeatures: Int, outFeatures: Int
    /// Whether `weight` holds the packed layout (only the packed kernel reads it then).
    package let packed: Bool

    package init(weight: Tensor, bias: Tensor?, packed: Bool = false) {
        let n = weight.shape[0], k = weight.shape[1]
        inFeatures = k
        outFeatures = n
        self.packed = packed
        if packed {
            precondition(PackedLinear.available, "packed weights need AVX2 and FMA, or AVX-512F")
            self.weight = weight.scalars.withUnsafeBufferPointer {
                PackedLinear.pack($0.baseAddress!, outFeatures: n, inFeatures: k)
            }
        } else {
            self.weight = FloatBuffer(weight.scalars)
        }
        self.bias = FloatBuffer(bias?.scalars ?? [])
    }
}
