import SpikifyCore
import SpikifyModel
import SpikifySpiking

/// A layer of ST-BIF+ neurons over one value: the spiking replacement of one QANN quantizer (You et al., ICML 2024;
/// docs/methods/spikezip.md).
///
/// The membrane is kept in the closed form `u = X̂/θ + 0.5 − S` from the accumulated input X̂ (equal to the
/// incremental `u += x_t/θ; u −= spike`), so that once the input settles the count is exactly
/// `clamp(floor(X̂/θ + 0.5))` as the QANN computes it. The output increment is `spike·θ`, its total `S·θ`.
final class STBIFLayer: SpikeEmitter {
    let site: String
    let input: ValueSlot, output: ValueSlot
    let threshold: Float
    let lower: Int32, upper: Int32
    /// `X̂/θ + 0.5`, refreshed when the input changes.
    let drive: FloatBuffer
    let count: ScalarBuffer<Int32>
    let stepSpikes: ScalarBuffer<Int>
    /// Every spike is ±1, so spike events equal spikes.
    var stepEvents: ScalarBuffer<Int> { stepSpikes }
    private(set) var stepLargestSpike = 0
    var neuronsPerSample: Int { input.info.perSample }

    init(site: String, input: ValueSlot, output: ValueSlot, threshold: Float, lower: Int, upper: Int, batch: Int) {
        self.site = site
        self.input = input
        self.output = output
        self.threshold = threshold
        self.lower = Int32(lower)
        self.upper = Int32(upper)
        drive = FloatBuffer(count: batch * input.info.perSample)
        count = ScalarBuffer<Int32>(count: batch * input.info.perSample)
        stepSpikes = ScalarBuffer<Int>(count: batch)
    }

    func reset(batch: Int) {
        drive.pointer.update(repeating: 0.5, count: drive.count)
        count.zero()
        stepSpikes.zero()
        stepLargestSpike = 0
    }

    func moveSample(from: Int, to: Int) {
        drive.moveBlock(from: from, to: to, size: neuronsPerSample)
        count.moveBlock(from: from, to: to, size: neuronsPerSample)
        stepSpikes.moveBlock(from: from, to: to, size: 1)
    }

    func step(_ context: StepContext) {
        let batch = context.batch
        let n = neuronsPerSample
        let x = SendablePointer(input.total.pointer), v = SendablePointer(drive.pointer)
        let y = SendablePointer(output.total.pointer), dy = SendablePointer(output.increment.pointer)
        let s = SendablePointer(count.pointer), spikes = SendablePointer(stepSpikes.pointer)
        let theta = threshold, lo = lower, hi = upper, refresh = input.changed
        Parallel.forChunks(batch) { samples in
            for b in samples {
                var emitted: Int32 = 0
                for i in (b * n)..<((b + 1) * n) {
                    if refresh { v.base[i] = x.base[i] / theta + 0.5 }  // the QANN's x/s + 0.5, bit for bit
                    let c = s.base[i]
                    let spike = STBIFNeuron.fire(v.base[i] - Float(c), count: c, lower: lo, upper: hi)
                    let updated = c &+ spike
                    s.base[i] = updated
                    y.base[i] = Float(updated) * theta
                    dy.base[i] = Float(spike) * theta
                    emitted &+= spike & 1
                }
                spikes.base[b] = Int(emitted)
            }
        }
        var any = false
        for b in 0..<batch where stepSpikes[b] != 0 { any = true; break }
        output.changed = any
        stepLargestSpike = any ? 1 : 0
    }
}
