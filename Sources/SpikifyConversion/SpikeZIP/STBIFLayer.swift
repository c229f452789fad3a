import SpikifyCore
import SpikifyModel
import SpikifySIMD
import SpikifySpiking

/// A layer of ST-BIF+ neurons over one value: the spiking replacement of one QANN quantizer (You et al., ICML 2024;
/// docs/methods/spikezip.md), with burst spikes of up to B per step (docs/latency.md).
///
/// The membrane is kept in the closed form `u = X̂/θ + 0.5 − S` from the accumulated input X̂ (equal to the incremental
/// `u += x_t/θ; u −= k`), so that once the input settles the count is exactly `clamp(floor(X̂/θ + 0.5))` as the QANN
/// computes it, for every B. The output increment is `k·θ`, its total `S·θ`. The layer keeps, per neuron, only that
/// settle level `L = clamp(floor(X̂/θ + 0.5), lower, upper)` (``STBIFNeuron/settleLevel(drive:lower:upper:)``), in one
/// byte where the bounds allow, and at up to 16 levels in half of its count's byte (below): it is recomputed from the
/// input total in the rows whose input changed, and the spike is `clamp(L − S, −B, B)`
/// (``STBIFNeuron/fireAtLevel(_:count:lower:burst:)``, the membrane rule's spikes and settled count). So the layer
/// reads its input only in changed rows, right after their producer wrote them, and the executor need not keep that
/// input's totals between steps (``OperatorSpec/readsChangedInputRowsOnly``, docs/architecture.md). The count S is the
/// output itself where the output keeps int8 counts (``ValueSlot/counts``, bounds within −128…127:
/// ``STBIFSpec/countedOutput(_:)``), at up to 16 levels as the code `S − lower` in the high half of a byte whose low
/// half is the level's `L − lower` (``ValueSlot/nibbleBase``, `SPK_COUNTS_NIBBLES`; a neuron at the NaN level keeps its
/// count there as its level, at which it does not fire either), so that such a layer keeps one byte per neuron in all;
/// else it is recovered from the output total `S·θ` as `round(S·θ · (1/θ))`, exact for θ, 1/θ normal and |S| < 2²¹ (see
/// ``countsFromTotals(threshold:lower:upper:)``), and other layers keep a count buffer. Statistics per step: spikes
/// Σ|k|, events (neurons with k ≠ 0) and the largest |k|. The neurons are stepped by the vectorised C kernel
/// `spk_stbif_rows` (SpikifySIMD), which computes the level and spike rules exactly (`NeuronTests` compares them neuron
/// by neuron).
final class STBIFLayer: SpikeEmitter {
    let site: String
    let input: ValueSlot, output: ValueSlot
    let threshold: Float
    let lower: Int32, upper: Int32
    /// Largest spike B (1: the paper's single-spike neuron).
    let burst: Int32
    /// Spike counts S (integers, kept in Float: exact below 2²⁴, and the loop stays in one type); nil when they are
    /// recovered from the output totals or the output keeps its totals as counts (``ValueSlot/counts``).
    let count: FloatBuffer?
    /// Where the kernel finds the counts (`SPK_COUNTS_*`), and the bytes of one.
    private let countKind: Int, countBytes: Int
    /// Settle levels, one per neuron: in the counts' bytes (both nil), int8 when the bounds and the NaN level
    /// `lower − 1` fit in it, else int32.
    private let narrowLevels: ScalarBuffer<Int8>?, wideLevels: ScalarBuffer<Int32>?
    private let levels: UnsafeMutableRawPointer?, levelBytes: Int  // (passed to the kernel untyped)
    let stepSpikes: ScalarBuffer<Int>
    let stepEvents: ScalarBuffer<Int>
    /// Per batch position: the largest |k| at the last step.
    private let sampleLargestSpike: ScalarBuffer<Int>
    private(set) var stepLargestSpike = 0
    var neuronsPerSample: Int { input.info.perSample }

    init(site: String, input: ValueSlot, output: ValueSlot, threshold: Float, lower: Int, upper: Int, burst: Int,
         batch: Int) {
        self.site = site
        self.input = input
        self.output = output
        self.threshold = threshold
        self.lower = Int32(lower)
        self.upper = Int32(upper)
        self.burst = Int32(burst)
        if let base = output.nibbleBase {  // the counts and the levels share bytes (STBIFSpec.countedOutput)
            precondition(output.countUnit == threshold && base == lower, "counted output of another unit or base")
            (count, countKind, countBytes) = (nil, SPK_COUNTS_NIBBLES, 1)
        } else if output.counts != nil {  // the output's totals are these counts (STBIFSpec.countedOutput)
            precondition(output.countUnit == threshold, "counted output of another unit")
            (count, countKind, countBytes) = (nil, SPK_COUNTS_INT8, 1)
        } else if Self.countsFromTotals(threshold: threshold, lower: lower, upper: upper) {
            (count, countKind, countBytes) = (nil, SPK_COUNTS_FROM_TOTALS, 0)
        } else {
            (count, countKind, countBytes) = (FloatBuffer(count: batch * input.info.perSample),
                                              SPK_COUNTS_FLOAT, 4)
        }
        let neurons = batch * input.info.perSample
        if countKind == SPK_COUNTS_NIBBLES {
            (narrowLevels, wideLevels) = (nil, nil)
            (levels, levelBytes) = (nil, 1)
        } else if lower - 1 >= Int(Int8.min) && upper <= Int(Int8.max) {
            narrowLevels = ScalarBuffer<Int8>(count: neurons)
            wideLevels = nil
            (levels, levelBytes) = (UnsafeMutableRawPointer(narrowLevels!.pointer), 1)
        } else {
            narrowLevels = nil
            wideLevels = ScalarBuffer<Int32>(count: neurons)
            (levels, levelBytes) = (UnsafeMutableRawPointer(wideLevels!.pointer), 4)
        }
        stepSpikes = ScalarBuffer<Int>(count: batch)
        stepEvents = ScalarBuffer<Int>(count: batch)
        sampleLargestSpike = ScalarBuffer<Int>(count: batch)
    }

