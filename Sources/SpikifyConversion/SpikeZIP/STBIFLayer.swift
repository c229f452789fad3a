import SpikifyCore
import SpikifyModel
import SpikifySIMD
import SpikifySpiking

/// A layer of ST-BIF+ neurons over one value: the spiking replacement of one QANN quantizer (You et al., ICML 2024;
/// docs/methods/spikezip.md), with burst spikes of up to B per step (docs/latency.md).
///
/// The membrane is kept in the closed form `u = X̂/θ + 0.5 − S` from the accumulated input X̂ (equal to the
/// incremental `u += x_t/θ; u −= k`), so that once the input settles the count is exactly
/// `clamp(floor(X̂/θ + 0.5))` as the QANN computes it, for every B. The output increment is `k·θ`, its total `S·θ`.
/// Only the count is state: the drive `X̂/θ + 0.5` is recomputed from the input total at every visit (a division
/// costs less than storing and reloading it, and the same Float comes out every time).
/// Statistics per step: spikes Σ|k|, events (neurons with k ≠ 0) and the largest |k|.
final class STBIFLayer: SpikeEmitter {
    let site: String
    let input: ValueSlot, output: ValueSlot
    let threshold: Float
    let lower: Int32, upper: Int32
    /// Largest spike B (1: the paper's single-spike neuron).
    let burst: Int32
    /// Spike counts S (integers, kept in Float: exact below 2²⁴, and the loop stays in one type).
    let count: FloatBuffer
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
        count = FloatBuffer(count: batch * input.info.perSample)
        stepSpikes = ScalarBuffer<Int>(count: batch)
        stepEvents = ScalarBuffer<Int>(count: batch)
        sampleLargestSpike = ScalarBuffer<Int>(count: batch)
    }

    func reset(batch: Int) {
        count.zero()
        stepSpikes.zero()
        stepEvents.zero()
        sampleLargestSpike.zero()
        stepLargestSpike = 0
    }

    func moveSample(from: Int, to: Int) {
        count.moveBlock(from: from, to: to, size: neuronsPerSample)
        stepSpikes.moveBlock(from: from, to: to, size: 1)
        stepEvents.moveBlock(from: from, to: to, size: 1)
        sampleLargestSpike.moveBlock(from: from, to: to, size: 1)
    }

    /// Only rows (tokens) whose input changed or that fired at the last step can fire: a row with an unchanged
    /// input and count that was silent stays silent, and its increments are already zero. Others cost nothing.
    func step(_ context: StepContext) {
        let batch = context.batch
        let rows = input.info.rows, w = input.info.width
        let x = SendablePointer(input.total.pointer)
        let y = SendablePointer(output.total.pointer), dy = SendablePointer(output.increment.pointer)
        let s = SendablePointer(count.pointer), spikes = SendablePointer(stepSpikes.pointer)
        let events = SendablePointer(stepEvents.pointer), largest = SendablePointer(sampleLargestSpike.pointer)
        let fired = SendablePointer(output.rowFlags.pointer)
        let theta = threshold, lo = Float(lower), hi = Float(upper), b = Float(burst), input = input
        Parallel.forChunks(batch) { samples in
            for sample in samples {
                var emitted = 0, firedNeurons = 0, widest = 0
                for r in (sample * rows)..<((sample + 1) * rows) {
                    guard input.rowChanged(r) || fired.base[r] != 0 else { continue }
                    let row = Self.fireRow((r * w)..<((r + 1) * w), input: x.base, count: s.base, total: y.base,
                                           increment: dy.base, theta: theta, lower: lo, upper: hi, burst: b)
                    emitted &+= row.spikes
                    firedNeurons &+= row.events
                    widest = Swift.max(widest, row.largest)
                    fired.base[r] = row.events != 0 ? 1 : 0
                }
                spikes.base[sample] = emitted
                events.base[sample] = firedNeurons
                largest.base[sample] = widest
            }
        }
        var widest = 0
        for p in 0..<batch where stepSpikes[p] != 0 { widest = Swift.max(widest, sampleLargestSpike[p]) }
        output.finishStep(batch: batch)
        stepLargestSpike = widest
    }

    /// One step of the neurons `range`: spikes, counts, output totals and increments; returns Σ|k|, the number of
    /// non-zero spikes and the largest |k|. Each neuron's drive is `x/θ + 0.5` (the QANN's, bit for bit) and its
    /// spike ``STBIFNeuron/fireBranchless(_:count:lower:upper:burst:)``; the vectorised C kernel `spk_stbif_row`
    /// (SpikifySIMD) computes exactly that (`NeuronTests` compares the two neuron by neuron).
    @inline(__always)
    private static func fireRow(
        _ range: Range<Int>, input x: UnsafePointer<Float>, count s: UnsafeMutablePointer<Float>,
        total y: UnsafeMutablePointer<Float>, increment dy: UnsafeMutablePointer<Float>,
        theta: Float, lower: Float, upper: Float, burst: Float
    ) -> (spikes: Int, events: Int, largest: Int) {
        precondition(burst < 4_194_304, "burst spikes above 2²² are not supported")
        let i = range.lowerBound
        let sums = spk_stbif_row(x + i, s + i, y + i, dy + i, range.count, theta, lower, upper, burst)
        return (Int(sums.spikes), Int(sums.events), Int(sums.largest))
    }
}
