import SpikifyCore
import SpikifyModel
import SpikifySpiking

/// A layer of ST-BIF+ neurons over one value: the spiking replacement of one QANN quantizer (You et al., ICML 2024;
/// docs/methods/spikezip.md), with burst spikes of up to B per step (docs/latency.md).
///
/// The membrane is kept in the closed form `u = X̂/θ + 0.5 − S` from the accumulated input X̂ (equal to the
/// incremental `u += x_t/θ; u −= k`), so that once the input settles the count is exactly
/// `clamp(floor(X̂/θ + 0.5))` as the QANN computes it, for every B. The output increment is `k·θ`, its total `S·θ`.
/// Statistics per step: spikes Σ|k|, events (neurons with k ≠ 0) and the largest |k|.
final class STBIFLayer: SpikeEmitter {
    let site: String
    let input: ValueSlot, output: ValueSlot
    let threshold: Float
    let lower: Int32, upper: Int32
    /// Largest spike B (1: the paper's single-spike neuron).
    let burst: Int32
    /// `X̂/θ + 0.5`, refreshed when the input changes.
    let drive: FloatBuffer
    let count: ScalarBuffer<Int32>
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
        drive = FloatBuffer(count: batch * input.info.perSample)
        count = ScalarBuffer<Int32>(count: batch * input.info.perSample)
        stepSpikes = ScalarBuffer<Int>(count: batch)
        stepEvents = ScalarBuffer<Int>(count: batch)
        sampleLargestSpike = ScalarBuffer<Int>(count: batch)
    }

    func reset(batch: Int) {
        drive.pointer.update(repeating: 0.5, count: drive.count)
        count.zero()
        stepSpikes.zero()
        stepEvents.zero()
        sampleLargestSpike.zero()
        stepLargestSpike = 0
    }

    func moveSample(from: Int, to: Int) {
        drive.moveBlock(from: from, to: to, size: neuronsPerSample)
        count.moveBlock(from: from, to: to, size: neuronsPerSample)
        stepSpikes.moveBlock(from: from, to: to, size: 1)
        stepEvents.moveBlock(from: from, to: to, size: 1)
        sampleLargestSpike.moveBlock(from: from, to: to, size: 1)
    }

    func step(_ context: StepContext) {
        let batch = context.batch
        let n = neuronsPerSample
        let x = SendablePointer(input.total.pointer), v = SendablePointer(drive.pointer)
        let y = SendablePointer(output.total.pointer), dy = SendablePointer(output.increment.pointer)
        let s = SendablePointer(count.pointer), spikes = SendablePointer(stepSpikes.pointer)
        let events = SendablePointer(stepEvents.pointer), largest = SendablePointer(sampleLargestSpike.pointer)
        let theta = threshold, lo = lower, hi = upper, b = burst, refresh = input.changed
        Parallel.forChunks(batch) { samples in
            for sample in samples {
                var emitted = 0, fired = 0, widest: Int32 = 0
                for i in (sample * n)..<((sample + 1) * n) {
                    if refresh { v.base[i] = x.base[i] / theta + 0.5 }  // the QANN's x/s + 0.5, bit for bit
                    let c = s.base[i]
                    let spike = STBIFNeuron.fire(v.base[i] - Float(c), count: c, lower: lo, upper: hi, burst: b)
                    let updated = c &+ spike
                    s.base[i] = updated
                    y.base[i] = Float(updated) * theta
                    dy.base[i] = Float(spike) * theta
                    let size = spike < 0 ? 0 &- spike : spike
                    emitted &+= Int(size)
                    fired &+= size == 0 ? 0 : 1
                    widest = Swift.max(widest, size)
                }
                spikes.base[sample] = emitted
                events.base[sample] = fired
                largest.base[sample] = Int(widest)
            }
        }
        var any = false, widest = 0
        for p in 0..<batch where stepSpikes[p] != 0 {
            any = true
            widest = Swift.max(widest, sampleLargestSpike[p])
        }
        output.changed = any
        stepLargestSpike = widest
    }
}