    func reset(batch: Int) {
        count?.zero()  // (recovered counts start at 0 with the output totals, which the executor zeroes)
        // Level 0 is the level of a zero input total, which is where every input starts (lower ≤ 0 ≤ upper). (Levels
        // in the counts' bytes start at its code: the executor resets them with the counts.)
        narrowLevels?.zero()
        wideLevels?.zero()
        stepSpikes.zero()
        stepEvents.zero()
        sampleLargestSpike.zero()
        stepLargestSpike = 0
    }

    func moveSample(from: Int, to: Int) {
        count?.moveBlock(from: from, to: to, size: neuronsPerSample)
        narrowLevels?.moveBlock(from: from, to: to, size: neuronsPerSample)
        wideLevels?.moveBlock(from: from, to: to, size: neuronsPerSample)
        stepSpikes.moveBlock(from: from, to: to, size: 1)
        stepEvents.moveBlock(from: from, to: to, size: 1)
        sampleLargestSpike.moveBlock(from: from, to: to, size: 1)
    }

    /// Only rows (tokens) whose input changed or that fired at the last step can fire: a row with an unchanged
    /// input and count that was silent stays silent, and its increments are already zero. Others cost nothing.
    /// Rows whose input changed recompute their levels from it; rows that only fired read their levels back.
    func step(_ context: StepContext) {
        let batch = context.batch
        let rows = input.info.rows, w = input.info.width
        let x = SendablePointer(input.total.pointer)
        let y = output.counts == nil ? SendablePointer(output.total.pointer) : nil  // (else the counts are the totals)
        let dy = output.sharesIncrements ? nil : SendablePointer(output.increment.pointer)  // nobody reads them
        let countBase = output.counts.map { UnsafeMutableRawPointer($0.pointer) }
            ?? count.map { UnsafeMutableRawPointer($0.pointer) }
        let counts = countBase.map { SendablePointer($0.assumingMemoryBound(to: UInt8.self)) }
        let countKind = countKind, countBytes = countBytes, spikes = SendablePointer(stepSpikes.pointer)
        let events = SendablePointer(stepEvents.pointer), largest = SendablePointer(sampleLargestSpike.pointer)
        let fired = SendablePointer(output.rowFlags.pointer)
        let levels = levels.map { SendablePointer($0.assumingMemoryBound(to: UInt8.self)) }, levelBytes = levelBytes
        let theta = threshold, lo = Float(lower), hi = Float(upper), b = Float(burst), input = input
        precondition(burst < 4_194_304, "burst spikes above 2²² are not supported")
        Parallel.forChunks(batch) { samples in
            for sample in samples {
                var emitted = 0, firedNeurons = 0, widest = 0
                // Runs of consecutive rows alike (input changed, or only fired), one kernel call per run.
                let end = (sample + 1) * rows
                var r = sample * rows
                while r < end {
                    let changed = input.rowChanged(r)
                    guard changed || fired.base[r] != 0 else { r += 1; continue }
                    var last = r + 1
                    while last < end && input.rowChanged(last) == changed && (changed || fired.base[last] != 0) {
                        last += 1
                    }
                    let sums = spk_stbif_rows(changed ? x.base + r * w : nil,
                                              levels.map { UnsafeMutableRawPointer($0.base + r * w * levelBytes) },
                                              levelBytes,
                                              counts.map { UnsafeMutableRawPointer($0.base + r * w * countBytes) },
                                              countKind,
                                              y.map { $0.base + r * w }, dy.map { $0.base + r * w }, last - r, w,
                                              theta, lo, hi, b, fired.base + r)
                    emitted &+= Int(sums.spikes)
                    firedNeurons &+= Int(sums.events)
                    widest = Swift.max(widest, Int(sums.largest))
                    r = last
                }
                spikes.base[sample] = emitted
                events.base[sample] = firedNeurons
                largest.base[sample] = widest
            }
        }
        var widest = 0, firedNeurons = 0
        for p in 0..<batch where stepSpikes.pointer[p] != 0 {
            widest = Swift.max(widest, sampleLargestSpike.pointer[p])
            firedNeurons &+= stepEvents.pointer[p]
        }
        output.stepEvents = firedNeurons
        output.finishStep(batch: batch)
        stepLargestSpike = widest
    }

    /// Whether a layer's counts can be recovered from its output totals bit for bit: θ and 1/θ normal, every count
    /// within ±(2²¹ − 1) and S·θ finite for the largest |S|. The kernel computes `fl(fl(S·θ)·fl(1/θ))`, three
    /// roundings of relative error ≤ 2⁻²⁴ each, so it lies within |S|·(3·2⁻²⁴ + 2⁻⁴⁶) < 0.4 of S.
    static func countsFromTotals(threshold: Float, lower: Int, upper: Int) -> Bool {
        let largest = Swift.max(abs(lower), abs(upper))
        return threshold.isNormal && (1 / threshold).isNormal && largest < 2_097_152
            && (threshold * Float(largest)).isFinite
    }
}
