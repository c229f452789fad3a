/// A single ST-BIF+ neuron (SpikeZIP-TF, reference spikezip.md §1), in units of its threshold θ.
///
/// Membrane `u` starts at 0.5 (θ/2) and the count `S` at 0. Each step: `u += x/θ`; fire +1 if `u ≥ 1` and
/// `S < upper`, else −1 if `u < 0` and `S > lower`; `S += spike`, `u −= spike`. Once its input stops changing and
/// it falls silent, `S = clamp(floor(X/θ + 0.5), lower, upper)` for the total input X, in any input order.
public struct STBIFNeuron: Sendable, Equatable {
    public let threshold: Float
    public let lower: Int32
    public let upper: Int32
    public private(set) var membrane: Float = 0.5
    public private(set) var count: Int32 = 0

    public init(threshold: Float, lower: Int, upper: Int) {
        self.threshold = threshold
        self.lower = Int32(lower)
        self.upper = Int32(upper)
    }

    /// Feeds one input current; returns the spike (−1, 0 or +1).
    @inline(__always)
    public mutating func step(_ x: Float) -> Int32 {
        let u = membrane + x / threshold
        let spike = Self.fire(u, count: count, lower: lower, upper: upper)
        count += spike
        membrane = u - Float(spike)
        return spike
    }

    /// The firing rule shared by the scalar neuron and the layer operator.
    @inline(__always)
    static func fire(_ u: Float, count: Int32, lower: Int32, upper: Int32) -> Int32 {
        if u >= 1 && count < upper { return 1 }
        if u < 0 && count > lower { return -1 }
        return 0
    }
}

/// A layer of ST-BIF+ neurons over one value: the spiking replacement of one QANN quantizer.
final class STBIFLayer: SpikeEmitter {
    let site: String
    let input: ValueSlot, output: ValueSlot
    let threshold: Float
    let lower: Int32, upper: Int32
    let membrane: FloatBuffer
    let count: ScalarBuffer<Int32>
    let stepSpikes: ScalarBuffer<Int>
    var neuronsPerSample: Int { input.info.perSample }

    init(site: String, input: ValueSlot, output: ValueSlot, threshold: Float, lower: Int, upper: Int, batch: Int) {
        self.site = site
        self.input = input
        self.output = output
        self.threshold = threshold
        self.lower = Int32(lower)
        self.upper = Int32(upper)
        membrane = FloatBuffer(count: batch * input.info.perSample)
        count = ScalarBuffer<Int32>(count: batch * input.info.perSample)
        stepSpikes = ScalarBuffer<Int>(count: batch)
    }

    func reset(batch: Int) {
        membrane.pointer.update(repeating: 0.5, count: membrane.count)
        count.zero()
        stepSpikes.zero()
    }

    func moveSample(from: Int, to: Int) {
        membrane.moveBlock(from: from, to: to, size: neuronsPerSample)
        count.moveBlock(from: from, to: to, size: neuronsPerSample)
        stepSpikes.moveBlock(from: from, to: to, size: 1)
    }

    func step(_ t: Int, batch: Int) {
        let n = neuronsPerSample
        let x = SendablePointer(input.pointer), y = SendablePointer(output.pointer)
        let u = SendablePointer(membrane.pointer), s = SendablePointer(count.pointer)
        let spikes = SendablePointer(stepSpikes.pointer)
        let theta = threshold, lo = lower, hi = upper, inputIsZero = input.isZero
        Parallel.forChunks(batch) { samples in
            for b in samples {
                var emitted = 0
                let base = b * n
                for i in base..<(base + n) {
                    let v = inputIsZero ? u.base[i] : u.base[i] + x.base[i] / theta
                    let c = s.base[i]
                    let spike = STBIFNeuron.fire(v, count: c, lower: lo, upper: hi)
                    s.base[i] = c + spike
                    u.base[i] = v - Float(spike)
                    y.base[i] = Float(spike) * theta
                    emitted &+= Int(spike & 1)
                }
                spikes.base[b] = emitted
            }
        }
        var any = false
        for b in 0..<batch where stepSpikes[b] != 0 { any = true; break }
        output.isZero = !any
    }
}
